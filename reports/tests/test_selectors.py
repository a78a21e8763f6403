"""Every metric of METRICS.md against a small hand-built history with known answers.

The main period is Monday 6 to Sunday 12 January 2025 (UTC unless a test says otherwise),
computed at a fixed `now`, so no result depends on the clock.
"""

import math
from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from reports import selectors
from reports.periods import Period, site_tz
from tickets.models import Category, Ticket
from tickets.services import ticket_assign, ticket_set_category

from .conftest import NOW, PERIOD, D, H, utc


def without_histogram(stats: dict) -> dict:
    """The numbers; the histograms have tests of their own."""
    return {key: value for key, value in stats.items() if key != "histogram"}


def day_starts(first: date, days: int) -> list[datetime]:
    tz = site_tz()
    return [datetime(first.year, first.month, first.day, tzinfo=tz) + n * D for n in range(days)]


def counts_now() -> dict[str, int]:
    """Open and active tickets now: where every backlog replay starts."""
    return selectors.open_work_now(NOW)["counts"]


def nearest_rank(values: list, p: float):
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p * len(ordered))) - 1]


# --- periods ---------------------------------------------------------------------------------


def test_period_from_dates_includes_both_days_in_utc():
    assert PERIOD.start == utc(2025, 1, 6)
    assert PERIOD.end == utc(2025, 1, 13)
    assert (PERIOD.first_day, PERIOD.last_day) == (date(2025, 1, 6), date(2025, 1, 12))


def test_period_from_dates_starts_at_local_midnight_in_paris(settings):
    settings.TIME_ZONE = "Europe/Paris"
    period = Period.from_dates(date(2025, 1, 6), date(2025, 1, 7))
    assert period.start == utc(2025, 1, 5, 23)
    assert period.end == utc(2025, 1, 7, 23)
    assert (period.first_day, period.last_day) == (date(2025, 1, 6), date(2025, 1, 7))


def test_previous_period_has_the_same_number_of_days():
    previous = PERIOD.previous()
    assert (previous.first_day, previous.last_day) == (date(2024, 12, 30), date(2025, 1, 5))
    assert previous.end == PERIOD.start


def test_period_refuses_an_empty_range():
    with pytest.raises(ValueError, match="empty"):
        Period.from_dates(date(2025, 1, 7), date(2025, 1, 6))


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (date(9999, 12, 30), date(9999, 12, 31)),  # its end would be past the calendar
        (date(1, 1, 1), date(1, 1, 7)),  # the period before it would be
        (date(1, 3, 1), date(1, 3, 1)),
        (date(2, 1, 1), date(3, 1, 1)),
    ],
)
def test_period_refuses_days_too_near_the_ends_of_the_calendar(first, last):
    with pytest.raises(ValueError, match="must lie between"):
        Period.from_dates(first, last, "month")


def test_a_period_near_the_ends_of_the_calendar_has_buckets_and_a_previous_period(settings):
    settings.TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: midnight is the day before in UTC
    first = Period.from_dates(date(1, 3, 8), date(1, 3, 14), "month")
    assert first.previous().first_day == date(1, 3, 1)
    assert first.previous().bucket_starts()[0].date() == date(1, 3, 1)
    last = Period.from_dates(date(9999, 11, 1), date(9999, 11, 30), "month")
    assert last.bucket_starts()[-1].date() == date(9999, 11, 1)
    assert last.previous().last_day == date(9999, 10, 31)


# --- volume ----------------------------------------------------------------------------------


def test_created_per_bucket_counts_tickets_created_in_each_day(history, customer):
    for moment in [
        utc(2025, 1, 5, 23, 59, 59),  # before the period
        utc(2025, 1, 6, 0, 0),
        utc(2025, 1, 6, 23, 59),
        utc(2025, 1, 8, 12),
        utc(2025, 1, 12, 23, 59, 59),
        utc(2025, 1, 13, 0, 0),  # the end is excluded
    ]:
        history.ticket(customer, moment)

    assert selectors.created_per_bucket(PERIOD) == list(
        zip(day_starts(date(2025, 1, 6), 7), [2, 0, 1, 0, 0, 0, 1], strict=True)
    )
    assert selectors.created_count(PERIOD) == 4


def test_closed_per_bucket_counts_close_events_so_a_ticket_closed_twice_counts_twice(
    history, customer
):
    twice = history.ticket(customer, utc(2025, 1, 2))
    history.close(twice, utc(2025, 1, 7, 9))
    history.reopen(twice, utc(2025, 1, 7, 10))
    history.close(twice, utc(2025, 1, 9, 9))
    once = history.ticket(customer, utc(2025, 1, 2))
    history.close(once, utc(2025, 1, 9, 18))
    outside = history.ticket(customer, utc(2025, 1, 2))
    history.close(outside, utc(2025, 1, 13, 0))

    assert selectors.closed_per_bucket(PERIOD) == list(
        zip(day_starts(date(2025, 1, 6), 7), [0, 1, 0, 2, 0, 0, 0], strict=True)
    )
    assert selectors.closed_count(PERIOD) == 3


