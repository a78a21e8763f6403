"""Many agents changing the same ticket at once leave a consistent ticket and audit trail.

Status changes and assignments lock the ticket's row, so they are applied one at a time: the
status events form one unbroken chain, the ticket ends where its events say, and every applied
change bumps the version exactly once. This needs real row locks and real concurrent
connections, so it runs on PostgreSQL only.
"""

import random
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_assign

THREADS = 8
ITERATIONS = 10

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: concurrent connections and SELECT ... FOR UPDATE row locks",
    ),
    # Threads use their own connections, so the test must commit; serialized_rollback puts
    # back the "Agents" group (made by a data migration) after the flush, for later tests.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def run_concurrently(ticket_pk: int, agents: list) -> tuple[list[TicketEvent], list[Exception]]:
    """Start THREADS threads together, each trying ITERATIONS random changes on one ticket.

    Even-numbered threads change the status, odd-numbered ones the assignee. Returns the events
    the calls returned (the changes they applied) and any unexpected error.
    """
    barrier = threading.Barrier(THREADS, timeout=10)
    lock = threading.Lock()
    recorded: list[TicketEvent] = []
    errors: list[Exception] = []

    def work(number: int) -> None:
        rng = random.Random(number)
        try:
            barrier.wait()
            for _ in range(ITERATIONS):
                actor = rng.choice(agents)
                ticket = Ticket.objects.get(pk=ticket_pk)  # this thread's own, fresh instance
                try:
                    if number % 2 == 0:
                        # Any status: some moves are allowed, some are refused, some repeat.
                        event = ticket.update_status(rng.choice(Ticket.Status.values), by=actor)
                    else:
                        event = ticket_assign(
                            ticket=ticket, assignee=rng.choice([*agents, None]), by=actor
                        )
                except (ValidationError, PermissionDenied):
                    continue  # a refused move changes nothing
                if event is not None:
                    with lock:
                        recorded.append(event)
        except Exception as exc:
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return recorded, errors


def test_concurrent_status_changes_and_assignments_keep_the_ticket_consistent(
    make_ticket, customer, agent, other_agent, admin_user
):
    ticket = make_ticket(customer)
    agents = [agent, other_agent, admin_user]

    recorded, errors = run_concurrently(ticket.pk, agents)

    assert errors == []
    recorded_ids = {event.pk for event in recorded}
    assert len(recorded_ids) == len(recorded)
    assert {e.kind for e in recorded} == {TicketEvent.Kind.STATUS, TicketEvent.Kind.ASSIGNMENT}
    # Events are written only while the row is locked, so id order is the order of application.
    events = list(TicketEvent.objects.filter(ticket=ticket).order_by("pk"))
    stored = {event.pk: event for event in events}
    for event in recorded:
        assert event.pk in stored
        row = stored[event.pk]
        assert (row.kind, row.from_value, row.to_value) == (
            event.kind,
            event.from_value,
            event.to_value,
        )

    # Replay the trail: every step legal and unbroken. The only events no call returned are the
    # open -> active moves that assigning an open ticket makes, right after that assignment.
    status = Ticket.Status.OPEN
    assignee = ""
    activations_by_assignment = 0
    expect_activation_by = None
    for event in events:
        if expect_activation_by is not None:
            assert event.pk not in recorded_ids
            assert (event.kind, event.from_value, event.to_value) == ("status", "open", "active")
            assert event.actor_id == expect_activation_by
            activations_by_assignment += 1
            expect_activation_by = None
        else:
            assert event.pk in recorded_ids, f"event {event.pk} was applied but not returned"
        if event.kind == TicketEvent.Kind.STATUS:
            assert event.from_value == status, f"broken status chain at event {event.pk}"
            assert event.to_value in Ticket.TRANSITIONS[event.from_value]
            status = event.to_value
        else:
            assert event.kind == TicketEvent.Kind.ASSIGNMENT
            assert event.from_value == assignee, f"broken assignment chain at event {event.pk}"
            assert event.to_value != assignee
            assignee = event.to_value
            if assignee and status == Ticket.Status.OPEN:
                expect_activation_by = event.actor_id
    assert expect_activation_by is None
    assert len(events) == len(recorded) + activations_by_assignment

    ticket.refresh_from_db()
    status_events = [e for e in events if e.kind == TicketEvent.Kind.STATUS]
    assignment_events = [e for e in events if e.kind == TicketEvent.Kind.ASSIGNMENT]
    assert ticket.status == status_events[-1].to_value
    assert ticket.status == status
    assert (ticket.closed_at is not None) == (ticket.status == Ticket.Status.CLOSED)
    final_assignee = ticket.assignee.username if ticket.assignee_id else ""
    assert final_assignee == assignment_events[-1].to_value
    assert final_assignee == assignee
    # Created at version 1; each applied change (one event each) bumped it exactly once.
    assert ticket.version == 1 + len(events)
