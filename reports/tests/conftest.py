"""Build a ticket history with exact timestamps, through the real services.

Every change goes through the service that records it (ticket_create, Ticket.update_status,
message_send), then its timestamps are moved with a queryset update, keeping the recorded facts
consistent: `closed_at` is the time of the latest close, `first_response_at` the time of the
first public staff reply.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db.models import Max

from accounts.models import User
from messaging.models import Message
from reports.periods import Period
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_assign


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


class History:
    def __init__(self, make_ticket, make_message, actor) -> None:
        self._make_ticket = make_ticket
        self._make_message = make_message
        self.actor = actor

    def ticket(self, reporter, created: datetime, **fields) -> Ticket:
        ticket = self._make_ticket(reporter, **fields)
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=created, modified_at=created, last_activity_at=created
        )
        ticket.refresh_from_db()
        return ticket

    def status(self, ticket: Ticket, new_status: str, when: datetime, by=None) -> TicketEvent:
        event = ticket.update_status(new_status, by=by or self.actor)
        assert event is not None, f"{ticket} is already {new_status}"
        TicketEvent.objects.filter(pk=event.pk).update(created_at=when)
        closed_at = when if new_status == Ticket.Status.CLOSED else None
        Ticket.objects.filter(pk=ticket.pk).update(closed_at=closed_at)
        ticket.refresh_from_db()
        event.refresh_from_db()
        return event

    def close(self, ticket: Ticket, when: datetime, by=None) -> TicketEvent:
        return self.status(ticket, Ticket.Status.CLOSED, when, by)

    def reopen(self, ticket: Ticket, when: datetime, by=None) -> TicketEvent:
        return self.status(ticket, Ticket.Status.OPEN, when, by)

    def activate(self, ticket: Ticket, when: datetime, by=None) -> TicketEvent:
        return self.status(ticket, Ticket.Status.ACTIVE, when, by)

    def reply(self, ticket: Ticket, sender, when: datetime, *, internal: bool = False) -> Message:
        """A message at `when`; if it is the ticket's first response, that moves to `when` too."""
        had_response = ticket.first_response_at is not None
        message = self._make_message(ticket, sender, "A reply.", is_internal=internal)
        Message.objects.filter(pk=message.pk).update(created_at=when)
        ticket.refresh_from_db()
        if not had_response and ticket.first_response_at is not None:
            Ticket.objects.filter(pk=ticket.pk).update(first_response_at=when)
            ticket.refresh_from_db()
        return message

    def assign(self, ticket: Ticket, assignee, when: datetime) -> None:
        """Assign through the service (which may also make the ticket active), at `when`."""
        last = TicketEvent.objects.filter(ticket=ticket).aggregate(last=Max("pk"))["last"] or 0
        ticket_assign(ticket=ticket, assignee=assignee, by=self.actor)
        TicketEvent.objects.filter(ticket=ticket, pk__gt=last).update(created_at=when)
        ticket.refresh_from_db()

    def respond(self, ticket: Ticket, responder, after) -> Message:
        """The first public staff reply, `after` (a timedelta) the ticket's creation."""
        return self.reply(ticket, responder, ticket.created_at + after)


@pytest.fixture(autouse=True)
def _utc_site(settings):
    """Reports are computed in TIME_ZONE: pin it, whatever the environment says."""
    settings.TIME_ZONE = "UTC"


@pytest.fixture
def history(make_ticket, make_message, agent) -> History:
    return History(make_ticket, make_message, agent)


# The period most tests report on, the one before it, and a fixed "now" after both.
PERIOD = Period.from_dates(date(2025, 1, 6), date(2025, 1, 12))
NOW = utc(2025, 1, 20, 12)
H, D = timedelta(hours=1), timedelta(days=1)

# What BUSY reports for PERIOD (and for the period before it), by METRICS.md.
BUSY_METRICS = {
    "created": (5, 2),
    "closed": (4, 1),  # t2 was closed twice
    "backlog": (3, 1),  # at the end: t3 active, t4 and p2 open; at the start: p2
    "frt_median": (1 * H, 30 * timedelta(minutes=1)),  # of 30m, 1h, 4h, 10h
    "frt_p90": (10 * H, 30 * timedelta(minutes=1)),
    "resolution_median": (2 * D, 2 * D),  # of 1d, 2d (t5, reopened later), 3d
    "resolution_p90": (3 * D, 2 * D),
    "reopen_rate": (2 / 3, 0.0),  # t2 and t5 of t1, t2, t5
    "awaiting_first_response": (2, None),  # t4 and p2, now
}


@pytest.fixture
def busy(history, customer, other_customer, agent, other_agent) -> dict:
    """A week of work in PERIOD and a little in the week before, with known metrics."""
    User.objects.filter(pk=customer.pk).update(date_joined=utc(2025, 1, 6, 10))
    User.objects.filter(pk=other_customer.pk).update(date_joined=utc(2025, 1, 8, 10))
    # The week before: answered in 30 minutes and closed in two days; one never answered.
    p1 = history.ticket(customer, utc(2024, 12, 31, 9))
    history.respond(p1, agent, 30 * timedelta(minutes=1))
    history.close(p1, utc(2025, 1, 2, 9))
    p2 = history.ticket(customer, utc(2025, 1, 3, 9))
    # The period.
    t1 = history.ticket(customer, utc(2025, 1, 6, 9))
    history.respond(t1, agent, H)
    history.close(t1, utc(2025, 1, 7, 9))
    t2 = history.ticket(other_customer, utc(2025, 1, 7, 10), priority="high")
    history.respond(t2, other_agent, 4 * H)
    history.close(t2, utc(2025, 1, 8, 10))
    history.reopen(t2, utc(2025, 1, 9, 10))
    history.close(t2, utc(2025, 1, 10, 10))
    t3 = history.ticket(customer, utc(2025, 1, 8, 12), priority="urgent")
    history.assign(t3, agent, utc(2025, 1, 8, 12, 15))
    history.respond(t3, agent, 30 * timedelta(minutes=1))
    t4 = history.ticket(customer, utc(2025, 1, 9, 12))
    t5 = history.ticket(customer, utc(2025, 1, 10, 8))
    history.respond(t5, other_agent, 10 * H)
    history.close(t5, utc(2025, 1, 12, 8))
    history.reopen(t5, utc(2025, 1, 15, 8))
    return {"p1": p1, "p2": p2, "t1": t1, "t2": t2, "t3": t3, "t4": t4, "t5": t5}