def test_weekly_buckets_start_on_monday(history, customer):
    period = Period.from_dates(date(2025, 1, 1), date(2025, 1, 14), "week")
    for moment in [utc(2025, 1, 1), utc(2025, 1, 5, 23), utc(2025, 1, 12), utc(2025, 1, 14)]:
        history.ticket(customer, moment)

    assert selectors.created_per_bucket(period) == [
        (datetime(2024, 12, 30, tzinfo=site_tz()), 2),
        (datetime(2025, 1, 6, tzinfo=site_tz()), 1),
        (datetime(2025, 1, 13, tzinfo=site_tz()), 1),
    ]


def test_bucket_edges_follow_midnight_in_the_site_time_zone(settings, history, customer):
    settings.TIME_ZONE = "Europe/Paris"  # UTC+1 in January
    period = Period.from_dates(date(2025, 1, 6), date(2025, 1, 7))
    history.ticket(customer, utc(2025, 1, 5, 22, 59))  # 23:59 on the 5th in Paris: outside
    history.ticket(customer, utc(2025, 1, 5, 23, 0))  # midnight on the 6th in Paris
    late = history.ticket(customer, utc(2025, 1, 6, 23, 30))  # 00:30 on the 7th in Paris
    history.close(late, utc(2025, 1, 6, 23, 45))

    paris_days = day_starts(date(2025, 1, 6), 2)
    assert paris_days[0] == utc(2025, 1, 5, 23)
    assert selectors.created_per_bucket(period) == list(zip(paris_days, [1, 1], strict=True))
    assert selectors.closed_per_bucket(period) == list(zip(paris_days, [0, 1], strict=True))
    assert selectors.created_count(period) == 2


def test_buckets_are_site_days_whatever_time_zone_is_active(settings, history, customer):
    settings.TIME_ZONE = "Europe/Paris"
    history.ticket(customer, utc(2025, 1, 6, 23, 30))  # the 7th in Paris, the 6th in New York
    period = Period.from_dates(date(2025, 1, 6), date(2025, 1, 7))
    with timezone.override("America/New_York"):
        assert [n for _, n in selectors.created_per_bucket(period)] == [0, 1]


def test_the_same_ticket_falls_on_its_utc_day_when_the_site_is_in_utc(history, customer):
    history.ticket(customer, utc(2025, 1, 6, 23, 30))
    period = Period.from_dates(date(2025, 1, 6), date(2025, 1, 7))
    assert [n for _, n in selectors.created_per_bucket(period)] == [1, 0]


def test_bucket_edges_across_the_daylight_saving_change(settings, history, customer):
    settings.TIME_ZONE = "Europe/Paris"  # clocks go forward on 30 March 2025
    period = Period.from_dates(date(2025, 3, 29), date(2025, 3, 31))
    history.ticket(customer, utc(2025, 3, 29, 22, 59))  # 23:59 on the 29th (UTC+1)
    history.ticket(customer, utc(2025, 3, 29, 23, 0))  # midnight on the 30th (UTC+1)
    history.ticket(customer, utc(2025, 3, 30, 22, 30))  # 00:30 on the 31st (UTC+2)

    starts = [start for start, _ in selectors.created_per_bucket(period)]
    assert starts == [utc(2025, 3, 28, 23), utc(2025, 3, 29, 23), utc(2025, 3, 30, 22)]
    assert [n for _, n in selectors.created_per_bucket(period)] == [1, 1, 1]
    assert period.end == utc(2025, 3, 31, 22)


# --- backlog ---------------------------------------------------------------------------------


@pytest.fixture
def backlog_history(history, customer):
    """Eight tickets whose status at any instant is known (see each comment)."""
    a = history.ticket(customer, utc(2025, 1, 1))  # open throughout
    b = history.ticket(customer, utc(2025, 1, 2))
    history.close(b, utc(2025, 1, 15))  # open until the 15th
    c = history.ticket(customer, utc(2025, 1, 3))
    history.activate(c, utc(2025, 1, 4))
    history.close(c, utc(2025, 1, 12, 9))  # active from the 4th to the 12th
    history.ticket(customer, utc(2025, 1, 11, 10))  # d: created on the 11th, open since
    e = history.ticket(customer, utc(2025, 1, 2))
    history.close(e, utc(2025, 1, 5))
    history.reopen(e, utc(2025, 1, 8, 10))  # closed from the 5th to the 8th
    f = history.ticket(customer, utc(2025, 1, 2))
    history.close(f, utc(2025, 1, 6, 10))  # closed since the 6th
    g = history.ticket(customer, utc(2025, 1, 2))
    history.close(g, utc(2025, 1, 4))
    history.reopen(g, utc(2025, 1, 14))  # closed from the 4th to the 14th
    h = history.ticket(customer, utc(2025, 1, 2))
    history.activate(h, utc(2025, 1, 3))
    history.status(h, Ticket.Status.OPEN, utc(2025, 1, 9, 10))  # active from the 3rd to the 9th
    return {"a": a}


