"""The address a request comes from: what the login lock-out, the rate limits and the log count.

Behind a proxy (nginx, Caddy, a load balancer) every request arrives from the proxy's address,
so counting failed logins per address would let anyone lock anyone out. The proxy says whom it
forwards in X-Forwarded-For, but any client can send that header too. So it is read only when
the request comes from a proxy listed in FORWARDED_ALLOW_IPS (the variable gunicorn reads for
the same trust), and from the right: each proxy appends the address it received the request
from, so the client is the right-most address that is not one of the listed proxies. Whatever
a client wrote to the left of that is never read.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _trusted_networks(allowed: tuple[str, ...]) -> tuple | None:
    """The listed proxies as networks; None for "*" (every peer is a proxy)."""
    if "*" in allowed:
        return None
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in allowed)


def _is_trusted(address: IPAddress) -> bool:
    networks = _trusted_networks(tuple(settings.FORWARDED_ALLOW_IPS))
    return networks is None or any(address in network for network in networks)


def _parse(text: str) -> IPAddress | None:
    """An address as a proxy writes it: 203.0.113.7, 2001:db8::7, [2001:db8::7]:443 or
    203.0.113.7:51234 (some load balancers add the port)."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str:
    """The client's address (django-axes' AXES_CLIENT_IP_CALLABLE; see the module docstring)."""
    peer = request.META.get("REMOTE_ADDR", "")
    address = _parse(peer)
    if address is None or not _is_trusted(address):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed(forwarded.split(",") if forwarded else []):
        hop_address = _parse(hop)
        if hop_address is None:
            # Not an address where a listed proxy wrote one: the proxy is the best we know.
            break
        address = hop_address
        if not _is_trusted(address):
            break
    return str(address)
