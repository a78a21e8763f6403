"""Report periods and buckets, in the site's time zone."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

BUCKETS = ("day", "week", "month")
# Far enough from the calendar's ends (date.min, date.max) that a period's bucket starts, the
# period before it (previous()) and every UTC offset can still be computed.
EARLIEST_DAY = date(1, 3, 1)
LATEST_DAY = date(9999, 11, 30)


def site_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def start_of_day(day: date) -> datetime:
    """Midnight at the start of `day` in the site's time zone, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=site_tz())


@dataclass(frozen=True)
class Period:
    """A half-open range [start, end) of aware datetimes, bucketed by day, week or month."""

    start: datetime
    end: datetime
    bucket: str = "day"

    def __post_init__(self) -> None:
        if self.bucket not in BUCKETS:
            raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}, not {self.bucket!r}")
        if timezone.is_naive(self.start) or timezone.is_naive(self.end):
            raise ValueError("period bounds must be aware datetimes")
        if self.end <= self.start:
            raise ValueError("the period is empty: its end must come after its start")

    @classmethod
    def from_dates(cls, first_day: date, last_day: date, bucket: str = "day") -> Period:
        """The days `first_day` to `last_day`, both included, in the site's time zone."""
        if last_day < first_day:
            raise ValueError(
                f"the period is empty: {last_day.isoformat()} is before {first_day.isoformat()}"
            )
        length = last_day - first_day + timedelta(days=1)
        if first_day - EARLIEST_DAY < length or last_day > LATEST_DAY:
            raise ValueError(
                f"the period and the one before it must lie between {EARLIEST_DAY.isoformat()} "
                f"and {LATEST_DAY.isoformat()}"
            )
        return cls(start_of_day(first_day), start_of_day(last_day + timedelta(days=1)), bucket)

    @property
    def first_day(self) -> date:
        return timezone.localtime(self.start, site_tz()).date()

    @property
    def last_day(self) -> date:
        return (timezone.localtime(self.end, site_tz()) - timedelta(microseconds=1)).date()

    def previous(self) -> Period:
        """The period of the same length just before this one (for "compared with")."""
        days = (self.last_day - self.first_day).days + 1
        first = self.first_day - timedelta(days=days)
        # Not from_dates: that also checks room for the period before this one's predecessor.
        return Period(start_of_day(first), start_of_day(self.first_day), self.bucket)

    def bucket_starts(self) -> list[datetime]:
        """The start of every bucket that overlaps the period, in order (local midnights)."""
        return self.bucket_edges()[:-1]

    def bucket_edges(self) -> list[datetime]:
        """bucket_starts() and the end of the last bucket (which may lie past the period's)."""
        tz = site_tz()
        day = self.first_day
        if self.bucket == "week":
            day -= timedelta(days=day.weekday())
        elif self.bucket == "month":
            day = day.replace(day=1)
        edges = []
        while True:
            moment = datetime.combine(day, time.min, tzinfo=tz)
            edges.append(moment)
            if moment >= self.end:
                return edges
            if self.bucket == "day":
                day += timedelta(days=1)
            elif self.bucket == "week":
                day += timedelta(days=7)
            else:
                day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
