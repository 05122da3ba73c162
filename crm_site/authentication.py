"""Token authentication for integrations (DMS, call centre), with the limits a session
has: a token expires API_TOKEN_TTL_DAYS after it was issued, and it is refused while its
user is inactive or locked out after too many failed sign-ins (django-axes), so a
stolen or forgotten token does not outlive the account's own defences."""

from datetime import timedelta

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed


def is_locked_out(user, now=None):
    """True while failed sign-ins with this user name (from any address) have reached
    the limit within the cool-off time."""
    if not getattr(settings, "AXES_ENABLED", True):
        return False
    attempts = AccessAttempt.objects.filter(username=user.get_username(),
                                            failures_since_start__gte=settings.AXES_FAILURE_LIMIT)
    cool_off = get_cool_off()
    if cool_off is not None:
        attempts = attempts.filter(attempt_time__gte=(now or timezone.now()) - cool_off)
    return attempts.exists()


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, refused when expired or while the user is locked out
    (DRF itself refuses an inactive user)."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token.created < timezone.now() - timedelta(days=settings.API_TOKEN_TTL_DAYS):
            raise AuthenticationFailed(_("令牌已过期，请让管理员重新签发。"))
        if is_locked_out(user):
            raise AuthenticationFailed(_("该账号因多次登录失败已被暂时锁定，令牌暂不可用。"))
        return user, token
