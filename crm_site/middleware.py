"""Request id for logs, the default language, the absolute session limit, and no caching
of what a signed-in user is shown."""

import time
import uuid

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.utils import translation
from django.utils.cache import add_never_cache_headers

from .request_id import _request_id


class RequestIdMiddleware:
    """Takes X-Request-ID from the proxy or makes one, logs with it, returns it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming[:64] if incoming.isprintable() and incoming else uuid.uuid4().hex
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class DefaultLanguageMiddleware:
    """Simplified Chinese unless the user chose another language (the cookie set by the
    language switch). On pages the browser's Accept-Language is deliberately ignored: the
    dealership works in Chinese. An API client (an integration, no cookie) says which
    language it wants its error messages in with Accept-Language. The language holds for
    this request only: the thread goes back to the one it had before, so what it runs
    next is not in this user's."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen in self.supported:
            language = chosen
        elif request.path.startswith("/api/"):
            language = translation.get_language_from_request(request)
        else:
            language = settings.LANGUAGE_CODE
        request.LANGUAGE_CODE = language
        with translation.override(language):
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class AbsoluteSessionLimitMiddleware:
    """Ends a session SESSION_ABSOLUTE_SECONDS after login, however active it is."""

    key = "_login_started"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            started = request.session.setdefault(self.key, time.time())
            if time.time() - started > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
                if request.path.startswith("/api/"):
                    return self.get_response(request)
                return redirect_to_login(request.get_full_path())
        return self.get_response(request)


class NoStoreForSignedInMiddleware:
    """Every answer to a signed-in user (page, htmx partial, API by session or token,
    export, photo) may carry personal data: no browser, proxy or shared computer keeps a
    copy (Cache-Control: no-store, private)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # DRF puts the user it authenticated by token on the request too.
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response
