"""The address a request came from, the one answer for everything that records or limits
by address: django-axes (AXES_CLIENT_IP_CALLABLE), the throttles before sign-in, and the
audit logs of personal data (reveals, exports).

X-Forwarded-For is believed only as far as it was written by a proxy we run: the
connection must come from an address in TRUSTED_PROXIES (addresses or networks, e.g.
"172.16.0.0/12"); the header is then read from the right, skipping our own proxies, and
the first address that is not one of them is the client. A client that sends the header
itself, past no trusted proxy, is recorded by the address it connected from."""

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(entries):
    return tuple(ipaddress.ip_network(entry.strip(), strict=False)
                 for entry in entries if entry.strip())


def _address(text):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address, networks):
    return address is not None and any(address in network for network in networks)


def client_ip(request):
    """The client's address as text (None when the connection has none)."""
    remote = request.META.get("REMOTE_ADDR") or None
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if remote is None or not _trusted(_address(remote), networks):
        return remote
    client = remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # a malformed entry: nothing left of it was written by our proxies
        client = str(address)
        if not _trusted(address, networks):
            break
    return client
