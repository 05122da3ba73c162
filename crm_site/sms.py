"""SMS backends, chosen by settings.SMS_BACKEND like Django's EMAIL_BACKEND.

A backend has one method, send(message) -> provider id, and raises SmsError with the
provider's reason when the message was not accepted. China's SMS is template based:
sign name, template code and parameters.
"""

import logging

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsError(Exception):
    """The provider did not accept the message; str(error) is its reason."""


class ConsoleBackend:
    """Writes each message to the log instead of sending it (the default)."""

    def send(self, message):
        # The log is not a place for personal data: mobile masked, parameters left out.
        recipient = f"{message.recipient[:3]}****{message.recipient[-4:]}"
        logger.info("SMS %s to %s [%s] %s", message.pk, recipient, message.sign_name,
                    message.template_code)
        return f"console-{message.pk}"


class LocmemBackend:
    """Keeps sent messages in memory for tests. Recipients in `fail_for` are refused
    with `fail_reason`."""

    outbox: list = []
    fail_for: set = set()
    fail_reason = "recipient refused by provider"

    def send(self, message):
        if message.recipient in self.fail_for:
            raise SmsError(self.fail_reason)
        type(self).outbox.append(message)
        return f"locmem-{message.pk}"


def get_backend():
    return import_string(settings.SMS_BACKEND)()
