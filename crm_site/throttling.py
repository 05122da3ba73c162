"""Rate limits on the requests an attacker with a stolen session or token would repeat:
revealing personal data, exporting it, importing files, and signing in.

One throttle for the API and the pages: DRF's scoped throttle, counted per user (the
same bucket whether the user comes by session or by token) or, before sign-in, per
client address. Rates are REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (settings, from the
environment); a scope without a rate is not limited. Counts live in the default cache.
"""

from functools import wraps
from types import SimpleNamespace

from django.http import HttpResponse
from django.utils.translation import gettext as _
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from .proxies import client_ip

REVEAL, EXPORT, IMPORT, LOGIN = "reveal", "export", "import", "login"
PASSWORD_RESET = "password_reset"


class ScopedThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, reading its rates when asked (so a changed setting holds)."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        return client_ip(request)


class ImportThrottle(ScopedThrottle):
    """For an API action that imports a file (throttle_classes of that action)."""

    def allow_request(self, request, view):
        return super().allow_request(request, SimpleNamespace(throttle_scope=IMPORT))


def limited(request, scope):
    """None when the request may go on, else the 429 answer (with Retry-After)."""
    throttle = ScopedThrottle()
    if throttle.allow_request(request, SimpleNamespace(throttle_scope=scope)):
        return None
    wait = max(1, round(throttle.wait() or 1))
    response = HttpResponse(_("操作过于频繁，请 %(seconds)s 秒后再试。") % {"seconds": wait},
                            status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(wait)
    return response


def throttle(scope, methods=("POST",)):
    """A page view limited under `scope` for the given methods."""
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method in methods:
                refused = limited(request, scope)
                if refused is not None:
                    return refused
            return view(request, *args, **kwargs)
        return wrapped
    return decorator
