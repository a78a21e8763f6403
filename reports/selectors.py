"""Every help-desk metric, computed in SQL, one function each (definitions: METRICS.md).

Each function takes a Period (and `now`, so a report is computed against one instant) and
returns plain Python data: numbers, datetimes, timedeltas, lists of (bucket, value). Their cost
grows with the number of buckets, not with the number of tickets loaded into Python: rows are
counted, grouped and ranked by the database.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.functions import Trunc

from tickets.models import Ticket, TicketEvent

from .periods import Period, site_tz

OPEN, ACTIVE, CLOSED = Ticket.Status.OPEN, Ticket.Status.ACTIVE, Ticket.Status.CLOSED
STATUS = TicketEvent.Kind.STATUS
PERCENTILES = (0.5, 0.9)
AGE_BUCKETS = [
    ("<1d", timedelta(0), timedelta(days=1)),
    ("1-3d", timedelta(days=1), timedelta(days=3)),
    ("3-7d", timedelta(days=3), timedelta(days=7)),
    ("7-30d", timedelta(days=7), timedelta(days=30)),
    (">30d", timedelta(days=30), None),
]


class PercentileDisc(Aggregate):
    """PostgreSQL's percentile_disc: the first value whose rank reaches the fraction."""

    function = "percentile_disc"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def _duration(end: str, start: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def percentiles(queryset: QuerySet, duration: ExpressionWrapper) -> dict:
    """Count, median and 90th percentile of `duration` over `queryset` (nearest rank).

    PostgreSQL ranks in one aggregate; elsewhere each percentile is one ordered query that
    reads a single row (OFFSET), so no durations are loaded into Python either way. Both give
    the nearest-rank percentile: the value at position ceil(p * count).
    """
    if connection.vendor == "postgresql":
        row = queryset.aggregate(
            count=Count("pk"),
            **{
                f"p{int(p * 100)}": PercentileDisc(duration, p, output_field=DurationField())
                for p in PERCENTILES
            },
        )
        return {"count": row["count"], "median": row["p50"], "p90": row["p90"]}
    count = queryset.count()
    values = {}
    for p in PERCENTILES:
        if count == 0:
            values[p] = None
            continue
        rank = max(1, math.ceil(p * count))
        values[p] = (
            queryset.annotate(duration=duration)
            .order_by("duration", "pk")
            .values_list("duration", flat=True)[rank - 1]
        )
    return {"count": count, "median": values[0.5], "p90": values[0.9]}


def _trunc(field: str, period: Period):
    return Trunc(field, period.bucket, tzinfo=site_tz())


def _fill(period: Period, rows: dict[datetime, int]) -> list[tuple[datetime, int]]:
    """Every bucket of the period, with 0 where the database had no row."""
    return [(start, rows.get(start, 0)) for start in period.bucket_starts()]


# --- volume ---------------------------------------------------------------------------------


def created_per_bucket(period: Period) -> list[tuple[datetime, int]]:
    rows = (
        Ticket.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
        .annotate(bucket=_trunc("created_at", period))
        .values("bucket")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return _fill(period, {row["bucket"]: row["count"] for row in rows})


def status_flows(period: Period, now: datetime) -> dict[datetime, dict[str, int]]:
    """Status events from the period's start up to `now`, counted per bucket by direction:
    into and out of `closed` and `active`: what the backlog series replays."""
    rows = (
        TicketEvent.objects.filter(kind=STATUS, created_at__gte=period.start, created_at__lte=now)
        .annotate(bucket=_trunc("created_at", period))
        .values("bucket")
        .annotate(
            into_closed=Count("pk", filter=Q(to_value=CLOSED)),
            out_of_closed=Count("pk", filter=Q(from_value=CLOSED)),
            into_active=Count("pk", filter=Q(to_value=ACTIVE)),
            out_of_active=Count("pk", filter=Q(from_value=ACTIVE)),
        )
        .order_by()
    )
    return {row.pop("bucket"): row for row in rows}


def created_count(period: Period) -> int:
    return Ticket.objects.filter(created_at__gte=period.start, created_at__lt=period.end).count()


def closed_count(period: Period) -> int:
    return TicketEvent.objects.filter(
        kind=STATUS, to_value=CLOSED, created_at__gte=period.start, created_at__lt=period.end
    ).count()


def closed_per_bucket(period: Period) -> list[tuple[datetime, int]]:
    """Transitions into `closed` in each bucket (a ticket closed twice counts twice)."""
    rows = (
        TicketEvent.objects.filter(
            kind=STATUS, to_value=CLOSED, created_at__gte=period.start, created_at__lt=period.end
        )
        .annotate(bucket=_trunc("created_at", period))
        .values("bucket")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return _fill(period, {row["bucket"]: row["count"] for row in rows})


# --- backlog --------------------------------------------------------------------------------


def status_counts_now() -> dict[str, int]:
    rows = Ticket.objects.values("status").annotate(count=Count("pk")).order_by()
    counts = {OPEN: 0, ACTIVE: 0, CLOSED: 0}
    counts.update({row["status"]: row["count"] for row in rows})
    return counts


def backlog_series(period: Period, now: datetime, flows: dict, counts: dict) -> list[dict]:
    """Open and active tickets at the end of each bucket (for the current bucket: now).

    Rebuilt from the event history, walking back from today's counts: for any instant T, a
    ticket's status at T is its status now undone by its status events after T, and tickets
    created after T do not count. So the backlog at T is right for any past T, and costs
    one grouped query over the events since the period's start, not a query per ticket.
    `counts` is status_counts_now(), taken once per report.
    """
    created = dict(
        Ticket.objects.filter(created_at__gte=period.start, created_at__lte=now)
        .annotate(bucket=_trunc("created_at", period))
        .values("bucket")
        .annotate(count=Count("pk"))
        .order_by()
        .values_list("bucket", "count")
    )
    open_count, active_count = counts[OPEN], counts[ACTIVE]
    series = []
    # Buckets from the latest (which may run past the period, up to now) back to the first.
    buckets = sorted(set(flows) | set(created) | set(period.bucket_starts()), reverse=True)
    starts = set(period.bucket_starts())
    for bucket in buckets:
        if bucket in starts:
            series.append({"bucket": bucket, "open": open_count, "active": active_count})
        # Undo this bucket: its events, and the tickets created in it (they start open).
        flow = flows.get(bucket, {})
        active_delta = flow.get("into_active", 0) - flow.get("out_of_active", 0)
        closed_delta = flow.get("into_closed", 0) - flow.get("out_of_closed", 0)
        # Every status event moves a ticket between the three statuses; open takes the rest.
        open_delta = -(active_delta + closed_delta)
        active_count -= active_delta
        open_count -= open_delta + created.get(bucket, 0)
    series.reverse()
    # Each entry was taken after undoing the buckets after it: that is the state at its end.
    return series


def backlog_at(instant: datetime, now: datetime, counts: dict) -> dict[str, int]:
    """Open and active tickets at `instant` (its events included), by the same replay."""
    if instant >= now:
        return {"open": counts[OPEN], "active": counts[ACTIVE]}
    created_after = Ticket.objects.filter(created_at__gt=instant, created_at__lte=now).count()
    flow = TicketEvent.objects.filter(
        kind=STATUS, created_at__gt=instant, created_at__lte=now
    ).aggregate(
        into_closed=Count("pk", filter=Q(to_value=CLOSED)),
        out_of_closed=Count("pk", filter=Q(from_value=CLOSED)),
        into_active=Count("pk", filter=Q(to_value=ACTIVE)),
        out_of_active=Count("pk", filter=Q(from_value=ACTIVE)),
    )
    active = counts[ACTIVE] - flow["into_active"] + flow["out_of_active"]
    not_closed = (
        counts[OPEN] + counts[ACTIVE] - created_after + flow["into_closed"] - flow["out_of_closed"]
    )
    return {"open": not_closed - active, "active": active}


# --- response and resolution ---------------------------------------------------------------


FIRST_RESPONSE_BINS = [
    ("<1h", timedelta(0), timedelta(hours=1)),
    ("1-4h", timedelta(hours=1), timedelta(hours=4)),
    ("4-24h", timedelta(hours=4), timedelta(days=1)),
    ("1-3d", timedelta(days=1), timedelta(days=3)),
    (">3d", timedelta(days=3), None),
]
RESOLUTION_BINS = AGE_BUCKETS


def histogram(queryset: QuerySet, end: str, start: str, bins) -> list[tuple[str, int]]:
    """How many rows have `end - start` in each bin: one aggregate query, the difference
    computed once per row."""
    aggregates = {}
    for number, (_label, low, high) in enumerate(bins):
        condition = Q(duration__gte=low)
        if high is not None:
            condition &= Q(duration__lt=high)
        aggregates[f"bin{number}"] = Count("pk", filter=condition)
    row = queryset.annotate(duration=_duration(end, start)).aggregate(**aggregates)
    return [(label, row[f"bin{number}"]) for number, (label, _, _) in enumerate(bins)]


def _responded(period: Period) -> QuerySet:
    return Ticket.objects.filter(
        created_at__gte=period.start, created_at__lt=period.end, first_response_at__isnull=False
    )


def first_response(period: Period) -> dict:
    """FRT over tickets created in the period that have a first response, plus the count of
    those still awaiting one (not closed, no first response)."""
    stats = percentiles(_responded(period), _duration("first_response_at", "created_at"))
    stats["awaiting"] = (
        Ticket.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
        .not_closed()
        .filter(first_response_at__isnull=True)
        .count()
    )
    return stats


def first_response_histogram(period: Period) -> list[tuple[str, int]]:
    return histogram(_responded(period), "first_response_at", "created_at", FIRST_RESPONSE_BINS)


def _resolved(period: Period) -> tuple[QuerySet, str]:
    """Tickets closed in the period and still closed at its end, annotated with `close_time`,
    the time of that close.

    A ticket whose `closed_at` falls in the period qualifies (closed_at is its latest close, so
    nothing moved it since). The only others are tickets reopened after the period's end: for
    those few, the history before the end is replayed (their latest status event before the
    end must be a close in the period). For a period that ends now, there are none.
    """
    reopened_after = TicketEvent.objects.filter(
        kind=STATUS, from_value=CLOSED, created_at__gte=period.end
    ).values("ticket_id")
    latest_before_end = (
        TicketEvent.objects.filter(ticket=OuterRef("pk"), kind=STATUS, created_at__lt=period.end)
        .order_by("-created_at", "-pk")
        .annotate(close_time=Case(When(to_value=CLOSED, then=F("created_at"))))
        .values("close_time")[:1]
    )
    in_period = Q(closed_at__gte=period.start, closed_at__lt=period.end)
    closed = (
        Ticket.objects.filter(in_period | Q(pk__in=reopened_after))
        .annotate(
            close_time=Case(
                When(in_period, then=F("closed_at")), default=Subquery(latest_before_end)
            )
        )
        .filter(close_time__gte=period.start, close_time__lt=period.end)
    )
    return closed, "close_time"


def resolution(period: Period) -> dict:
    """Resolution time over tickets closed in the period and still closed at its end."""
    closed, closed_field = _resolved(period)
    return percentiles(closed, _duration(closed_field, "created_at"))


def resolution_histogram(period: Period) -> list[tuple[str, int]]:
    closed, closed_field = _resolved(period)
    return histogram(closed, closed_field, "created_at", RESOLUTION_BINS)


def reopen_rate(period: Period) -> dict:
    """Tickets closed in the period that were reopened after that close, over the tickets
    closed in the period (in tickets, not events). `rate` is None when none were closed."""
    closes = TicketEvent.objects.filter(
        kind=STATUS, to_value=CLOSED, created_at__gte=period.start, created_at__lt=period.end
    )
    reopened_later = TicketEvent.objects.filter(
        ticket=OuterRef("ticket_id"),
        kind=STATUS,
        from_value=CLOSED,
        created_at__gt=OuterRef("created_at"),
    )
    row = closes.aggregate(
        closed=Count("ticket_id", distinct=True),
        reopened=Count("ticket_id", distinct=True, filter=Exists(reopened_later)),
    )
    rate = row["reopened"] / row["closed"] if row["closed"] else None
    return {"closed": row["closed"], "reopened": row["reopened"], "rate": rate}


# --- open work now -------------------------------------------------------------------------


def age_of_open_work(now: datetime) -> list[tuple[str, int]]:
    """Tickets not closed now, by how long ago they were created."""
    aggregates = {}
    for label, low, high in AGE_BUCKETS:
        condition = Q(created_at__lte=now - low)
        if high is not None:
            condition &= Q(created_at__gt=now - high)
        aggregates[label] = Count("pk", filter=condition)
    row = Ticket.objects.not_closed().aggregate(**aggregates)
    return [(label, row[label]) for label, _, _ in AGE_BUCKETS]


def awaiting_first_response(now: datetime, limit: int = 10) -> dict:
    """Tickets not closed and without a first response: how many, and the oldest few."""
    waiting = Ticket.objects.not_closed().filter(first_response_at__isnull=True)
    oldest = [
        {"id": pk, "title": title, "age": now - created_at}
        for pk, title, created_at in waiting.order_by("created_at", "pk").values_list(
            "pk", "title", "created_at"
        )[:limit]
    ]
    return {"count": waiting.count(), "oldest": oldest}


def workload() -> list[tuple[str, int]]:
    """Tickets not closed per assignee (every active staff member, even with none), plus
    unassigned, largest first."""
    per_assignee = dict(
        Ticket.objects.not_closed()
        .values("assignee_id")
        .annotate(count=Count("pk"))
        .order_by()
        .values_list("assignee_id", "count")
    )
    staff = dict(get_user_model().objects.staff().values_list("pk", "username"))
    names = dict(staff)
    missing = [pk for pk in per_assignee if pk is not None and pk not in names]
    if missing:  # Former staff who still hold tickets.
        names.update(get_user_model().objects.filter(pk__in=missing).values_list("pk", "username"))
    rows = [(names[pk], per_assignee.get(pk, 0)) for pk in set(staff) | set(missing)]
    rows.sort(key=lambda row: (-row[1], row[0]))
    rows.append(("(unassigned)", per_assignee.get(None, 0)))
    return rows


def created_by_status_and_priority(period: Period) -> dict[str, list[tuple[str, int]]]:
    """Tickets created in the period, by their status now and by priority."""
    rows = (
        Ticket.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
        .values("status", "priority")
        .annotate(count=Count("pk"))
        .order_by()
    )
    by_status = dict.fromkeys(Ticket.Status.values, 0)
    by_priority = dict.fromkeys(Ticket.Priority.values, 0)
    for row in rows:
        by_status[row["status"]] += row["count"]
        by_priority[row["priority"]] += row["count"]
    return {"by_status": list(by_status.items()), "by_priority": list(by_priority.items())}


# --- users ---------------------------------------------------------------------------------


def registrations_per_bucket(period: Period) -> list[tuple[datetime, int]]:
    rows = (
        get_user_model()
        .objects.filter(date_joined__gte=period.start, date_joined__lt=period.end)
        .annotate(bucket=_trunc("date_joined", period))
        .values("bucket")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return _fill(period, {row["bucket"]: row["count"] for row in rows})


def active_reporters(period: Period) -> int:
    """People who reported at least one ticket in the period."""
    return (
        Ticket.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
        .values("reporter_id")
        .distinct()
        .count()
    )


def user_totals() -> dict[str, int]:
    row = get_user_model().objects.aggregate(
        users=Count("pk"),
        staff=Count("pk", filter=Q(is_staff=True, is_active=True)),
    )
    return row