def test_open_and_active_counts_now(backlog_history):
    # Only what the backlog replays from: closed tickets are not counted (it would cost a scan).
    assert counts_now() == {"open": 5, "active": 0}


def test_backlog_at_a_past_instant_is_rebuilt_from_the_events(backlog_history):
    counts = counts_now()
    # At noon on the 10th: a, b (closed later), e (reopened before) and h are open; c is
    # active; d (created later), f (closed) and g (reopened later) are not in the backlog.
    assert selectors.backlog_at(utc(2025, 1, 10, 12), NOW, counts) == {"open": 4, "active": 1}
    # Before anything in the period happened.
    assert selectors.backlog_at(utc(2025, 1, 2, 12), NOW, counts) == {"open": 6, "active": 0}


def test_backlog_at_or_after_now_is_the_current_count(backlog_history):
    counts = counts_now()
    assert selectors.backlog_at(NOW, NOW, counts) == {"open": 5, "active": 0}
    assert selectors.backlog_at(NOW + D, NOW, counts) == {"open": 5, "active": 0}


def test_backlog_series_is_the_backlog_at_the_end_of_each_day(backlog_history):
    flows = selectors.status_flows(PERIOD, NOW)
    series = selectors.backlog_series(PERIOD, NOW, flows, counts_now())

    assert [row["bucket"] for row in series] == day_starts(date(2025, 1, 6), 7)
    assert [(row["open"], row["active"]) for row in series] == [
        (2, 2),  # 6th: a, b open; c, h active (e, f, g closed)
        (2, 2),
        (3, 2),  # 8th: e reopened
        (4, 1),  # 9th: h back to open
        (4, 1),
        (5, 1),  # 11th: d created
        (5, 0),  # 12th: c closed
    ]


def test_backlog_series_agrees_with_backlog_at_each_bucket_end(backlog_history):
    counts = counts_now()
    series = selectors.backlog_series(PERIOD, NOW, selectors.status_flows(PERIOD, NOW), counts)
    for row in series:
        # The state at the end of the day: every event before the next midnight.
        instant = row["bucket"] + D - timedelta(microseconds=1)
        expected = selectors.backlog_at(instant, NOW, counts)
        assert {"open": row["open"], "active": row["active"]} == expected, row["bucket"]


def test_backlog_series_by_week(backlog_history):
    period = Period.from_dates(date(2025, 1, 6), date(2025, 1, 19), "week")
    series = selectors.backlog_series(
        period, NOW, selectors.status_flows(period, NOW), counts_now()
    )
    # End of the week of the 6th (the 12th): as above; end of the next (the 19th): as now.
    assert [(row["open"], row["active"]) for row in series] == [(5, 0), (5, 0)]


def test_backlog_series_for_a_period_that_runs_past_now_shows_now(history, customer):
    # The period's last day is today: its bucket shows the backlog now.
    now = utc(2025, 1, 12, 15)
    opened = history.ticket(customer, utc(2025, 1, 12, 9))
    history.activate(opened, utc(2025, 1, 12, 10))
    history.ticket(customer, utc(2025, 1, 11, 9))
    period = Period.from_dates(date(2025, 1, 10), date(2025, 1, 12))
    series = selectors.backlog_series(
        period, now, selectors.status_flows(period, now), counts_now()
    )
    assert [(row["open"], row["active"]) for row in series] == [(0, 0), (1, 0), (1, 1)]


# --- first response --------------------------------------------------------------------------


@pytest.fixture
def response_history(history, customer, other_customer, agent, other_agent):
    # First responses of 1h, 2h, 3h and 10h: nearest-rank median 2h (not 2.5h), p90 10h.
    one = history.ticket(customer, utc(2025, 1, 6, 9))
    history.reply(one, customer, utc(2025, 1, 6, 9, 30))  # the reporter: not a response
    history.respond(one, agent, 1 * H)
    two = history.ticket(other_customer, utc(2025, 1, 7, 9))
    history.respond(two, other_agent, 2 * H)
    noted = history.ticket(customer, utc(2025, 1, 8, 9))
    history.reply(noted, agent, utc(2025, 1, 8, 9, 5), internal=True)  # a note: not a response
    history.respond(noted, agent, 3 * H)
    late = history.ticket(customer, utc(2025, 1, 12, 20))
    history.respond(late, agent, 10 * H)  # answered after the period: still counts
    # Created before the period: not counted, although answered inside it.
    before = history.ticket(customer, utc(2025, 1, 5, 23))
    history.respond(before, agent, timedelta(minutes=1))
    # A staff member's own ticket: their reply is not a response; it is awaiting one.
    own = history.ticket(agent, utc(2025, 1, 9, 9))
    history.reply(own, agent, utc(2025, 1, 9, 10))
    # No staff reply yet: awaiting, unless closed.
    waiting = history.ticket(other_customer, utc(2025, 1, 10, 9))
    history.reply(waiting, other_customer, utc(2025, 1, 10, 10))
    closed = history.ticket(customer, utc(2025, 1, 10, 9))
    history.close(closed, utc(2025, 1, 11, 9))
    return {"noted": noted, "own": own, "waiting": waiting, "closed": closed}


