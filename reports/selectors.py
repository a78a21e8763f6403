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
    F,
    Func,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.duration import duration_microseconds

from tickets.models import Category, Ticket, TicketEvent

from .models import ActivitySlot
from .periods import Period

OPEN, ACTIVE, CLOSED = Ticket.Status.OPEN, Ticket.Status.ACTIVE, Ticket.Status.CLOSED
STATUS = TicketEvent.Kind.STATUS
PERCENTILES = (0.5, 0.9)
SLOT = timedelta(minutes=15)  # The rollup's slot (reports.rollup.SLOT_SECONDS).
# The labels of the workload's row for unassigned tickets and of the category chart's row for
# tickets without one: the CSV and the JSON give them as they are, the page translates them
# (reports.visualization.ROW_LABELS).
UNASSIGNED = "(unassigned)"
NO_CATEGORY = "(no category)"

AGE_BUCKETS = [
    ("<1d", timedelta(0), timedelta(days=1)),
    ("1-3d", timedelta(days=1), timedelta(days=3)),
    ("3-7d", timedelta(days=3), timedelta(days=7)),
    ("7-30d", timedelta(days=7), timedelta(days=30)),
    (">30d", timedelta(days=30), None),
]


class Elapsed(Func):
    """The time from `start` to `end`, a DurationField: on PostgreSQL their interval, on SQLite
    whole microseconds from SQLite's own date functions (Django's own subtraction calls a Python
    function for each row, which no index can hold)."""

    arity = 2
    output_field = DurationField()
    arg_joiner = " - "
    template = "(%(expressions)s)"

    def as_sqlite(self, compiler, connection, **extra_context):
        (end, end_params), (start, start_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        # '%%': Django turns it into '%' when it hands the query to SQLite.
        return sqlite_microseconds(end, start, percent="%%"), [
            *end_params, *start_params, *end_params, *start_params
        ]  # fmt: skip


def sqlite_microseconds(end: str, start: str, *, percent: str = "%") -> str:
    """SQLite SQL for the whole microseconds from `start` to `end`, two of Django's stored
    datetimes ("2025-01-06 10:14:59" or "2025-01-06 10:14:59.123456", UTC): the seconds of each
    (its fraction cut off), then the fractions' difference. Exact: no floating point."""

    def seconds(column: str) -> str:
        return f"strftime('{percent}s', substr({column}, 1, 19))"

    def fraction(column: str) -> str:
        return f"CAST(substr({column} || '.000000', 21, 6) AS INTEGER)"

    return f"(({seconds(end)} - {seconds(start)}) * 1000000 + {fraction(end)} - {fraction(start)})"


def _duration(end: str, start: str) -> Elapsed:
    return Elapsed(F(end), F(start))


def percentiles(queryset: QuerySet, duration: Elapsed, bins=None) -> dict:
    """Count, median and 90th percentile of `duration` over `queryset`; see duration_stats."""
    return duration_stats([(queryset, duration)], bins)


def duration_stats(parts: list[tuple[QuerySet, Elapsed]], bins=None) -> dict:
    """Count, median and 90th percentile (nearest rank: the value at position ceil(p * count)
    in ascending order) of the durations drawn from one or more querysets (their union, with
    repeats), and with `bins` the histogram [(label, count)]. One query; no duration is loaded
    into Python.

    Both databases rank plain numbers, which sort faster than intervals: PostgreSQL float8
    seconds (microseconds stay apart for centuries) with percentile_disc, SQLite whole
    microseconds with a row number.
    """
    sources, params = [], []
    for number, (queryset, duration) in enumerate(parts):
        values = queryset.order_by().annotate(duration_value=duration).values("duration_value")
        sql, part_params = values.query.sql_with_params()
        sources.append(f"SELECT * FROM ({sql}) AS part{number}")  # noqa: S608 (ORM-compiled)
        params.extend(part_params)
    union = " UNION ALL ".join(sources)
    postgres = connection.vendor == "postgresql"

    columns, column_params = ["COUNT(*)"], []
    for _label, low, high in bins or []:
        condition, bounds = "duration_value >= %s", [_as_number(low)]
        if high is not None:
            condition += " AND duration_value < %s"
            bounds.append(_as_number(high))
        columns.append(f"COUNT(*) FILTER (WHERE {condition})")
        column_params.extend(bounds)
    if postgres:
        # OFFSET 0 keeps PostgreSQL from computing the duration again for each reference.
        fractions = ", ".join(str(p) for p in PERCENTILES)
        columns.append(
            f"percentile_disc(ARRAY[{fractions}]) WITHIN GROUP (ORDER BY duration_value)"
        )
        sql = (
            f"SELECT {', '.join(columns)} FROM (SELECT date_part('epoch', duration_value) "  # noqa: S608
            f"AS duration_value FROM ({union}) AS parts OFFSET 0) AS durations"
        )
        all_params = [*column_params, *params]
    else:
        for p in PERCENTILES:
            # ceil(p * total) in the same float arithmetic as Python's, at least 1.
            whole = f"CAST({p} * total AS INTEGER)"
            rank = f"MAX(1, {whole} + ({p} * total > {whole}))"
            columns.append(f"MIN(duration_value) FILTER (WHERE position = {rank})")
        sql = (
            f"WITH durations AS ({union}), ranked AS (SELECT duration_value, "  # noqa: S608
            "ROW_NUMBER() OVER (ORDER BY duration_value) AS position, COUNT(*) OVER () AS total "
            f"FROM durations) SELECT {', '.join(columns)} FROM ranked"
        )
        all_params = [*params, *column_params]
    # Django's own compilation of the querysets plus fixed text; every value is a parameter.
    with connection.cursor() as cursor:
        cursor.execute(sql, all_params)
        row = cursor.fetchone()
    count, bin_counts = row[0], row[1 : 1 + len(bins or [])]
    if postgres:
        values = dict(zip(PERCENTILES, row[-1] or [None] * len(PERCENTILES), strict=True))
    else:
        values = dict(zip(PERCENTILES, row[-len(PERCENTILES) :], strict=True))
    result = {
        "count": count,
        "median": _as_duration(values[0.5]),
        "p90": _as_duration(values[0.9]),
    }
    if bins:
        result["histogram"] = [
            (label, bin_count) for (label, _, _), bin_count in zip(bins, bin_counts, strict=True)
        ]
    return result


def _as_number(value: timedelta | None) -> float | int | None:
    """A duration as the databases rank it: float8 seconds (PostgreSQL) or microseconds."""
    if value is None:
        return None
    if connection.vendor == "postgresql":
        return value.total_seconds()
    return duration_microseconds(value)


def _as_duration(value: float | int | None) -> timedelta | None:
    """A ranked duration back as a timedelta: float8 seconds (PostgreSQL) or microseconds."""
    if value is None:
        return None
    if connection.vendor == "postgresql":
        return timedelta(microseconds=round(value * 1_000_000))
    return timedelta(microseconds=value)


# Every ticket's first response and resolution times, as the expression indexes hold them, and
# the rows they hold: PostgreSQL's of tickets migration 0008 (float8 seconds), SQLite's of
# reports migration 0003 (microseconds). A query must repeat an index's expression exactly.
FIRST_RESPONSE_TIME = {
    "postgresql": (
        "date_part('epoch', first_response_at - created_at)",
        "first_response_at IS NOT NULL",
    ),
    "sqlite": (
        sqlite_microseconds("first_response_at", "created_at", percent="%%"),
        "first_response_at IS NOT NULL",
    ),
}
RESOLUTION_TIME = {
    "postgresql": ("date_part('epoch', closed_at - created_at)", "closed_at IS NOT NULL"),
    "sqlite": (
        sqlite_microseconds("closed_at", "created_at", percent="%%"),
        "closed_at IS NOT NULL",
    ),
}


def _holds_every(column: str, period: Period, present: str | None = None) -> bool:
    """Whether every ticket with a `column` (and a `present` column, if given) has it in the
    period, as in an all-time report: two index probes, the first and the last value."""
    if connection.vendor not in FIRST_RESPONSE_TIME:
        return False
    tickets = Ticket.objects.filter(**{f"{column}__isnull": False}).values_list(column, flat=True)
    if present:
        tickets = tickets.filter(**{f"{present}__isnull": False})
    first = tickets.order_by(column).first()
    if first is None:
        return False  # Nothing to rank: the general query answers "no data" as cheaply.
    return first >= period.start and tickets.order_by(f"-{column}").first() < period.end


def indexed_duration_stats(duration: dict[str, tuple[str, str]], bins) -> dict:
    """duration_stats over every ticket that has the duration, read from its index in order
    instead of ranking them all.

    Each bin (and what lies below the first) is counted over its stretch of the index; a
    percentile's rank then falls in a known stretch and is read by walking that stretch from
    its start (OFFSET within it). The same nearest-rank values as duration_stats.
    """
    expression, rows = duration[connection.vendor]

    # Stretches of the index: below the first bin, then each bin.
    stretches = [(None, _as_number(bins[0][1]))] + [
        (_as_number(low), _as_number(high)) for _, low, high in bins
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
    # Fixed text (the index expressions above) and parameters only.
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
                f"ORDER BY {expression} LIMIT 1 OFFSET %s",
                [*params, rank - 1],
            )
            values[p] = _as_duration(cursor.fetchone()[0])
    return {
        "count": count,
        "median": values[0.5],
        "p90": values[0.9],
        "histogram": [(label, n) for (label, _, _), n in zip(bins, counts[1:], strict=True)],
    }


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


def _stretch_sums(
    table: str, column: str, bounds: list[datetime], sums: dict[str, str], params=()
) -> dict[int, dict[str, int]]:
    """Sums over the rows of `table` whose `column` lies in each stretch [bounds[n],
    bounds[n + 1]), by n (stretches without rows are left out): {n: {name: sum}} for each SQL
    expression in `sums` (over `source`, taking `params`).

    The bounds are parameters and each stretch is one index seek, so no row needs arithmetic of
    its own, such as finding its bucket in the site's time zone (on SQLite, a call to a Python
    function for every row).
    """
    adapt = connection.ops.adapt_datetimefield_value
    values = ", ".join(f"({number}, %s)" for number in range(len(bounds)))
    columns = ", ".join(f"COALESCE(SUM({expression}), 0)" for expression in sums.values())
    sql = (
        f"WITH bounds (number, bound) AS (VALUES {values}), "  # noqa: S608 (fixed text)
        "stretches AS (SELECT number, bound AS low, LEAD(bound) OVER (ORDER BY number) AS high "
        f"FROM bounds) SELECT stretches.number, {columns} FROM stretches JOIN {table} AS source "
        f"ON source.{column} >= stretches.low AND source.{column} < stretches.high "
        "GROUP BY stretches.number"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(adapt(bound) for bound in bounds), *params])
        return {
            number: dict(zip(sums, (int(total) for total in totals), strict=True))
            for number, *totals in cursor.fetchall()
        }


