"""Production settings: everything of base, hardened. `manage.py check --deploy` is clean."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DEV_SECRET_KEY, env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
# Placeholders people copy without changing: .env.example's and the development default.
_PLACEHOLDER_KEYS = {DEV_SECRET_KEY, "change-me-to-a-long-random-string-of-at-least-50-characters"}
if len(SECRET_KEY) < 50 or SECRET_KEY in _PLACEHOLDER_KEYS or "change-me" in SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set to a long random string of at least 50 characters "
        "(not a placeholder) in production.")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# Personal data at rest: no development default in production.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")
PERSONAL_DATA_HASH_KEY = env("PERSONAL_DATA_HASH_KEY")

# X-Forwarded-Proto says "this came over HTTPS" only when a proxy we run sets it (and
# overwrites the client's): trusting it from anyone lets a client fake a secure request.
if env.bool("DJANGO_TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container's own health check speaks HTTP
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
WHITENOISE_USE_FINDERS = False
# Static files under hashed names (collectstatic writes the manifest), so whitenoise sends
# them with a cache of a year; a changed file gets a new name. (Base settings, for the
# demo and the tests, keep the plain names and need no collectstatic.)
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "crm_site.staticfiles.HashedStaticFilesStorage"},
}
