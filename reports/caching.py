"""Computed reports, kept in the configured cache (Redis with REDIS_URL) for a minute.

The page, the CSV and the JSON read a report from here, keyed by its period and the site's time
zone, and say when its numbers were computed; staff can ask for them again (refresh), once in
a while. The generate_report command never comes here. A cache that does not answer costs a
recomputation (logged), never an error page.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache

from .periods import Period
from .visualization import DataVisualization

logger = logging.getLogger(__name__)

SECONDS = 60  # How long a computed report is shown.
REFRESH_SECONDS = 10  # One refresh per user in this many seconds.
VERSION = 1  # The shape of the stored data (DataVisualization.to_data): change it with it.


def report_key(period: Period) -> str:
    return (
        f"reports:v{VERSION}:{settings.TIME_ZONE}:"
        f"{period.first_day.isoformat()}:{period.last_day.isoformat()}:{period.bucket}"
    )


def cached_report(period: Period) -> DataVisualization:
    """The period's report as computed in the last minute, or computed now and kept."""
    try:
        data = cache.get(report_key(period))
    except Exception as exc:  # A cache server that does not answer: compute it anyway.
        logger.warning("Report cache: cannot read (%s); computing.", exc.__class__.__name__)
        data = None
    if data is not None:
        return DataVisualization.from_data(period, data)
    return fresh_report(period)


def fresh_report(period: Period) -> DataVisualization:
    """The period's report computed now, and kept for the next minute's requests."""
    viz = DataVisualization(period).fetch_all()
    try:
        cache.set(report_key(period), viz.to_data(), SECONDS)
    except Exception as exc:
        logger.warning("Report cache: cannot store (%s).", exc.__class__.__name__)
    return viz


def may_refresh(user) -> bool:
    """Whether `user` may recompute a report now: not if they did in the last few seconds."""
    try:
        return cache.add(f"reports:refresh:{user.pk}", True, REFRESH_SECONDS)
    except Exception as exc:  # Nothing is cached either: let the refresh through.
        logger.warning("Report cache: cannot count refreshes (%s).", exc.__class__.__name__)
        return True
