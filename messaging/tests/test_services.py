"""message_send (and Message.send / Message.receive, its original entry points)."""

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from messaging.models import Message
from messaging.services import message_send
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_assign


def snapshot(ticket: Ticket) -> dict:
    ticket.refresh_from_db()
    return {
        "status": ticket.status,
        "version": ticket.version,
        "first_response_at": ticket.first_response_at,
        "last_staff_reply_at": ticket.last_staff_reply_at,
        "last_activity_at": ticket.last_activity_at,
        "messages": Message.objects.filter(ticket=ticket).count(),
        "events": TicketEvent.objects.filter(ticket=ticket).count(),
    }


# first_response_at (METRICS.md)


def test_first_public_staff_reply_sets_first_response_once(
    ticket, customer, agent, other_agent, make_message
):
    make_message(ticket, customer, "Any news?")
    ticket.refresh_from_db()
    assert ticket.first_response_at is None

    first = make_message(ticket, agent, "On it.")
    ticket.refresh_from_db()
    assert ticket.first_response_at == first.created_at
    assert ticket.last_staff_reply_at == first.created_at

    make_message(ticket, customer, "Thanks.")
    later = make_message(ticket, other_agent, "Fixed.")
    ticket.refresh_from_db()
    assert ticket.first_response_at == first.created_at
    assert ticket.last_staff_reply_at == later.created_at
    assert later.created_at > first.created_at


def test_internal_note_does_not_count_as_a_first_response(ticket, agent, make_message):
    before = snapshot(ticket)
    make_message(ticket, agent, "Looks like the sync job.", is_internal=True)
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert ticket.last_staff_reply_at is None
    # A note is invisible to the reporter: no activity on their list either.
    assert ticket.last_activity_at == before["last_activity_at"]

    reply = make_message(ticket, agent, "On it.")
    ticket.refresh_from_db()
    assert ticket.first_response_at == reply.created_at


def test_staff_replying_on_a_ticket_they_reported_is_not_a_first_response(
    make_ticket, agent, other_agent, make_message
):
    ticket = make_ticket(agent)
    make_message(ticket, agent, "Adding details to my own ticket.")
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert ticket.last_staff_reply_at is None

    reply = make_message(ticket, other_agent, "I'll take it.")
    ticket.refresh_from_db()
    assert ticket.first_response_at == reply.created_at


# receiver


def test_receiver_is_the_reporter_when_staff_write(ticket, customer, agent, make_message):
    assert make_message(ticket, agent, "On it.").receiver == customer
    assert Message.objects.get(sender=agent).receiver == customer


def test_receiver_is_the_assignee_when_the_reporter_writes(ticket, customer, agent, make_message):
    unassigned = make_message(ticket, customer, "Hello?")
    ticket_assign(ticket=ticket, assignee=agent, by=agent)
    assigned = make_message(ticket, customer, "Hello again.")
    unassigned.refresh_from_db()
    assigned.refresh_from_db()
    assert unassigned.receiver is None
    assert assigned.receiver == agent


def test_internal_note_has_no_receiver(ticket, agent, other_agent, make_message):
    ticket_assign(ticket=ticket, assignee=other_agent, by=agent)
    note = make_message(ticket, agent, "FYI", is_internal=True)
    note.refresh_from_db()
    assert note.receiver is None
    assert note.is_internal is True


# status


def test_reporter_replying_on_a_closed_ticket_reopens_it(ticket, customer, agent, make_message):
    ticket.update_status(Ticket.Status.CLOSED, by=agent)
    before = snapshot(ticket)

    make_message(ticket, customer, "It is broken again.")

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.closed_at is None
    assert ticket.events.count() == before["events"] + 1
    reopen = ticket.events.order_by("pk").last()
    assert (reopen.kind, reopen.from_value, reopen.to_value, reopen.actor) == (
        TicketEvent.Kind.STATUS,
        "closed",
        "open",
        customer,
    )


def test_staff_replying_on_a_closed_ticket_leaves_it_closed(ticket, agent, make_message):
    ticket.update_status(Ticket.Status.CLOSED, by=agent)
    before = snapshot(ticket)
    make_message(ticket, agent, "For the record: fixed upstream.")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.closed_at is not None
    assert ticket.events.count() == before["events"]


# who may write


def test_another_customer_cannot_write_on_the_ticket(ticket, other_customer):
    before = snapshot(ticket)
    with pytest.raises(PermissionDenied):
        message_send(ticket=ticket, sender=other_customer, content="Me too!")
    assert snapshot(ticket) == before


def test_customer_cannot_write_an_internal_note(ticket, customer):
    before = snapshot(ticket)
    with pytest.raises(PermissionDenied):
        message_send(ticket=ticket, sender=customer, content="Psst", is_internal=True)
    assert snapshot(ticket) == before