def test_first_response_is_set_by_the_first_public_staff_reply(response_history):
    noted, own = response_history["noted"], response_history["own"]
    assert noted.first_response_at == noted.created_at + 3 * H
    assert own.first_response_at is None


def test_first_response_time_is_a_nearest_rank_median_and_p90(response_history):
    assert without_histogram(selectors.first_response(PERIOD)) == {
        "count": 4,
        "median": 2 * H,
        "p90": 10 * H,
        "awaiting": 2,  # "own" and "waiting"; "closed" is not awaiting
    }


def test_first_response_histogram(response_history):
    assert selectors.first_response(PERIOD)["histogram"] == [
        ("<1h", 0),
        ("1-4h", 3),
        ("4-24h", 1),
        ("1-3d", 0),
        (">3d", 0),
    ]


def test_first_response_over_a_period_without_tickets_is_no_data(response_history):
    period = Period.from_dates(date(2025, 2, 1), date(2025, 2, 7))
    assert without_histogram(selectors.first_response(period)) == {
        "count": 0,
        "median": None,
        "p90": None,
        "awaiting": 0,
    }


# --- resolution ------------------------------------------------------------------------------


@pytest.fixture
def resolution_history(history, customer):
    def ticket(created, *changes):
        item = history.ticket(customer, created)
        for change, when in changes:
            getattr(history, change)(item, when)
        return item

    return {
        # Closed in the period and still closed: 1 day; 3 days (created before the period).
        "one_day": ticket(utc(2025, 1, 6), ("close", utc(2025, 1, 7))),
        "from_before": ticket(utc(2025, 1, 5), ("close", utc(2025, 1, 8))),
        # Closed, then reopened inside the period: not resolved at its end.
        "reopened_inside": ticket(
            utc(2025, 1, 6), ("close", utc(2025, 1, 7)), ("reopen", utc(2025, 1, 9))
        ),
        # Closed in the period, reopened after its end (and closed again later): 4 days, by
        # the close in the period, not the later one.
        "reopened_after_and_reclosed": ticket(
            utc(2025, 1, 6),
            ("close", utc(2025, 1, 10)),
            ("reopen", utc(2025, 1, 14)),
            ("close", utc(2025, 1, 16)),
        ),
        # Closed in the period, reopened after its end and still open: 5 days.
        "reopened_after": ticket(
            utc(2025, 1, 6, 12), ("close", utc(2025, 1, 11, 12)), ("reopen", utc(2025, 1, 15))
        ),
        # Closed, reopened and closed again inside the period: the latest close, 6 days.
        "reclosed_inside": ticket(
            utc(2025, 1, 6),
            ("close", utc(2025, 1, 7)),
            ("reopen", utc(2025, 1, 8)),
            ("close", utc(2025, 1, 12)),
        ),
        # Not closed at the period's end: excluded.
        "closed_after": ticket(utc(2025, 1, 6), ("close", utc(2025, 1, 13))),
        "reopened_inside_closed_after": ticket(
            utc(2025, 1, 6),
            ("close", utc(2025, 1, 10)),
            ("reopen", utc(2025, 1, 11)),
            ("close", utc(2025, 1, 13)),
            ("reopen", utc(2025, 1, 15)),
        ),
    }


def test_resolution_is_over_tickets_closed_in_the_period_and_still_closed_at_its_end(
    resolution_history,
):
    close_times = {}
    for queryset, duration in selectors._resolved_parts(PERIOD, NOW):
        # A part lists tickets, or (the replay of those reopened since) their closes.
        fields = (
            ("pk", "created_at") if queryset.model is Ticket else ("ticket", "ticket__created_at")
        )
        for pk, created_at, took in queryset.annotate(took=duration).values_list(*fields, "took"):
            assert pk not in close_times  # the parts do not overlap
            close_times[pk] = created_at + took
    names = {item.pk: name for name, item in resolution_history.items()}
    assert {names[pk]: when for pk, when in close_times.items()} == {
        "one_day": utc(2025, 1, 7),
        "from_before": utc(2025, 1, 8),
        "reopened_after_and_reclosed": utc(2025, 1, 10),
        "reopened_after": utc(2025, 1, 11, 12),
        "reclosed_inside": utc(2025, 1, 12),
    }


def test_resolution_median_and_p90(resolution_history):
    # 1, 3, 4, 5 and 6 days.
    assert without_histogram(selectors.resolution(PERIOD, NOW)) == {
        "count": 5,
        "median": 4 * D,
        "p90": 6 * D,
    }


