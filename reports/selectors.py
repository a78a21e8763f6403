"""Every help-desk metric, computed in SQL, one function each (definitions: METRICS.md).

Each function takes a Period (and `now`, so a report is computed against one instant) and
returns plain Python data: numbers, datetimes, timedeltas, lists of (bucket, value). Their cost
grows with the number of buckets, not with the number of tickets loaded into Python: rows are
counted, grouped and ranked by the database.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Coalesce, Trunc
from django.utils import timezone
from django.utils.duration import duration_microseconds

from tickets.models import Ticket, TicketEvent

from .models import ActivitySlot
from .periods import Period, site_tz

OPEN, ACTIVE, CLOSED = Ticket.Status.OPEN, Ticket.Status.ACTIVE, Ticket.Status.CLOSED
STATUS = TicketEvent.Kind.STATUS
PERCENTILES = (0.5, 0.9)
SLOT = timedelta(minutes=15)  # The rollup's slot (reports.rollup.SLOT_SECONDS).
AGE_BUCKETS = [
    ("<1d", timedelta(0), timedelta(days=1)),
    ("1-3d", timedelta(days=1), timedelta(days=3)),
    ("3-7d", timedelta(days=3), timedelta(days=7)),
    ("7-30d", timedelta(days=7), timedelta(days=30)),
    (">30d", timedelta(days=30), None),
]


def _duration(end: str, start: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def percentiles(queryset: QuerySet, duration: ExpressionWrapper, bins=None) -> dict:
    """Count, median and 90th percentile of `duration` over `queryset`; see duration_stats."""
    return duration_stats([(queryset, duration)], bins)


def duration_stats(parts: list[tuple[QuerySet, ExpressionWrapper]], bins=None) -> dict:
    """Count, median and 90th percentile (nearest rank) of durations drawn from one or more
    querysets (their union, with repeats), and with `bins` the histogram [(label, count)].

    PostgreSQL ranks in the same aggregate that counts (percentile_disc); elsewhere each
    percentile is one ordered query that reads a single row (OFFSET). Either way no durations
    are loaded into Python. Both give the value at position ceil(p * count).
    """
    sources, params = [], []
    for number, (queryset, duration) in enumerate(parts):
        values = queryset.order_by().annotate(duration_value=duration).values("duration_value")
        sql, part_params = values.query.sql_with_params()
        sources.append(f"SELECT * FROM ({sql}) AS part{number}")  # noqa: S608 (ORM-compiled)
        params.extend(part_params)
    postgres = connection.vendor == "postgresql"
    union = " UNION ALL ".join(sources)
    # Either database would inline a plain subquery and compute the duration again for each
    # reference (every bin, the ranking): twice the time. A materialised CTE (SQLite) or an
    # OFFSET 0 fence (PostgreSQL) computes it once per row. PostgreSQL works in float8 seconds
    # (the same order as the intervals: a float8 of seconds keeps microseconds apart for
    # centuries), which compare and sort much faster than intervals; SQLite in microseconds.
    source = (
        f"(SELECT date_part('epoch', duration_value) AS duration_value FROM ({union}) AS parts "  # noqa: S608
        "OFFSET 0) AS durations"
        if postgres
        else "durations"
    )
    prefix = "" if postgres else f"WITH durations AS MATERIALIZED ({union}) "

    def as_param(value: timedelta):
        return value.total_seconds() if postgres else duration_microseconds(value)

    columns, column_params = ["COUNT(*)"], []
    for _label, low, high in bins or []:
        condition, bounds = "duration_value >= %s", [as_param(low)]
        if high is not None:
            condition += " AND duration_value < %s"
            bounds.append(as_param(high))
        columns.append(f"COUNT(*) FILTER (WHERE {condition})")
        column_params.extend(bounds)
    if postgres:
        fractions = ", ".join(str(p) for p in PERCENTILES)
        columns.append(
            f"percentile_disc(ARRAY[{fractions}]) WITHIN GROUP (ORDER BY duration_value)"
        )
    # The SQL is Django's own compilation of the querysets plus fixed text; every value is a
    # query parameter.
    with connection.cursor() as cursor:
        cursor.execute(
            f"{prefix}SELECT {', '.join(columns)} FROM {source}",  # noqa: S608
            [*params, *column_params] if prefix else [*column_params, *params],
        )
        row = cursor.fetchone()
        count, bin_counts = row[0], row[1 : 1 + len(bins or [])]
        if postgres:
            seconds = row[-1] or [None] * len(PERCENTILES)
            values = {
                p: None if value is None else timedelta(microseconds=round(value * 1_000_000))
                for p, value in zip(PERCENTILES, seconds, strict=True)
            }
        else:
            values = {}
            for p in PERCENTILES:
                values[p] = None
                if count:
                    cursor.execute(
                        f"{prefix}SELECT duration_value FROM {source} "  # noqa: S608
                        "ORDER BY duration_value "
                        "LIMIT 1 OFFSET %s",
                        [*params, max(1, math.ceil(p * count)) - 1],
                    )
                    values[p] = timedelta(microseconds=cursor.fetchone()[0])
    result = {"count": count, "median": values[0.5], "p90": values[0.9]}
    if bins:
        result["histogram"] = [
            (label, bin_count) for (label, _, _), bin_count in zip(bins, bin_counts, strict=True)
        ]
    return result


# Durations of every ticket, in float8 seconds, as the two partial expression indexes of
# tickets migration 0008 hold them (PostgreSQL only): (index expression, the rows it holds).
FIRST_RESPONSE_TIME = (
    "date_part('epoch', first_response_at - created_at)",
    "first_response_at IS NOT NULL",
)
RESOLUTION_TIME = ("date_part('epoch', closed_at - created_at)", "closed_at IS NOT NULL")


def _holds_every(column: str, period: Period, present: str | None = None) -> bool:
    """Whether every ticket with a `column` (and a `present` column, if given) has it in the
    period (PostgreSQL only, where the duration indexes are): two index probes, the first and
    the last value. An all-time report, typically."""
    if connection.vendor != "postgresql":
        return False
    tickets = Ticket.objects.filter(**{f"{column}__isnull": False}).values_list(column, flat=True)
    if present:
        tickets = tickets.filter(**{f"{present}__isnull": False})
    first = tickets.order_by(column).first()
    if first is None:
        return False  # Nothing to rank: the general query answers "no data" as cheaply.
    return first >= period.start and tickets.order_by(f"-{column}").first() < period.end


def indexed_duration_stats(duration: tuple[str, str], bins) -> dict:
    """duration_stats over every ticket that has the duration, read from its index.

    Ranking 800,000 durations costs half a second; the index holds them in order. Each bin
    (and what lies below the first) is counted over its stretch of the index, so the count is
    their sum; a percentile's rank then falls in a known bin, and is read by walking that bin
    from its start (OFFSET within the bin), not the whole index. Same nearest-rank values as
    duration_stats: position ceil(p * count) in ascending order.
    """
    expression, rows = duration
    lows = [low.total_seconds() for _, low, _ in bins]
    # Stretches of the index: below the first bin, then each bin; (low, high) in seconds.
    stretches = [(None, lows[0])] + [
        (low.total_seconds(), None if high is None else high.total_seconds())
        for _, low, high in bins
    ]

    def condition(low, high) -> tuple[str, list]:
        parts, params = [rows], []
        if low is not None:
            parts.append(f"{expression} >= %s")
            params.append(low)
        if high is not None:
            parts.append(f"{expression} < %s")
            params.append(high)
        return " AND ".join(parts), params

    counts_sql, counts_params = [], []
    for low, high in stretches:
        where, params = condition(low, high)
        counts_sql.append(f"(SELECT COUNT(*) FROM tickets_ticket WHERE {where})")  # noqa: S608
        counts_params.extend(params)
    # Fixed text (the two index expressions above) and parameters only.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(counts_sql)}", counts_params)
        counts = list(cursor.fetchone())
        count = sum(counts)
        values = {}
        for p in PERCENTILES:
            values[p] = None
            if not count:
                continue
            rank, stretch = max(1, math.ceil(p * count)), 0
            while rank > counts[stretch]:  # Past this stretch: the rank falls in a later one.
                rank -= counts[stretch]
                stretch += 1
            where, params = condition(*stretches[stretch])
            cursor.execute(
                f"SELECT {expression} FROM tickets_ticket WHERE {where} "  # noqa: S608
                f"ORDER BY {expression} OFFSET %s LIMIT 1",
                [*params, rank - 1],
            )
            values[p] = timedelta(microseconds=round(cursor.fetchone()[0] * 1_000_000))
    return {
        "count": count,
        "median": values[0.5],
        "p90": values[0.9],
        "histogram": [(label, n) for (label, _, _), n in zip(bins, counts[1:], strict=True)],
    }


def _trunc(field: str, period: Period):
    return Trunc(field, period.bucket, tzinfo=site_tz())


def _fill(period: Period, rows: dict[datetime, int]) -> list[tuple[datetime, int]]:
    """Every bucket of the period, with 0 where the database had no row."""
    return [(start, rows.get(start, 0)) for start in period.bucket_starts()]


# --- volume ---------------------------------------------------------------------------------


def _slots(start: datetime, end: datetime, *, through: bool = False) -> QuerySet:
    """The rollup's slots from `start` to `end` (inclusive of the slot `end` falls in, with
    `through`: that slot holds everything up to `end` when `end` is now)."""
    end_lookup = "slot__lte" if through else "slot__lt"
    return ActivitySlot.objects.filter(slot__gte=start, **{end_lookup: end})


def _sum(column: str, **filters) -> Coalesce:
    return Coalesce(Sum(column, filter=Q(**filters) if filters else None), 0)


def created_flows(period: Period, now: datetime) -> dict[datetime, dict[str, int]]:
    """Tickets created from the period's start up to `now` (or the period's end, if later),
    per bucket: `all` of them, and those `in_period` (before the period's end). One grouped
    query over the rollup serves the "created" volume and the backlog replay."""
    rows = (
        _slots(period.start, max(now, period.end), through=True)
        .annotate(bucket=_trunc("slot", period))
        .values("bucket")
        .annotate(all=_sum("created"), in_period=_sum("created", slot__lt=period.end))
        .order_by()
    )
    return {row.pop("bucket"): row for row in rows}


def created_per_bucket(period: Period, created: dict | None = None) -> list[tuple[datetime, int]]:
    """Tickets created in each bucket of the period (`created`: created_flows(), if at hand)."""
    if created is None:
        created = created_flows(period, period.end)
    return _fill(period, {bucket: row["in_period"] for bucket, row in created.items()})


TRANSITION_COUNTS = ("into_closed", "out_of_closed", "into_active", "out_of_active")


def status_flows(period: Period, now: datetime) -> dict[datetime, dict[str, int]]:
    """Status events from the period's start up to `now`, counted per bucket by direction
    (into and out of `closed` and `active`: what the backlog replays), and the closes that fall
    in the period (the "closed" volume)."""
    rows = (
        _slots(period.start, max(now, period.end), through=True)
        .annotate(bucket=_trunc("slot", period))
        .values("bucket")
        .annotate(
            # Named apart from the columns they sum (Django refuses a name that shadows one).
            **{f"n_{column}": _sum(column) for column in TRANSITION_COUNTS},
            closed_in_period=_sum("into_closed", slot__lt=period.end),
        )
        .order_by()
    )
    return {
        row.pop("bucket"): {name.removeprefix("n_"): count for name, count in row.items()}
        for row in rows
    }


def created_count(period: Period) -> int:
    return _slots(period.start, period.end).aggregate(n=_sum("created"))["n"]


def closed_count(period: Period) -> int:
    return _slots(period.start, period.end).aggregate(n=_sum("into_closed"))["n"]


def closed_per_bucket(period: Period, flows: dict | None = None) -> list[tuple[datetime, int]]:
    """Transitions into `closed` in each bucket (a ticket closed twice counts twice)."""
    if flows is None:
        flows = status_flows(period, period.end)
    return _fill(period, {bucket: row["closed_in_period"] for bucket, row in flows.items()})


# --- backlog --------------------------------------------------------------------------------


def _undo(counts: dict, flow: dict, created: int) -> tuple[int, int]:
    """Open and active counts before a stretch of history with these events and creations."""
    active_delta = flow.get("into_active", 0) - flow.get("out_of_active", 0)
    closed_delta = flow.get("into_closed", 0) - flow.get("out_of_closed", 0)
    # Every status event moves a ticket between the three statuses; open takes the rest, and
    # a ticket created in the stretch did not exist before it (it started open).
    open_delta = -(active_delta + closed_delta) + created
    return counts[OPEN] - open_delta, counts[ACTIVE] - active_delta


def backlog_series(
    period: Period, now: datetime, flows: dict, counts: dict, created: dict | None = None
) -> list[dict]:
    """Open and active tickets at the end of each bucket (for the current bucket: now).

    Rebuilt from the event history, walking back from today's counts: for any instant T, a
    ticket's status at T is its status now undone by its status events after T, and tickets
    created after T do not count. So the backlog at T is right for any past T, and costs
    grouped queries over what happened since the period's start, not a query per ticket.
    `counts` is open_work_now()'s and `created` created_flows(), taken once per report.
    """
    if created is None:
        created = created_flows(period, now)
    state = {OPEN: counts[OPEN], ACTIVE: counts[ACTIVE]}
    series = []
    starts = set(period.bucket_starts())
    # Buckets from the latest (which may run past the period, up to now) back to the first.
    for bucket in sorted(set(flows) | set(created) | starts, reverse=True):
        if bucket in starts:
            series.append({"bucket": bucket, "open": state[OPEN], "active": state[ACTIVE]})
        made = created.get(bucket, {}).get("all", 0)
        state[OPEN], state[ACTIVE] = _undo(state, flows.get(bucket, {}), made)
    series.reverse()
    # Each entry was taken after undoing the buckets after it: that is the state at its end.
    return series


def backlog_before(counts: dict, flows: dict, created: dict) -> dict[str, int]:
    """Open and active tickets just before everything in `flows` and `created` happened: at
    the period's start, from the rows the backlog series already fetched (no query)."""
    total = {
        key: sum(row.get(key, 0) for row in flows.values())
        for key in ("into_closed", "out_of_closed", "into_active", "out_of_active")
    }
    made = sum(row["all"] for row in created.values())
    open_count, active_count = _undo(counts, total, made)
    return {"open": open_count, "active": active_count}


def backlog_at(instant: datetime, now: datetime, counts: dict) -> dict[str, int]:
    """Open and active tickets at `instant` (its events included), by the same replay."""
    if instant >= now:
        return {"open": counts[OPEN], "active": counts[ACTIVE]}
    created_after = Ticket.objects.filter(created_at__gt=instant, created_at__lte=now).count()
    flow = TicketEvent.objects.filter(
        kind=STATUS, created_at__gt=instant, created_at__lte=now
    ).aggregate(
        into_closed=Count("created_at", filter=Q(to_value=CLOSED)),
        out_of_closed=Count("created_at", filter=Q(from_value=CLOSED)),
        into_active=Count("created_at", filter=Q(to_value=ACTIVE)),
        out_of_active=Count("created_at", filter=Q(from_value=ACTIVE)),
    )
    open_count, active_count = _undo(counts, flow, created_after)
    return {"open": open_count, "active": active_count}


# --- response and resolution ---------------------------------------------------------------


FIRST_RESPONSE_BINS = [
    ("<1h", timedelta(0), timedelta(hours=1)),
    ("1-4h", timedelta(hours=1), timedelta(hours=4)),
    ("4-24h", timedelta(hours=4), timedelta(days=1)),
    ("1-3d", timedelta(days=1), timedelta(days=3)),
    (">3d", timedelta(days=3), None),
]
RESOLUTION_BINS = AGE_BUCKETS


def _responded(period: Period) -> QuerySet:
    return Ticket.objects.filter(
        created_at__gte=period.start, created_at__lt=period.end, first_response_at__isnull=False
    )


def first_response(period: Period, *, with_awaiting: bool = True) -> dict:
    """FRT over tickets created in the period that have a first response (count, median,
    p90, histogram), plus the count of those still awaiting one (not closed, no response)."""
    if _holds_every("created_at", period, "first_response_at"):
        stats = indexed_duration_stats(FIRST_RESPONSE_TIME, FIRST_RESPONSE_BINS)
    else:
        stats = percentiles(
            _responded(period), _duration("first_response_at", "created_at"), FIRST_RESPONSE_BINS
        )
    if not with_awaiting:
        return stats
    stats["awaiting"] = _slots(period.start, period.end).aggregate(n=_sum("still_awaiting"))["n"]
    return stats


def _resolved_parts(period: Period, now: datetime | None = None) -> list[tuple]:
    """Tickets closed in the period and still closed at its end, as (queryset, duration)
    parts whose union is the set, each duration being "that close - created_at".

    A ticket whose `closed_at` falls in the period qualifies (closed_at is its latest close, so
    nothing moved it since). The only others are tickets reopened after the period's end (their
    closed_at is later, or empty): for those few, the history before the end is replayed, and
    their latest status event before the end must be a close in the period. For a period that
    ends now there are none.
    """
    now = now or timezone.now()
    closed_in_period = Ticket.objects.filter(closed_at__gte=period.start, closed_at__lt=period.end)
    parts = [(closed_in_period, _duration("closed_at", "created_at"))]
    if period.end < now:
        reopened_after = TicketEvent.objects.filter(
            kind=STATUS, from_value=CLOSED, created_at__gte=period.end
        ).values("ticket_id")
        # A status event of the same ticket after this one (ties broken by id), before the end.
        later = TicketEvent.objects.filter(
            Q(created_at__gt=OuterRef("created_at"))
            | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk")),
            ticket_id=OuterRef("ticket_id"),
            kind=STATUS,
            created_at__lt=period.end,
        )
        # Their closes in the period that nothing followed before its end: the latest status
        # event before the end, when it is a close in the period. One per ticket at most, read
        # from the closes index and a probe of the ticket's history, not a replay of it.
        replayed = TicketEvent.objects.filter(
            ~Exists(later),
            kind=STATUS,
            to_value=CLOSED,
            created_at__gte=period.start,
            created_at__lt=period.end,
            ticket_id__in=reopened_after,
            # Only a ticket that existed before the period's end can have closed in it.
            ticket__created_at__lt=period.end,
        )
        parts.append((replayed, _duration("created_at", "ticket__created_at")))
    return parts


def resolution(period: Period, now: datetime | None = None) -> dict:
    """Resolution time over tickets closed in the period and still closed at its end (count,
    median, p90, histogram)."""
    now = now or timezone.now()
    if period.end >= now and _holds_every("closed_at", period):
        return indexed_duration_stats(RESOLUTION_TIME, RESOLUTION_BINS)
    return duration_stats(_resolved_parts(period, now), RESOLUTION_BINS)


def reopen_rate(period: Period) -> dict:
    """Tickets closed in the period that were reopened after that close, over the tickets
    closed in the period (in tickets, not events). `rate` is None when none were closed.

    Reopens are rare, and a ticket never reopened since the period's start was closed at most
    once in it (a second close needs a reopen in between): the closes in the period (from the
    rollup) count those. Only tickets reopened since the start are looked at one by one: their
    closes in the period (how many, the first) joined with their last reopen, from the two
    covering indexes of closes and reopens, never the rest of their history. Such a ticket
    counts as reopened when its first close in the period comes before its last reopen.
    """
    reopens = TicketEvent.objects.filter(
        kind=STATUS, from_value=CLOSED, created_at__gt=period.start
    ).order_by()
    closes = (
        TicketEvent.objects.filter(
            kind=STATUS,
            to_value=CLOSED,
            created_at__gte=period.start,
            created_at__lt=period.end,
            ticket_id__in=reopens.values("ticket_id"),
        )
        .values("ticket_id")
        .annotate(closes=Count("*"), first_close=Min("created_at"))
        .order_by()
    )
    last_reopens = reopens.values("ticket_id").annotate(last_reopen=Max("created_at"))
    closes_sql, closes_params = closes.query.sql_with_params()
    reopens_sql, reopens_params = last_reopens.query.sql_with_params()
    with connection.cursor() as cursor:
        # ORM-compiled subqueries joined on the ticket; every value is a parameter.
        cursor.execute(
            "SELECT COUNT(*), COALESCE(SUM(c.closes), 0), "  # noqa: S608
            "COALESCE(SUM(CASE WHEN c.first_close < r.last_reopen THEN 1 ELSE 0 END), 0) "
            f"FROM ({closes_sql}) AS c JOIN ({reopens_sql}) AS r ON r.ticket_id = c.ticket_id",
            [*closes_params, *reopens_params],
        )
        # PostgreSQL sums integers as numeric: back to int.
        tickets, ticket_closes, reopened = (int(value) for value in cursor.fetchone())
    closed = closed_count(period) - ticket_closes + tickets
    rate = reopened / closed if closed else None
    return {"closed": closed, "reopened": reopened, "rate": rate}


# --- open work now -------------------------------------------------------------------------


def _slot_of(moment: datetime) -> datetime:
    """The start of the rollup's quarter hour (UTC) that `moment` falls in."""
    seconds = SLOT.total_seconds()
    return datetime.fromtimestamp(moment.timestamp() // seconds * seconds, tz=UTC)


def open_work_now(now: datetime) -> dict:
    """Tickets not closed now: how many are open and active (where the backlog replay starts),
    by age since creation, and how many still await a first response (how many each assignee
    holds: open_work_per_assignee()).

    The counts come from the rollup (how many of each quarter hour's tickets are still open,
    active, awaiting), which a status change or a first response keeps up to date: a few
    thousand slots, not every ticket not closed. An age bucket holds the slots wholly inside
    it; the tickets of the five slots its edges cut (now, now - 1 day, ...) are looked at one
    by one.
    """
    edges = [now - low for _, low, _ in AGE_BUCKETS]
    aggregates = {
        OPEN: _sum("still_open"),
        ACTIVE: _sum("still_active"),
        "awaiting": _sum("still_awaiting"),
    }
    still = F("still_open") + F("still_active")
    inside = {}
    for label, low, high in AGE_BUCKETS:
        # A slot wholly inside: created after now - high, and ended by now - low.
        condition = Q(slot__lte=now - low - SLOT)
        if high is not None:
            condition &= Q(slot__gt=now - high)
        inside[label] = Coalesce(Sum(still, filter=condition), 0)
    totals = ActivitySlot.objects.aggregate(**aggregates, **inside)

    cut = Q()
    for edge in edges:
        start = _slot_of(edge)
        cut |= Q(created_at__gte=start, created_at__lt=start + SLOT)
    at_edges = {}
    for label, low, high in AGE_BUCKETS:
        condition = Q(created_at__lte=now - low)
        if high is not None:
            condition &= Q(created_at__gt=now - high)
        at_edges[label] = Count("created_at", filter=condition)
    edge_counts = Ticket.objects.not_closed().filter(cut).aggregate(**at_edges)

    return {
        "counts": {OPEN: totals[OPEN], ACTIVE: totals[ACTIVE]},
        "age": [(label, totals[label] + edge_counts[label]) for label, _, _ in AGE_BUCKETS],
        "awaiting": totals["awaiting"],
    }


def open_work_per_assignee() -> dict[int | None, int]:
    """Tickets not closed, by assignee id (None: unassigned); one grouped count."""
    return dict(
        Ticket.objects.not_closed()
        .values("assignee_id")
        .annotate(count=Count("*"))
        .order_by()
        .values_list("assignee_id", "count")
    )


def awaiting_first_response(now: datetime, limit: int = 10, count: int | None = None) -> dict:
    """Tickets not closed and without a first response: how many (`count`, if already
    known from open_work_now), and the oldest few."""
    waiting = Ticket.objects.not_closed().filter(first_response_at__isnull=True)
    oldest = [
        {"id": pk, "title": title, "age": now - created_at}
        for pk, title, created_at in waiting.order_by("created_at", "pk").values_list(
            "pk", "title", "created_at"
        )[:limit]
    ]
    return {"count": waiting.count() if count is None else count, "oldest": oldest}


def workload(per_assignee: dict | None = None) -> list[tuple[str, int]]:
    """Tickets not closed per assignee (every active staff member, even with none), plus
    unassigned, largest first (`per_assignee`: open_work_per_assignee()'s, if at hand)."""
    if per_assignee is None:
        per_assignee = open_work_per_assignee()
    staff = dict(get_user_model().objects.staff().values_list("pk", "username"))
    names = dict(staff)
    missing = [pk for pk in per_assignee if pk is not None and pk not in names]
    if missing:  # Former staff who still hold tickets.
        names.update(get_user_model().objects.filter(pk__in=missing).values_list("pk", "username"))
    rows = [(names[pk], per_assignee.get(pk, 0)) for pk in set(staff) | set(missing)]
    rows.sort(key=lambda row: (-row[1], row[0]))
    rows.append(("(unassigned)", per_assignee.get(None, 0)))
    return rows


def created_summary(period: Period) -> dict:
    """Tickets created in the period: by their status now, by priority, and how many still
    await a first response (not closed); how many people reported them: active_reporters().

    All from the rollup: the period's slots count their tickets by priority and by where they
    stand now (open, active, awaiting), closed being the rest."""
    created = _slots(period.start, period.end).aggregate(
        all=_sum("created"),
        **{value: _sum(f"created_{value}") for value in Ticket.Priority.values},
        **{value: _sum(f"still_{value}") for value in (OPEN, ACTIVE)},
        awaiting=_sum("still_awaiting"),
    )
    by_status = {
        OPEN: created[OPEN],
        ACTIVE: created[ACTIVE],
        CLOSED: created["all"] - created[OPEN] - created[ACTIVE],
    }
    return {
        "by_status": [(value, by_status[value]) for value in Ticket.Status.values],
        "by_priority": [(value, created[value]) for value in Ticket.Priority.values],
        "awaiting": created["awaiting"],
    }


# --- users ---------------------------------------------------------------------------------


def registrations_per_bucket(period: Period) -> list[tuple[datetime, int]]:
    rows = (
        get_user_model()
        .objects.filter(date_joined__gte=period.start, date_joined__lt=period.end)
        .annotate(bucket=_trunc("date_joined", period))
        .values("bucket")
        .annotate(count=Count("*"))
        .order_by()
    )
    return _fill(period, {row["bucket"]: row["count"] for row in rows})


def active_reporters(period: Period) -> int:
    """People who reported at least one ticket in the period.

    The distinct reporters of its tickets, or, when there are many more tickets than people (a
    long period's million tickets would all be ranked by reporter), one index probe per person.
    A probe costs about as much as ranking five tickets.
    """
    created = _slots(period.start, period.end).aggregate(n=_sum("created"))["n"]
    in_period = Q(created_at__gte=period.start, created_at__lt=period.end)
    people = get_user_model().objects.all()
    if created <= 5 * people.count():
        return Ticket.objects.filter(in_period).aggregate(n=Count("reporter_id", distinct=True))[
            "n"
        ]
    return people.filter(Exists(Ticket.objects.filter(in_period, reporter=OuterRef("pk")))).count()


def user_totals() -> dict[str, int]:
    row = get_user_model().objects.aggregate(
        users=Count("*"),
        staff=Count("pk", filter=Q(is_staff=True, is_active=True)),
    )
    return row
