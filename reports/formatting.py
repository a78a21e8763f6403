"""How metrics read: durations, rates, and "no data" for a metric over an empty set."""

from __future__ import annotations

from datetime import timedelta

from django.utils.translation import gettext_lazy as _

# A metric over an empty set: on the page in the reader's language (lazy, since a computed
# report is cached for every reader); in the CSV always the English words, as its other keys.
NO_DATA = _("no data")
NO_DATA_KEY = "no data"


def duration(value: timedelta | None) -> str:
    if value is None:
        return NO_DATA
    seconds = int(value.total_seconds())
    if seconds < 0:
        return "-" + duration(-value)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{seconds}s"


def hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 2)


def rate(value: float | None) -> str:
    return NO_DATA if value is None else f"{value * 100:.1f}%"


def count(value: int | None) -> str:
    return NO_DATA if value is None else f"{value:,}"