def _slots_per_bucket(period: Period, now: datetime, sums: dict[str, str]) -> dict:
    """The rollup's slots from the period's start up to `now` (or its end, if later), summed per
    bucket: {bucket start: {name: sum}} (`sums` as _stretch_sums's; %s is the period's end).
    Slots after the last bucket are summed under that bucket's end."""
    edges = period.bucket_edges()
    cap = max(now, period.end) + timedelta(microseconds=1)  # `now` itself included
    bounds = [min(max(edge, period.start), cap) for edge in edges] + [cap]
    params = [connection.ops.adapt_datetimefield_value(period.end)] * sum(
        expression.count("%s") for expression in sums.values()
    )
    rows = _stretch_sums("reports_activityslot", "slot", bounds, sums, params)
    return {edges[number]: row for number, row in rows.items()}


def created_flows(period: Period, now: datetime) -> dict[datetime, dict[str, int]]:
    """Tickets created from the period's start up to `now` (or the period's end, if later),
    per bucket: `all` of them, and those `in_period` (before the period's end). One grouped
    query over the rollup serves the "created" volume and the backlog replay."""
    return _slots_per_bucket(
        period,
        now,
        {
            "all": "source.created",
            "in_period": "CASE WHEN source.slot < %s THEN source.created END",
        },
    )


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
    return _slots_per_bucket(
        period,
        now,
        {
            **{column: f"source.{column}" for column in TRANSITION_COUNTS},
            "closed_in_period": "CASE WHEN source.slot < %s THEN source.into_closed END",
        },
    )


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

    Walked back from today's counts (`counts`, open_work_now()'s): the status at T is the status
    now with every change after T undone, and tickets created after T left out. `flows` and
    `created` are status_flows() and created_flows(), fetched once per report.
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

    Those whose `closed_at` (their latest close) falls in the period, and those reopened after
    its end whose latest status change before the end is a close in the period.
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

    A ticket not reopened since the period's start was closed at most once in it, so the
    rollup's closes count those; only the (few) tickets reopened since are looked at one by one:
    reopened when their first close in the period comes before their last reopen.
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
    by age since creation, and how many still await a first response.

    From the rollup's still_* counts: an age bucket sums the slots wholly inside it; the
    tickets of the five slots its edges cut (now, now - 1 day, ...) are counted one by one.
    """
    edges = [now - low for _, low, _ in AGE_BUCKETS]
    # Stretches of slots, oldest first: each age bucket's slots wholly inside it (created after
    # now - high, ended by now - low), then the one its younger edge cuts; then the rest.
    after = timedelta(microseconds=1)  # "slot > moment" is "slot >= moment + 1 microsecond"
    bounds = [datetime(1, 1, 1, tzinfo=UTC)]
    for _, low, _ in reversed(AGE_BUCKETS):
        bounds += [now - low - SLOT + after, now - low + after]
    bounds.append(datetime(9999, 12, 31, tzinfo=UTC))
    stretches = _stretch_sums(
        "reports_activityslot",
        "slot",
        bounds,
        {
            OPEN: "source.still_open",
            ACTIVE: "source.still_active",
            "awaiting": "source.still_awaiting",
        },
    )
    totals = {
        key: sum(row[key] for row in stretches.values()) for key in (OPEN, ACTIVE, "awaiting")
    }
    for number, (label, _, _) in enumerate(reversed(AGE_BUCKETS)):
        inside = stretches.get(2 * number, {OPEN: 0, ACTIVE: 0})
        totals[label] = inside[OPEN] + inside[ACTIVE]

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
    # Not closed, said so that SQLite seeks the five slots' tickets by time, not by status.
    edge_counts = Ticket.objects.filter(cut).exclude(status=CLOSED).aggregate(**at_edges)

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
    # Not closed, said so that SQLite reads the unanswered tickets in order of age instead of
    # sorting every open one.
    waiting = Ticket.objects.exclude(status=CLOSED).filter(first_response_at__isnull=True)
    oldest = [
        {"id": pk, "title": title, "age": now - created_at}
        for pk, title, created_at in waiting.order_by("created_at", "pk").values_list(
            "pk", "title", "created_at"
        )[:limit]
    ]
    return {"count": waiting.count() if count is None else count, "oldest": oldest}


def workload(per_assignee: dict | None = None) -> list[tuple[str, int]]:
    """Tickets not closed per assignee (every agent, a member of the Agents group, even with
    none), plus unassigned, largest first (`per_assignee`: open_work_per_assignee()'s, if at
    hand). Someone else holding open tickets (a former agent, a superuser who took one) is a
    row too, so that every open ticket is counted; one holding none is not."""
    if per_assignee is None:
        per_assignee = open_work_per_assignee()
    staff = dict(get_user_model().objects.agents().values_list("pk", "username"))
    names = dict(staff)
    missing = [pk for pk in per_assignee if pk is not None and pk not in names]
    if missing:  # Not agents (any more), but they hold tickets.
        names.update(get_user_model().objects.filter(pk__in=missing).values_list("pk", "username"))
    rows = [(names[pk], per_assignee.get(pk, 0)) for pk in set(staff) | set(missing)]
    rows.sort(key=lambda row: (-row[1], row[0]))
    rows.append((UNASSIGNED, per_assignee.get(None, 0)))
    return rows


def created_by_category(period: Period) -> list[tuple[str, int]]:
    """Tickets created in the period by their category now, in one grouped count: every
    category that has some, by name, then "(no category)" when there are any without one."""
    counts = dict(
        Ticket.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
        .values("category_id")
        .annotate(count=Count("*"))
        .order_by()
        .values_list("category_id", "count")
    )
    names = dict(
        Category.objects.filter(pk__in=[pk for pk in counts if pk is not None]).values_list(
            "pk", "name"
        )
    )
    rows = sorted(((names[pk], n) for pk, n in counts.items() if pk is not None), key=_by_name)
    if counts.get(None):
        rows.append((NO_CATEGORY, counts[None]))
    return rows


def _by_name(row: tuple[str, int]) -> str:
    return row[0].casefold()


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
    """People who joined in each bucket of the period."""
    edges = period.bucket_edges()
    bounds = [min(max(edge, period.start), period.end) for edge in edges]
    options = get_user_model()._meta
    table = connection.ops.quote_name(options.db_table)
    column = connection.ops.quote_name(options.get_field("date_joined").column)
    rows = _stretch_sums(table, column, bounds, {"joined": "1"})
    return _fill(period, {edges[number]: row["joined"] for number, row in rows.items()})


def active_reporters(period: Period) -> int:
    """People who reported at least one ticket in the period: the distinct reporters of its
    tickets or, when there are many more tickets than people, one index probe per person."""
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