def test_resolution_histogram_uses_the_close_in_the_period(resolution_history):
    # The ticket closed again on the 16th is 4 days by its close in the period, not 10.
    assert selectors.resolution(PERIOD, NOW)["histogram"] == [
        ("<1d", 0),
        ("1-3d", 1),
        ("3-7d", 4),
        ("7-30d", 0),
        (">30d", 0),
    ]


def test_resolution_for_a_period_ending_now_uses_closed_at(history, customer):
    now = utc(2025, 1, 12, 18)
    period = Period(utc(2025, 1, 6), now)
    done = history.ticket(customer, utc(2025, 1, 6))
    history.close(done, utc(2025, 1, 8))
    back = history.ticket(customer, utc(2025, 1, 6))
    history.close(back, utc(2025, 1, 7))
    history.reopen(back, utc(2025, 1, 12, 9))
    assert without_histogram(selectors.resolution(period, NOW)) == {
        "count": 1,
        "median": 2 * D,
        "p90": 2 * D,
    }


# --- reopen rate -----------------------------------------------------------------------------


def test_reopen_rate_counts_tickets_not_events(history, customer):
    twice = history.ticket(customer, utc(2025, 1, 2))
    history.close(twice, utc(2025, 1, 7))
    history.reopen(twice, utc(2025, 1, 8))
    history.close(twice, utc(2025, 1, 9))
    history.reopen(twice, utc(2025, 1, 10))
    later = history.ticket(customer, utc(2025, 1, 2))
    history.close(later, utc(2025, 1, 8))
    history.reopen(later, utc(2025, 1, 15))  # after the period: still "later reopened"
    stays = history.ticket(customer, utc(2025, 1, 2))
    history.close(stays, utc(2025, 1, 9))
    # Closed before the period and reopened in it: not a close in the period.
    before = history.ticket(customer, utc(2025, 1, 2))
    history.close(before, utc(2025, 1, 4))
    history.reopen(before, utc(2025, 1, 7))
    after = history.ticket(customer, utc(2025, 1, 2))
    history.close(after, utc(2025, 1, 13))

    result = selectors.reopen_rate(PERIOD)
    assert result == {"closed": 3, "reopened": 2, "rate": pytest.approx(2 / 3)}


def test_reopen_rate_does_not_count_a_reopen_before_the_close_in_the_period(history, customer):
    item = history.ticket(customer, utc(2025, 1, 2))
    history.close(item, utc(2025, 1, 4))
    history.reopen(item, utc(2025, 1, 5))
    history.close(item, utc(2025, 1, 7))  # closed in the period and never reopened since
    assert selectors.reopen_rate(PERIOD) == {"closed": 1, "reopened": 0, "rate": 0.0}


def test_reopen_rate_is_none_without_closes(history, customer):
    history.ticket(customer, utc(2025, 1, 7))
    assert selectors.reopen_rate(PERIOD) == {"closed": 0, "reopened": 0, "rate": None}


# --- open work now ---------------------------------------------------------------------------


def test_age_of_open_work_relative_to_now(history, customer):
    for age in [H, D, 2 * D, 5 * D, 10 * D, 40 * D]:
        history.ticket(customer, NOW - age)
    closed = history.ticket(customer, NOW - 2 * D)
    history.close(closed, NOW - D)
    active = history.ticket(customer, NOW - 6 * D)
    history.activate(active, NOW - 5 * D)

    assert selectors.open_work_now(NOW)["age"] == [
        ("<1d", 1),
        ("1-3d", 2),  # exactly one day old is no longer "<1d"
        ("3-7d", 2),  # active tickets are open work too
        ("7-30d", 1),
        (">30d", 1),
    ]


def test_age_of_open_work_at_the_edges_of_each_bucket(history, customer):
    """The counts come from quarter-hour slots; the slots an edge cuts are looked at ticket by
    ticket. A "now" in the middle of a slot puts tickets on both sides of every edge in it."""
    now = NOW + timedelta(minutes=7, seconds=30)
    tick = timedelta(microseconds=1)
    expected = dict.fromkeys(["<1d", "1-3d", "3-7d", "7-30d", ">30d"], 0)
    for label, edge, newer in [
        ("<1d", timedelta(0), None),
        ("1-3d", D, "<1d"),
        ("3-7d", 3 * D, "1-3d"),
        ("7-30d", 7 * D, "3-7d"),
        (">30d", 30 * D, "7-30d"),
    ]:
        history.ticket(customer, now - edge)  # exactly `edge` old: the older bucket
        history.ticket(customer, now - edge - tick)
        history.ticket(customer, now - edge - 5 * timedelta(minutes=1))  # same slot, older
        expected[label] += 3
        if newer:
            history.ticket(customer, now - edge + tick)
            history.ticket(customer, now - edge + 5 * timedelta(minutes=1))  # same slot, newer
            expected[newer] += 2
    # Created after `now` (a report computed against an earlier instant): not open work yet.
    history.ticket(customer, now + tick)
    history.ticket(customer, now + D)
    closed = history.ticket(customer, now - 2 * D)
    history.close(closed, now - D)

    work = selectors.open_work_now(now)
    assert work["age"] == list(expected.items())
    assert work["counts"] == {"open": sum(expected.values()) + 2, "active": 0}


