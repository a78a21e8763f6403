"""The reads the ticket pages make (tickets/selectors.py)."""

from django.utils import timezone

from tickets.models import Category, Ticket, TicketEvent
from tickets.selectors import list_rows, ticket_timeline
from tickets.services import ticket_assign, ticket_set_category, ticket_set_priority


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

    assert [(row["created_at"], row["actor_name"], row["description"]) for row in timeline] == [
        (event.created_at, event.actor.username if event.actor else None, event.description)
        for event in events
    ]
    assert timeline[0]["actor_name"] is None
    assert [row["description"] for row in timeline[1:]] == [
        "assigned the ticket to agent",
        "changed the status from Open to Active",
        "changed the priority from Normal to Urgent",
        "changed the status from Active to Closed",
    ]
    assert all(row["created_at"] <= timezone.now() for row in timeline)


def test_list_rows_are_a_pages_tickets_as_the_list_shows_them(
    ticket, make_ticket, customer, agent, make_message, django_assert_num_queries
):
    answered = make_ticket(customer, title="Answered <b>")
    ticket_assign(ticket=answered, assignee=agent, by=agent)
    ticket_set_category(ticket=answered, category=Category.objects.create(name="Print"), by=agent)
    make_message(answered, agent, "Try again now.")  # A staff reply the reporter has not seen.
    tickets = Ticket.objects.for_list()
    page = tickets[0:25]

    with django_assert_num_queries(1):
        rows = list_rows(page, viewer=customer)

    models = list(tickets.select_related("reporter", "assignee", "category"))
    assert [row["pk"] for row in rows] == [answered.pk, ticket.pk] == [t.pk for t in models]
    for row, model in zip(rows, models, strict=True):
        # Every column a row is shown with, named as on the model (or after the person).
        assert row == {
            "pk": model.pk,
            "title": model.title,
            "status": model.status,
            "priority": model.priority,
            "created_at": model.created_at,
            "last_activity_at": model.last_activity_at,
            "first_response_at": model.first_response_at,
            "last_staff_reply_at": model.last_staff_reply_at,
            "reporter_seen_at": model.reporter_seen_at,
            "last_public_by": model.last_public_by,
            "tag_names": model.tag_names,
            "reporter_id": model.reporter_id,
            "reporter_name": model.reporter.username,
            "assignee_id": model.assignee_id,
            "assignee_name": model.assignee and model.assignee.username,
            "category_name": model.category and model.category.name,
            "new_reply": model.has_unseen_reply,
            "status_label": model.customer_status,
            "status_class": model.customer_status_class,
            "priority_label": model.get_priority_display(),
            # The viewer is a customer: the staff's markers are off.
            "awaiting_first_response": False,
            "customer_replied": False,
            "waiting_on_customer": False,
            # How long ago its last activity was, in words.
            "since": "0\xa0minutes",
        }
    assert rows[0]["new_reply"] is True
    assert (rows[0]["status_class"], rows[1]["status_class"]) == ("waiting", "open")
    assert rows[0]["assignee_name"] == "agent"
    assert (rows[0]["category_name"], rows[1]["category_name"]) == ("Print", None)
    assert rows[1]["assignee_name"] is None
    assert rows[1]["new_reply"] is False
    # As staff see them: no "new reply" (not their tickets), and the unanswered one awaits.
    as_staff = list_rows(page, viewer=agent)
    assert [(row["new_reply"], row["awaiting_first_response"]) for row in as_staff] == [
        (False, False),
        (False, True),
    ]
    # The answered one waits on its customer (staff wrote last).
    assert [(row["waiting_on_customer"], row["customer_replied"]) for row in as_staff] == [
        (True, False),
        (False, False),
    ]
    assert [row["status_class"] for row in as_staff] == [row["status"] for row in as_staff]
