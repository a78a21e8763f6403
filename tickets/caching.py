"""The shared cache where it only saves work: a cache server that does not answer (Redis down)
costs the page some time, never the page itself. Each call logs a warning naming what it was
for (`label`) and carries on as if the cache were empty."""

from __future__ import annotations

import logging

from django.core.cache import cache

logger = logging.getLogger("helpdesk.access")


def cache_get(key: str, *, label: str):
    """The value kept under `key`, or None (nothing kept, or no cache server)."""
    try:
        return cache.get(key)
    except Exception as exc:  # any client error: the caller works it out anew
        logger.warning("%s: cannot read the cache (%s).", label, exc.__class__.__name__)
        return None


def cache_set(key: str, value, seconds: int, *, label: str) -> None:
    """Keep `value` under `key` for `seconds`, if the cache server answers."""
    try:
        cache.set(key, value, seconds)
    except Exception as exc:
        logger.warning("%s: cannot write to the cache (%s).", label, exc.__class__.__name__)


def cache_delete(key: str, *, label: str) -> None:
    """Forget `key`, if the cache server answers (what it holds expires on its own)."""
    try:
        cache.delete(key)
    except Exception as exc:
        logger.warning("%s: cannot delete from the cache (%s).", label, exc.__class__.__name__)
