"""The reads the ticket pages make (tickets/selectors.py)."""

from django.template import Context
from django.utils import timezone

from tickets.models import Ticket, TicketEvent
from tickets.selectors import list_rows, ticket_timeline
from tickets.services import ticket_assign, ticket_set_priority
from tickets.templatetags.ticket_html import ticket_row


def test_the_timeline_is_each_event_in_order_as_the_event_describes_itself(
    ticket, customer, agent, django_assert_num_queries
):
    ticket_assign(ticket=ticket, assignee=agent, by=agent)
    ticket.update_status(Ticket.Status.ACTIVE, by=agent)
    ticket_set_priority(ticket=ticket, priority=Ticket.Priority.URGENT, by=agent)
    ticket.update_status(Ticket.Status.CLOSED, by=customer)
    # An event by no one (the system closing a stale ticket), dated first.
    TicketEvent.objects.create(
        ticket=ticket,
        actor=None,
        kind=TicketEvent.Kind.STATUS,
        from_value=Ticket.Status.OPEN,
        to_value=Ticket.Status.CLOSED,
        created_at=ticket.created_at,
    )
    events = list(ticket.events.select_related("actor").order_by("created_at", "pk"))

    with django_assert_num_queries(1):
        timeline = ticket_timeline(ticket)

    assert [(entry.created_at, entry.actor, entry.description) for entry in timeline] == [
        (event.created_at, event.actor.username if event.actor else None, event.description)
        for event in events
    ]
    assert timeline[0].actor is None
    assert [entry.description for entry in timeline[1:]] == [
        "assigned the ticket to agent",
        "changed the status from Open to Active",
        "changed the priority from Normal to Urgent",
        "changed the status from Active to Closed",
    ]
    assert all(entry.created_at <= timezone.now() for entry in timeline)


def test_list_rows_are_a_pages_tickets_as_the_list_shows_them(
    ticket, make_ticket, customer, agent, make_message, django_assert_num_queries
):
    answered = make_ticket(customer, title="Answered <b>")
    ticket_assign(ticket=answered, assignee=agent, by=agent)
    make_message(answered, agent, "Try again now.")  # A staff reply the reporter has not seen.
    tickets = Ticket.objects.for_list()
    page = tickets[0:25]

    with django_assert_num_queries(1):
        rows = list_rows(page)

    models = list(tickets.select_related("reporter", "assignee"))
    assert [row.pk for row in rows] == [answered.pk, ticket.pk] == [t.pk for t in models]
    context = Context({"user": customer})
    for row, model in zip(rows, models, strict=True):
        assert row.has_unseen_reply == model.has_unseen_reply
        assert row.reporter.username == model.reporter.username
        assert (row.assignee and row.assignee.username) == (
            model.assignee and model.assignee.username
        )
        assert ticket_row(context, row) == ticket_row(context, model)
    assert rows[0].has_unseen_reply is True
    assert rows[1].assignee is None
