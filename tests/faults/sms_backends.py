"""An SMS backend for processes the fault tests start: each send takes
FAULTS_SMS_DELAY seconds (a slow provider) and then appends the message id to the file
FAULTS_SMS_LOG, one line per message the provider accepted."""

import os
import time


class SlowFileBackend:
    def send(self, message):
        time.sleep(float(os.environ.get("FAULTS_SMS_DELAY", "0")))
        with open(os.environ["FAULTS_SMS_LOG"], "a") as log:
            log.write(f"{message.pk}\n")
        return f"file-{message.pk}"


def sent_ids(path):
    """The ids the provider accepted, in order (a message sent twice appears twice)."""
    try:
        return [int(line) for line in open(path).read().split()]
    except FileNotFoundError:
        return []
