"""ticket_create, ticket_assign, ticket_set_priority and ticket_mark_seen."""

import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tickets.models import StaleTicketError, Ticket, TicketEvent
from tickets.services import ticket_assign, ticket_create, ticket_mark_seen, ticket_set_priority


@pytest.fixture
def inactive_agent(make_user):
    user = make_user("gone_agent", staff=True)
    user.is_active = False
    user.save(update_fields=["is_active"])
    return user


def snapshot(ticket: Ticket) -> dict:
    ticket.refresh_from_db()
    return {
        "status": ticket.status,
        "assignee_id": ticket.assignee_id,
        "priority": ticket.priority,
        "version": ticket.version,
        "events": TicketEvent.objects.filter(ticket=ticket).count(),
    }


# ticket_create


def test_create_strips_title_and_description_and_starts_open(customer):
    ticket = ticket_create(reporter=customer, title="  VPN down \n", description="\tIt drops.  ")
    ticket.refresh_from_db()
    assert ticket.title == "VPN down"
    assert ticket.description == "It drops."
    assert ticket.reporter == customer
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.priority == Ticket.Priority.NORMAL
    assert ticket.version == 1
    assert ticket.closed_at is None
    assert ticket.first_response_at is None
    assert not ticket.events.exists()


@pytest.mark.parametrize("title", ["", "   ", "\n\t ", None])
def test_create_refuses_an_empty_title(customer, title):
    with pytest.raises(ValidationError) as excinfo:
        ticket_create(reporter=customer, title=title, description="Something broke.")
    assert "title" in excinfo.value.message_dict
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("description", ["", "   ", "\n\t ", None])
def test_create_refuses_an_empty_description(customer, description):
    with pytest.raises(ValidationError) as excinfo:
        ticket_create(reporter=customer, title="Broken", description=description)
    assert "description" in excinfo.value.message_dict
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("field", ["title", "description"])
def test_create_refuses_a_nul_character(customer, field):
    """Forms refuse NUL; the service does too (PostgreSQL could not store it: a DataError)."""
    fields = {"title": "Broken", "description": "Something broke.", field: "a\x00b"}
    with pytest.raises(ValidationError) as excinfo:
        ticket_create(reporter=customer, **fields)
    assert list(excinfo.value.message_dict) == [field]
    assert not Ticket.objects.exists()


def test_create_accepts_the_longest_title_and_description(customer):
    ticket = ticket_create(reporter=customer, title="t" * 200, description="d" * 20_000)
    ticket.refresh_from_db()
    assert len(ticket.title) == 200
    assert len(ticket.description) == 20_000


def test_create_refuses_a_201_character_title(customer):
    with pytest.raises(ValidationError) as excinfo:
        ticket_create(reporter=customer, title="t" * 201, description="Broken.")
    assert "title" in excinfo.value.message_dict
    assert not Ticket.objects.exists()


def test_create_refuses_a_20001_character_description(customer):
    with pytest.raises(ValidationError) as excinfo:
        ticket_create(reporter=customer, title="Broken", description="d" * 20_001)
    assert "description" in excinfo.value.message_dict
    assert not Ticket.objects.exists()


def test_create_refuses_an_unknown_priority(customer):
    with pytest.raises(ValidationError):
        ticket_create(reporter=customer, title="Broken", description="Yes.", priority="bogus")
    assert not Ticket.objects.exists()


def test_create_refuses_an_inactive_reporter(customer):
    customer.is_active = False
    customer.save(update_fields=["is_active"])
    with pytest.raises(PermissionDenied):
        ticket_create(reporter=customer, title="Broken", description="Yes.")
    assert not Ticket.objects.exists()


def test_create_twice_with_the_same_token_makes_one_ticket(customer):
    token = uuid.uuid4()
    first = ticket_create(reporter=customer, title="Broken", description="Yes.", client_token=token)
    second = ticket_create(
        reporter=customer, title="Broken again", description="Still.", client_token=token
    )
    assert second.pk == first.pk
    assert second.title == "Broken"
    assert Ticket.objects.count() == 1


# ticket_assign


def test_customer_cannot_assign(ticket, customer, agent):
    before = snapshot(ticket)
    with pytest.raises(PermissionDenied):
        ticket_assign(ticket=ticket, assignee=agent, by=customer)
    assert snapshot(ticket) == before


def test_inactive_staff_cannot_assign(ticket, agent, inactive_agent):
    before = snapshot(ticket)
    with pytest.raises(PermissionDenied):
        ticket_assign(ticket=ticket, assignee=agent, by=inactive_agent)
    assert snapshot(ticket) == before