def test_inactive_staff_cannot_write(ticket, make_user):
    gone = make_user("gone_agent", staff=True)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    before = snapshot(ticket)
    with pytest.raises(PermissionDenied):
        message_send(ticket=ticket, sender=gone, content="Hello")
    assert snapshot(ticket) == before


# content


@pytest.mark.parametrize("content", ["", "   ", "\n\t  \n", None, "x" * 10_001])
def test_empty_or_too_long_content_is_refused_and_nothing_is_stored(
    ticket, customer, agent, content
):
    ticket.update_status(Ticket.Status.CLOSED, by=agent)
    before = snapshot(ticket)
    for sender in (customer, agent):
        with pytest.raises(ValidationError) as excinfo:
            message_send(ticket=ticket, sender=sender, content=content)
        assert "content" in excinfo.value.message_dict
    # Not even the reporter's reopen survives a refused message.
    assert snapshot(ticket) == before


def test_content_is_stripped_and_10000_characters_are_accepted(ticket, customer):
    message = message_send(ticket=ticket, sender=customer, content=" " + "x" * 10_000 + "\n")
    message.refresh_from_db()
    assert message.content == "x" * 10_000


# double submit and versions


def test_same_token_twice_stores_one_message_and_returns_the_first(ticket, customer):
    token = uuid.uuid4()
    first = message_send(ticket=ticket, sender=customer, content="First", client_token=token)
    ticket.refresh_from_db()
    version = ticket.version

    second = message_send(ticket=ticket, sender=customer, content="Second", client_token=token)

    assert second.pk == first.pk
    assert second.content == "First"
    assert list(Message.objects.values_list("content", flat=True)) == ["First"]
    ticket.refresh_from_db()
    assert ticket.version == version


def test_a_public_message_bumps_the_ticket_version(ticket, customer, agent, make_message):
    ticket.refresh_from_db()
    version = ticket.version
    make_message(ticket, agent, "On it.")
    ticket.refresh_from_db()
    assert ticket.version == version + 1
    assert ticket.modified_by == agent


def test_an_internal_note_leaves_the_ticket_as_it_is(ticket, customer, agent, make_message):
    # Otherwise the customer's next change would be refused as stale, hinting at the note.
    ticket.refresh_from_db()
    before = (ticket.version, ticket.modified_by_id, ticket.last_activity_at)
    make_message(ticket, agent, "Note", is_internal=True)
    ticket.refresh_from_db()
    assert (ticket.version, ticket.modified_by_id, ticket.last_activity_at) == before
    ticket.update_status("closed", by=customer, expected_version=before[0])
    assert ticket.status == "closed"


def test_message_send_on_the_model_stores_the_message(ticket, agent):
    message = Message.send(ticket=ticket, sender=agent, content="Via the model.")
    assert Message.objects.get(pk=message.pk).content == "Via the model."


# Message.receive


def test_receive_hides_internal_notes_from_the_reporter_and_orders_oldest_first(
    ticket, customer, agent, make_message
):
    question = make_message(ticket, customer, "Any news?")
    note = make_message(ticket, agent, "Sync job again.", is_internal=True)
    answer = make_message(ticket, agent, "Fixed.")
    # Make the first-stored message the newest, so the order must come from created_at.
    Message.objects.filter(pk=question.pk).update(
        created_at=answer.created_at + timedelta(minutes=1)
    )

    assert list(Message.receive(ticket, customer)) == [answer, question]
    assert list(Message.receive(ticket, agent)) == [note, answer, question]


def test_entries_are_the_conversation_as_named_rows_of_what_a_page_shows(
    ticket, customer, agent, make_message, django_assert_num_queries
):
    make_message(ticket, customer, "Any news? <b>")
    make_message(ticket, agent, "Sync job again.", is_internal=True)
    make_message(ticket, agent, "Fixed.")
    messages = list(Message.receive(ticket, agent))
    with django_assert_num_queries(1):
        entries = Message.receive(ticket, agent).entries()
    assert entries == [
        {
            "pk": message.pk,
            "sender_id": message.sender_id,
            "sender_name": message.sender.username,
            "from_staff": message.sender.is_staff and message.sender_id != ticket.reporter_id,
            "is_internal": message.is_internal,
            "created_at": message.created_at,
            "content": message.content,
            "by_mail": False,  # written on the page (messaging/tests/test_views_mail.py)
        }
        for message in messages
    ]
    assert [entry["pk"] for entry in Message.receive(ticket, customer).entries()] == [
        message.pk for message in messages if not message.is_internal
    ]


def test_receive_only_returns_this_tickets_messages(
    ticket, make_ticket, customer, agent, make_message
):
    mine = make_message(ticket, customer, "Mine")
    make_message(make_ticket(customer), customer, "Another ticket")
    assert list(Message.receive(ticket, agent)) == [mine]