def test_awaiting_first_response_lists_the_oldest_first(history, customer, agent):
    newest = history.ticket(customer, NOW - H, title="Newest")
    oldest = history.ticket(customer, NOW - 3 * D, title="Oldest")
    middle = history.ticket(customer, NOW - D, title="Middle")
    answered = history.ticket(customer, NOW - 5 * D)
    history.respond(answered, agent, H)
    closed = history.ticket(customer, NOW - 6 * D)
    history.close(closed, NOW - 5 * D)

    result = selectors.awaiting_first_response(NOW, limit=2)
    assert result["count"] == 3
    assert result["oldest"] == [
        {"id": oldest.pk, "title": "Oldest", "age": 3 * D},
        {"id": middle.pk, "title": "Middle", "age": D},
    ]
    assert newest.pk not in [row["id"] for row in result["oldest"]]


def test_workload_per_assignee_includes_idle_staff_and_unassigned(
    history, make_user, customer, agent, other_agent, admin_user
):
    former = make_user("former", staff=True)
    inactive = make_user("inactive_agent", staff=True)
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    for assignee in [agent, agent, admin_user, former, None, None, None]:
        item = history.ticket(customer, utc(2025, 1, 6))
        if assignee is not None:
            ticket_assign(ticket=item, assignee=assignee, by=agent)
    done = history.ticket(customer, utc(2025, 1, 6))
    ticket_assign(ticket=done, assignee=agent, by=agent)
    history.close(done, utc(2025, 1, 7))
    User.objects.filter(pk=former.pk).update(is_staff=False)  # left, still holds a ticket

    assert selectors.workload() == [
        ("agent", 2),
        ("admin", 1),
        ("former", 1),
        ("other_agent", 0),
        ("(unassigned)", 3),
    ]


def test_created_by_status_and_priority(history, customer, agent):
    history.ticket(customer, utc(2025, 1, 6), priority="low")
    history.ticket(customer, utc(2025, 1, 7), priority="high")
    active = history.ticket(customer, utc(2025, 1, 8), priority="urgent")
    history.activate(active, utc(2025, 1, 8, 1))
    closed = history.ticket(customer, utc(2025, 1, 9))
    history.close(closed, utc(2025, 1, 9, 1))
    history.ticket(customer, utc(2025, 1, 13), priority="urgent")  # outside

    assert selectors.created_summary(PERIOD) == {
        "by_status": [("open", 2), ("active", 1), ("closed", 1)],
        "by_priority": [("low", 1), ("normal", 1), ("high", 1), ("urgent", 1)],
        "awaiting": 3,  # the two open and the active one: none has a first response
    }


def test_created_by_category(history, customer, agent):
    zeta, alpha, empty = (Category.objects.create(name=n) for n in ("zeta", "Alpha", "Empty"))
    history.ticket(customer, utc(2025, 1, 6), category=zeta)
    history.ticket(customer, utc(2025, 1, 7), category=alpha)
    moved = history.ticket(customer, utc(2025, 1, 8), category=zeta)
    ticket_set_category(ticket=moved, category=alpha, by=agent)  # counts where it is now
    history.ticket(customer, utc(2025, 1, 9))
    history.ticket(customer, utc(2025, 1, 13), category=empty)  # outside

    with CaptureQueriesContext(connection) as queries:
        rows = selectors.created_by_category(PERIOD)

    assert rows == [("Alpha", 2), ("zeta", 1), ("(no category)", 1)]
    assert len(queries) == 2
    empty_period = Period.from_dates(date(2024, 1, 1), date(2024, 1, 2))
    assert selectors.created_by_category(empty_period) == []


# --- users -----------------------------------------------------------------------------------


def test_registrations_per_bucket(make_user):
    for number, joined in enumerate(
        [utc(2025, 1, 6, 1), utc(2025, 1, 6, 23), utc(2025, 1, 9), utc(2025, 1, 13)]
    ):
        user = make_user(f"joined{number}")
        User.objects.filter(pk=user.pk).update(date_joined=joined)

    assert selectors.registrations_per_bucket(PERIOD) == list(
        zip(day_starts(date(2025, 1, 6), 7), [2, 0, 0, 1, 0, 0, 0], strict=True)
    )


def test_active_reporters_are_people_who_reported_in_the_period(
    history, customer, other_customer, agent
):
    history.ticket(customer, utc(2025, 1, 6))
    history.ticket(customer, utc(2025, 1, 7))
    history.ticket(other_customer, utc(2025, 1, 12, 23))
    history.ticket(agent, utc(2025, 1, 5))  # before the period

    assert selectors.active_reporters(PERIOD) == 2