def test_assigning_an_open_ticket_makes_it_active(ticket, agent, admin_user):
    before = snapshot(ticket)
    event = ticket_assign(ticket=ticket, assignee=agent, by=admin_user)

    assert ticket.assignee == agent  # the caller's instance follows the database
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    assert ticket.status == Ticket.Status.ACTIVE
    assert ticket.version == before["version"] + 2
    events = list(ticket.events.order_by("pk"))
    assert len(events) == 2
    assignment, status = events
    assert assignment.pk == event.pk
    assert (assignment.kind, assignment.from_value, assignment.to_value, assignment.actor) == (
        TicketEvent.Kind.ASSIGNMENT,
        "",
        "agent",
        admin_user,
    )
    assert (status.kind, status.from_value, status.to_value, status.actor) == (
        TicketEvent.Kind.STATUS,
        "open",
        "active",
        admin_user,
    )


def test_reassigning_an_active_ticket_writes_only_an_assignment_event(ticket, agent, other_agent):
    ticket_assign(ticket=ticket, assignee=agent, by=agent)
    before = snapshot(ticket)
    event = ticket_assign(ticket=ticket, assignee=other_agent, by=agent)
    ticket.refresh_from_db()
    assert ticket.assignee == other_agent
    assert ticket.status == Ticket.Status.ACTIVE
    assert ticket.version == before["version"] + 1
    assert ticket.events.count() == before["events"] + 1
    assert (event.from_value, event.to_value) == ("agent", "other_agent")


def test_assigning_a_closed_ticket_leaves_it_closed(ticket, agent):
    ticket.update_status(Ticket.Status.CLOSED, by=agent)
    ticket_assign(ticket=ticket, assignee=agent, by=agent)
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.closed_at is not None


def test_cannot_assign_to_a_customer(ticket, agent, other_customer):
    before = snapshot(ticket)
    with pytest.raises(ValidationError) as excinfo:
        ticket_assign(ticket=ticket, assignee=other_customer, by=agent)
    assert excinfo.value.code == "invalid_assignee"
    assert snapshot(ticket) == before


def test_cannot_assign_to_an_inactive_staff_member(ticket, agent, inactive_agent):
    before = snapshot(ticket)
    with pytest.raises(ValidationError) as excinfo:
        ticket_assign(ticket=ticket, assignee=inactive_agent, by=agent)
    assert excinfo.value.code == "invalid_assignee"
    assert snapshot(ticket) == before


def test_unassigning_writes_an_event_with_an_empty_assignee(ticket, agent, other_agent):
    ticket_assign(ticket=ticket, assignee=agent, by=agent)
    before = snapshot(ticket)
    event = ticket_assign(ticket=ticket, assignee=None, by=other_agent)
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert ticket.status == Ticket.Status.ACTIVE
    assert ticket.version == before["version"] + 1
    stored = ticket.events.order_by("pk").last()
    assert stored.pk == event.pk
    assert (stored.kind, stored.from_value, stored.to_value, stored.actor) == (
        TicketEvent.Kind.ASSIGNMENT,
        "agent",
        "",
        other_agent,
    )


def test_assigning_the_same_assignee_again_is_a_no_op(ticket, agent):
    ticket_assign(ticket=ticket, assignee=agent, by=agent)
    before = snapshot(ticket)
    assert ticket_assign(ticket=ticket, assignee=agent, by=agent) is None
    assert snapshot(ticket) == before


def test_unassigning_an_unassigned_ticket_is_a_no_op(ticket, agent):
    before = snapshot(ticket)
    assert ticket_assign(ticket=ticket, assignee=None, by=agent) is None
    assert snapshot(ticket) == before


def test_assigning_from_a_stale_page_is_refused(ticket, agent, other_agent):
    stale_page = Ticket.objects.get(pk=ticket.pk)
    ticket_set_priority(ticket=ticket, priority="high", by=other_agent)
    before = snapshot(ticket)
    with pytest.raises(StaleTicketError) as excinfo:
        ticket_assign(
            ticket=stale_page, assignee=agent, by=agent, expected_version=stale_page.version
        )
    assert "changed by other_agent" in excinfo.value.messages[0]
    assert snapshot(ticket) == before


