"""close_stale_tickets, the service: what the command tests cannot reach."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tickets.housekeeping import (
    CLOSED,
    SKIPPED_CHANGED,
    WOULD_CLOSE,
    _close,
    close_stale_tickets,
    closing_message,
    stale_tickets,
)
from tickets.models import Ticket
from tickets.services import ticket_assign


@pytest.fixture
def answered(ticket, agent, make_message):
    """An active ticket whose last public message is the agent's reply, written just now."""
    ticket_assign(ticket=ticket, assignee=agent, by=agent)
    make_message(ticket, agent, "Have you tried turning it off?")
    ticket.refresh_from_db()
    return ticket


def test_now_sets_the_clock_the_days_are_counted_from(answered):
    in_three_days = timezone.now() + timedelta(days=3)
    assert close_stale_tickets(days=3, now=in_three_days - timedelta(minutes=1)) == []
    [ticket] = close_stale_tickets(days=3, now=in_three_days, dry_run=True)
    assert ticket.outcome == WOULD_CLOSE
    [ticket] = close_stale_tickets(days=3, now=in_three_days)
    assert ticket.outcome == CLOSED
    answered.refresh_from_db()
    assert answered.status == Ticket.Status.CLOSED


@pytest.mark.parametrize("days", [0, -1])
def test_days_below_one_are_refused(answered, days):
    with pytest.raises(ValidationError):
        close_stale_tickets(days=days, now=timezone.now() + timedelta(days=30))
    answered.refresh_from_db()
    assert answered.status == Ticket.Status.ACTIVE


def test_more_days_than_the_calendar_has_find_no_ticket(answered):
    assert list(stale_tickets(days=999_999_999)) == []
    assert close_stale_tickets(days=999_999_999) == []
    answered.refresh_from_db()
    assert answered.status == Ticket.Status.ACTIVE


def test_a_ticket_that_got_a_reply_after_it_was_selected_is_left_open(
    answered, customer, agent, make_message
):
    later = timezone.now() + timedelta(days=8)
    [selected] = stale_tickets(days=7, now=later)
    make_message(answered, customer, "Sorry, I was away. Still broken.")

    assert _close(selected, sender=agent, content=closing_message(7)) == SKIPPED_CHANGED

    answered.refresh_from_db()
    assert answered.status == Ticket.Status.ACTIVE
    assert answered.messages.order_by("pk").last().sender == customer


def test_the_message_says_one_day_in_the_singular():
    assert "no reply for 1 day." in closing_message(1)
    assert "no reply for 14 days." in closing_message(14)