@pytest.mark.parametrize("tickets_each", [1, 9])  # the distinct count, then one probe each
def test_active_reporters_with_few_or_many_tickets_per_person(
    history, customer, other_customer, agent, tickets_each
):
    for number in range(tickets_each):
        history.ticket(customer, utc(2025, 1, 6, number))
        history.ticket(other_customer, utc(2025, 1, 7, number))
    history.ticket(agent, utc(2025, 1, 13))  # after the period

    assert selectors.active_reporters(PERIOD) == 2


def test_user_totals_count_active_staff(customer, agent, other_agent, admin_user):
    User.objects.filter(pk=other_agent.pk).update(is_active=False)
    assert selectors.user_totals() == {"users": 4, "staff": 2}


# --- percentiles on both databases -----------------------------------------------------------

DURATIONS = [
    timedelta(seconds=45),
    timedelta(minutes=5),
    timedelta(minutes=17),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=9),
    timedelta(days=2),
    timedelta(days=2),  # a tie
    timedelta(days=3, minutes=1),
    timedelta(days=40),
]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 10])
def test_percentiles_agree_with_a_python_nearest_rank(history, customer, agent, size):
    durations = DURATIONS[:size][::-1]  # created in an order unrelated to the ranks
    for number, duration in enumerate(durations):
        item = history.ticket(customer, utc(2025, 1, 6) + number * H)
        history.respond(item, agent, duration)
    queryset = Ticket.objects.filter(first_response_at__isnull=False)
    duration = selectors.Elapsed(F("first_response_at"), F("created_at"))

    assert selectors.percentiles(queryset, duration) == {
        "count": size,
        "median": nearest_rank(durations, 0.5),
        "p90": nearest_rank(durations, 0.9),
    }


def test_percentiles_of_nothing_are_none(db):
    duration = selectors.Elapsed(F("first_response_at"), F("created_at"))
    assert selectors.percentiles(Ticket.objects.all(), duration) == {
        "count": 0,
        "median": None,
        "p90": None,
    }


def test_percentiles_rank_in_the_database(history, customer, agent):
    for number in range(5):
        history.respond(history.ticket(customer, utc(2025, 1, 6)), agent, (number + 1) * H)
    duration = selectors.Elapsed(F("first_response_at"), F("created_at"))
    with CaptureQueriesContext(connection) as queries:
        result = selectors.percentiles(Ticket.objects.all(), duration)
    assert (result["median"], result["p90"]) == (3 * H, 5 * H)
    sql = " ".join(query["sql"] for query in queries.captured_queries).lower()
    if connection.vendor == "postgresql":
        assert "percentile_disc" in sql
        assert len(queries) == 1
    else:
        # Ranked by a row number over SQLite's own arithmetic, not a Python function a row.
        assert "row_number() over (order by duration_value)" in sql
        assert "django_timestamp_diff" not in sql
        assert len(queries) == 1


def test_percentiles_keep_microseconds_apart_on_long_durations(history, customer, agent):
    # PostgreSQL ranks seconds as float8: a microsecond must still tell durations apart.
    long = timedelta(days=400, hours=5, minutes=7, seconds=11)
    durations = [long + timedelta(microseconds=n) for n in (2, 0, 1)]
    for number, duration in enumerate(durations):
        history.respond(history.ticket(customer, utc(2024, 1, 6) + number * H), agent, duration)
    duration = selectors.Elapsed(F("first_response_at"), F("created_at"))
    result = selectors.percentiles(Ticket.objects.all(), duration)
    assert (result["median"], result["p90"]) == (
        long + timedelta(microseconds=1),
        long + timedelta(microseconds=2),
    )


# --- every ticket's durations, read from their indexes ------------------------------------------

ALL_TIME = Period.from_dates(date(2024, 12, 1), date(2025, 2, 28), "month")
ALL_TIME_NOW = utc(2025, 2, 28, 12)
US = timedelta(microseconds=1)
# On, just off and between the edges of the first-response and resolution bins.
EDGY = [
    timedelta(0), US, 59 * timedelta(minutes=1), H, H + US, 3 * H, 4 * H, 4 * H - US, 5 * H,
    D - US, D, 2 * D, 3 * D, 3 * D + US, 7 * D, 10 * D, 30 * D, 40 * D,
]  # fmt: skip


