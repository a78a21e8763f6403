"""Who has a ticket's staff page open: kept in the cache, never in the database.

One cache entry per ticket maps each viewing agent's id to (username, until when). A page view or
a poll (every TICKET_POLL_SECONDS) renews the agent's entry for TICKET_PRESENCE_SECONDS and reads
the others: one cache read and one write. Two agents polling at the same instant may each write
back a copy without the other; the next poll puts them back, so "also viewing" may blink for one
poll period at worst, which is the freshness this feature promises.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def _key(ticket_id: int) -> str:
    return f"ticket-presence:{ticket_id}"


def also_viewing(ticket_id: int, user) -> list[str]:
    """Record that `user` has the ticket open now; return who else has (usernames, sorted).
    A cache server that does not answer: nobody, and the page works without the line."""
    now = time.time()
    ttl = settings.TICKET_PRESENCE_SECONDS
    try:
        viewers = cache.get(_key(ticket_id)) or {}
        viewers = {uid: entry for uid, entry in viewers.items() if entry[1] > now}
        viewers[user.pk] = (user.username, now + ttl)
        cache.set(_key(ticket_id), viewers, ttl)
    except Exception as exc:
        logger.warning("Presence: cannot use the cache (%s).", exc.__class__.__name__)
        return []
    return sorted(name for uid, (name, _until) in viewers.items() if uid != user.pk)