def test_the_system_may_unassign_and_its_event_has_no_actor(ticket, agent):
    ticket_assign(ticket=ticket, assignee=agent, by=agent)
    before = snapshot(ticket)
    event = ticket_assign(ticket=ticket, assignee=None, by=None)
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert ticket.modified_by is None
    assert ticket.version == before["version"] + 1
    stored = TicketEvent.objects.get(pk=event.pk)
    assert (stored.kind, stored.from_value, stored.to_value, stored.actor) == (
        TicketEvent.Kind.ASSIGNMENT,
        "agent",
        "",
        None,
    )


def test_the_system_may_assign_an_open_ticket_which_makes_it_active(
    ticket, agent, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket_assign(ticket=ticket, assignee=agent, by=None)
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    assert ticket.status == Ticket.Status.ACTIVE
    assert list(ticket.events.values_list("kind", "actor")) == [
        (TicketEvent.Kind.ASSIGNMENT, None),
        (TicketEvent.Kind.STATUS, None),
    ]
    [email] = [m for m in mailoutbox if m.to == [agent.email]]
    assert "The help desk assigned ticket" in email.body


def test_the_system_still_cannot_assign_to_a_customer(ticket, other_customer):
    before = snapshot(ticket)
    with pytest.raises(ValidationError):
        ticket_assign(ticket=ticket, assignee=other_customer, by=None)
    assert snapshot(ticket) == before


# ticket_set_priority


def test_customer_cannot_set_priority(ticket, customer):
    before = snapshot(ticket)
    with pytest.raises(PermissionDenied):
        ticket_set_priority(ticket=ticket, priority="urgent", by=customer)
    assert snapshot(ticket) == before


def test_staff_set_priority_with_an_event(ticket, agent):
    before = snapshot(ticket)
    event = ticket_set_priority(ticket=ticket, priority="urgent", by=agent)
    ticket.refresh_from_db()
    assert ticket.priority == "urgent"
    assert ticket.version == before["version"] + 1
    assert ticket.status == Ticket.Status.OPEN
    stored = ticket.events.get()
    assert stored.pk == event.pk
    assert (stored.kind, stored.from_value, stored.to_value, stored.actor) == (
        TicketEvent.Kind.PRIORITY,
        "normal",
        "urgent",
        agent,
    )


@pytest.mark.parametrize("priority", ["bogus", "", "URGENT", None])
def test_invalid_priority_is_refused(ticket, agent, priority):
    before = snapshot(ticket)
    with pytest.raises(ValidationError):
        ticket_set_priority(ticket=ticket, priority=priority, by=agent)
    assert snapshot(ticket) == before


def test_setting_the_same_priority_is_a_no_op(ticket, agent):
    before = snapshot(ticket)
    assert ticket_set_priority(ticket=ticket, priority="normal", by=agent) is None
    assert snapshot(ticket) == before


def test_setting_priority_from_a_stale_page_is_refused(ticket, agent):
    stale_page = Ticket.objects.get(pk=ticket.pk)
    ticket.update_status(Ticket.Status.ACTIVE, by=agent)
    before = snapshot(ticket)
    with pytest.raises(StaleTicketError):
        ticket_set_priority(
            ticket=stale_page, priority="high", by=agent, expected_version=stale_page.version
        )
    assert snapshot(ticket) == before


# has_unseen_reply and ticket_mark_seen


def test_reporter_sees_a_new_staff_reply_until_they_mark_it_seen(
    ticket, customer, agent, make_message
):
    make_message(ticket, agent, "Looking into it.")
    ticket.refresh_from_db()
    assert ticket.has_unseen_reply is True
    version = ticket.version

    ticket_mark_seen(ticket=ticket, user=customer)

    ticket.refresh_from_db()
    assert ticket.has_unseen_reply is False
    assert ticket.reporter_seen_at is not None
    assert ticket.version == version  # looking is not a change

    make_message(ticket, agent, "Fixed, please try again.")
    ticket.refresh_from_db()
    assert ticket.has_unseen_reply is True


def test_staff_looking_does_not_mark_the_reply_seen(ticket, agent, other_agent, make_message):
    make_message(ticket, agent, "Looking into it.")
    ticket.refresh_from_db()
    ticket_mark_seen(ticket=ticket, user=other_agent)
    ticket.refresh_from_db()
    assert ticket.reporter_seen_at is None
    assert ticket.has_unseen_reply is True


def test_internal_notes_and_the_reporters_own_messages_are_not_unseen_replies(
    ticket, customer, agent, make_message
):
    make_message(ticket, agent, "Probably the sync job.", is_internal=True)
    make_message(ticket, customer, "Any news?")
    ticket.refresh_from_db()
    assert ticket.last_staff_reply_at is None
    assert ticket.has_unseen_reply is False
