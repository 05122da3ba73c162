"""Where to send the browser after a form: a `next` given by the page only when it is a
relative URL of this site, so a crafted link cannot send a signed-in user elsewhere."""

from urllib.parse import urlsplit

from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme


def is_local_url(url, request):
    """True for a path of this site ("/followups/plan/?day=2"), never for another host,
    a scheme, or a protocol-relative "//host" (also written with backslashes)."""
    if not url or not url.startswith("/") or url.startswith(("//", "/\\")):
        return False
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure())


def next_url(request, default):
    """The request's `next` (form, then query) when local, else `default` (a URL or a
    URL name)."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    return candidate if is_local_url(candidate, request) else resolve_url(default)
