"""How many account emails one address gets, and how many requests for them one client makes.

Registering, asking for the confirmation link again and asking for a password reset each send
an email to an address someone typed: without a limit, a script could fill anyone's inbox, or
try usernames by the thousand. Each count lives in the configured cache (Redis with REDIS_URL,
shared by every server; without it, each server process counts on its own), per clock hour:
`cache.add` starts a count and `cache.incr` adds to it, both atomic, so requests at the same
moment are all counted. A cache that does not answer lets the request through (logged): a
limit is not worth an error page.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

from .client_address import client_address

logger = logging.getLogger(__name__)

PERIOD_SECONDS = 3600


def within_limit(
    scope: str, key: str, *, limit: int, period: int = PERIOD_SECONDS, now: datetime | None = None
) -> bool:
    """Count one more for `key` in this period; whether the count is still within `limit`."""
    window = int((now or timezone.now()).timestamp()) // period
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    cache_key = f"limit:{scope}:{window}:{digest}"
    try:
        if cache.add(cache_key, 1, timeout=period):
            count = 1
        else:
            try:
                count = cache.incr(cache_key)
            except ValueError:  # it expired between the two
                cache.add(cache_key, 1, timeout=period)
                count = 1
    except Exception:  # the cache does not answer: let it through, and say so
        logger.exception("The %s limit could not be counted: the cache does not answer", scope)
        return True
    return count <= limit


def may_email(address: str) -> bool:
    """One more account email to `address` (any kind) within ACCOUNT_EMAILS_PER_ADDRESS?"""
    allowed = within_limit(
        "email-to", address.strip().lower(), limit=settings.ACCOUNT_EMAILS_PER_ADDRESS
    )
    if not allowed:
        logger.warning(
            "An account email was not sent: the address had %d this hour",
            settings.ACCOUNT_EMAILS_PER_ADDRESS,
        )
    return allowed


def client_may_ask(request: HttpRequest, action: str) -> bool:
    """One more registration, link or reset request from this client within
    ACCOUNT_REQUESTS_PER_CLIENT? (All three share the count.)"""
    address = client_address(request)
    allowed = within_limit("account-requests", address, limit=settings.ACCOUNT_REQUESTS_PER_CLIENT)
    if not allowed:
        logger.warning("Refused a %s request from %s: over the hourly limit", action, address)
    return allowed