def _spread(history, customer, agent, count: int) -> None:
    """`count` tickets in January 2025, each answered and most closed after an edgy time; one
    never answered, one closed and reopened (no resolution then)."""
    for number, duration in enumerate(EDGY[:count]):
        ticket = history.ticket(customer, utc(2025, 1, 1) + number * H)
        history.respond(ticket, agent, duration)
        if number % 4 != 3:
            history.close(ticket, ticket.created_at + EDGY[-1 - number])
    history.ticket(customer, utc(2025, 1, 2))
    reopened = history.ticket(customer, utc(2025, 1, 3))
    history.close(reopened, utc(2025, 1, 4))
    history.reopen(reopened, utc(2025, 1, 5))


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13, len(EDGY)])
def test_all_time_durations_from_the_indexes_match_the_ranking(
    history, customer, agent, monkeypatch, count
):
    _spread(history, customer, agent, count)
    assert selectors._holds_every("created_at", ALL_TIME, "first_response_at")
    assert selectors._holds_every("closed_at", ALL_TIME)
    with CaptureQueriesContext(connection) as queries:
        indexed = (
            selectors.first_response(ALL_TIME),
            selectors.resolution(ALL_TIME, ALL_TIME_NOW),
        )
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    assert "percentile_disc" not in sql and "ROW_NUMBER" not in sql  # nothing ranked
    assert "LIMIT 1 OFFSET" in sql

    monkeypatch.setattr(selectors, "_holds_every", lambda *args: False)
    ranked = (selectors.first_response(ALL_TIME), selectors.resolution(ALL_TIME, ALL_TIME_NOW))
    assert indexed == ranked
    assert indexed[0]["count"] == count


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("expression", "index"),
    [
        (selectors.FIRST_RESPONSE_TIME, "ticket_first_response_time"),
        (selectors.RESOLUTION_TIME, "ticket_resolution_time"),
    ],
)
def test_the_duration_queries_read_their_index(expression, index):
    """The index expressions (tickets migration 0008 on PostgreSQL, reports migration 0003 on
    SQLite) and the queries' must match to the letter, or the database sorts every row."""
    duration, rows = expression[connection.vendor]
    query = (
        f"SELECT {duration} FROM tickets_ticket WHERE {rows} AND {duration} >= %s "  # noqa: S608
        f"ORDER BY {duration} LIMIT 1 OFFSET 3"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Whether the index CAN serve the query, whatever the statistics another test left
            # (an ANALYZE of a few rows makes a scan and a sort look cheaper): no scan of the
            # table, no sort unless nothing else can give the order.
            for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                cursor.execute(f"SET LOCAL {setting} = off")
            cursor.execute(f"EXPLAIN {query}", [0])
            plan = " ".join(row[0] for row in cursor.fetchall())
            assert f"Index Only Scan using {index}" in plan
            assert "Sort" not in plan
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {query}", [0])
            plan = " ".join(row[-1] for row in cursor.fetchall())
            assert f"USING COVERING INDEX {index}" in plan
            assert "TEMP B-TREE" not in plan


def test_a_ticket_outside_the_period_means_ranking_the_periods_own(history, customer, agent):
    _spread(history, customer, agent, 3)
    before = history.ticket(customer, utc(2024, 11, 30, 23))
    history.respond(before, agent, H)
    history.close(before, utc(2024, 12, 3))
    assert not selectors._holds_every("created_at", ALL_TIME, "first_response_at")
    # Closed in the period, though created before it: every close is in the period.
    assert selectors._holds_every("closed_at", ALL_TIME)
    assert selectors.first_response(ALL_TIME)["count"] == 3


def test_durations_are_exact_to_the_microsecond_whatever_the_fractions(history, customer, agent):
    """Stored times with and without a fraction of a second, the end's fraction smaller than
    the start's: the same durations from the ranking, the indexes and Python."""
    starts = [
        utc(2024, 12, 31, 23, 59, 59, 999_999),
        utc(2025, 1, 2, 9),
        utc(2025, 1, 3, 9, 0, 0, 500_000),
    ]
    durations = [2 * US, D + 999_999 * US, 400 * D - US]
    for start, duration in zip(starts, durations, strict=True):
        item = history.ticket(customer, start)
        history.respond(item, agent, duration)
        history.close(item, start + duration + H)
    responded = Ticket.objects.filter(first_response_at__isnull=False)
    ranked = selectors.percentiles(
        responded, selectors.Elapsed(F("first_response_at"), F("created_at"))
    )
    assert ranked == {"count": 3, "median": durations[1], "p90": durations[2]}
    indexed = selectors.indexed_duration_stats(
        selectors.FIRST_RESPONSE_TIME, selectors.FIRST_RESPONSE_BINS
    )
    assert without_histogram(indexed) == ranked
    assert (
        responded.annotate(took=selectors.Elapsed(F("first_response_at"), F("created_at")))
        .order_by("created_at")
        .values_list("took", flat=True)[0]
        == durations[0]
    )


def test_workload_rows_are_the_agents_group_not_every_superuser(
    history, make_user, customer, agent, admin_user
):
    """A superuser who is not an agent and holds no open ticket is not a row; staff outside the
    group are not either; one who holds a ticket is (so every open ticket is counted)."""
    make_user("helper", staff=True).groups.clear()  # staff, not in the Agents group
    item = history.ticket(customer, utc(2025, 1, 6))
    ticket_assign(ticket=item, assignee=agent, by=agent)

    assert selectors.workload() == [("agent", 1), ("(unassigned)", 0)]

    ticket_assign(ticket=item, assignee=admin_user, by=admin_user)
    assert selectors.workload() == [("admin", 1), ("agent", 0), ("(unassigned)", 0)]
