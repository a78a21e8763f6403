"""The ticket's change page in the admin: triage, replies and notes, through the services."""

import re

import pytest
from django import forms
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType

from messaging.models import Message
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_assign

from .page_helpers import db_state, flash_messages


def change_url(ticket: Ticket) -> str:
    return f"/admin/tickets/ticket/{ticket.pk}/change/"


def change_form_data(response, **changes) -> dict:
    """The POST the change page would send unchanged (the form as rendered), with `changes`
    applied."""
    assert response.status_code == 200
    assert response.context["inline_admin_formsets"] == []  # nothing but the form is posted
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if isinstance(field, forms.FileField | forms.MultipleChoiceField):
            continue  # a browser sends no file and no box that is not ticked
        value = form[name].value()
        data[name] = "" if value is None else str(value)
    data["_save"] = "Save"
    data.update({name: "" if value is None else str(value) for name, value in changes.items()})
    return data


def events_of(ticket: Ticket) -> list[tuple]:
    return list(
        TicketEvent.objects.filter(ticket=ticket)
        .order_by("pk")
        .values_list("kind", "from_value", "to_value", "actor__username")
    )


def form_errors(response) -> dict:
    assert response.status_code == 200, "expected the form again, with errors"
    return response.context["adminform"].form.errors


class TestTriage:
    def test_status_priority_and_assignee_in_one_save(self, login, agent, other_agent, ticket):
        ticket_assign(ticket=ticket, assignee=other_agent, by=other_agent)
        ticket.refresh_from_db()
        version = ticket.version
        events_before = events_of(ticket)
        client = login(agent)
        page = client.get(change_url(ticket))

        response = client.post(
            change_url(ticket),
            change_form_data(page, new_status="closed", priority="urgent", assignee=agent.pk),
        )

        assert response.status_code == 302
        assert response["Location"] == "/admin/tickets/ticket/"
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.CLOSED
        assert ticket.closed_at is not None
        assert ticket.priority == Ticket.Priority.URGENT
        assert ticket.assignee == agent
        assert ticket.modified_by == agent
        assert ticket.version == version + 3
        assert events_of(ticket)[len(events_before) :] == [
            ("assignment", "other_agent", "agent", "agent"),
            ("priority", "normal", "urgent", "agent"),
            ("status", "active", "closed", "agent"),
        ]
        log = LogEntry.objects.get(
            content_type=ContentType.objects.get_for_model(Ticket), object_id=str(ticket.pk)
        )
        assert log.user == agent
        assert log.action_flag == CHANGE
        assert log.get_change_message() == "Changed Status, Priority and Assignee."

    def test_assigning_and_closing_an_open_ticket_closes_it(self, login, agent, ticket):
        client = login(agent)
        page = client.get(change_url(ticket))

        client.post(
            change_url(ticket), change_form_data(page, new_status="closed", assignee=agent.pk)
        )

        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.CLOSED
        assert ticket.assignee == agent
        assert events_of(ticket) == [
            ("assignment", "", "agent", "agent"),
            ("status", "open", "active", "agent"),
            ("status", "active", "closed", "agent"),
        ]

    def test_unassigning(self, login, agent, other_agent, ticket):
        ticket_assign(ticket=ticket, assignee=other_agent, by=other_agent)
        client = login(agent)
        page = client.get(change_url(ticket))

        response = client.post(change_url(ticket), change_form_data(page, assignee=None))

        assert response.status_code == 302
        ticket.refresh_from_db()
        assert ticket.assignee is None
        assert ticket.status == Ticket.Status.ACTIVE
        assert events_of(ticket)[-1] == ("assignment", "other_agent", "", "agent")

    def test_saving_the_page_unchanged_changes_nothing(self, login, agent, ticket):
        client = login(agent)
        page = client.get(change_url(ticket))
        before = db_state()

        response = client.post(change_url(ticket), change_form_data(page))

        assert response.status_code == 302
        assert db_state() == before
        # The hidden token and version are not changes to the ticket.
        assert LogEntry.objects.get().get_change_message() == "No fields changed."

    def test_read_only_fields_in_the_post_are_ignored(self, login, agent, other_customer, ticket):
        client = login(agent)
        page = client.get(change_url(ticket))

        client.post(
            change_url(ticket),
            change_form_data(
                page,
                title="Hijacked",
                description="Rewritten",
                reporter=other_customer.pk,
                status="closed",
                version=99,
                first_response_at="2020-01-01 00:00",
            ),
        )

        ticket.refresh_from_db()
        assert ticket.title != "Hijacked"
        assert ticket.description != "Rewritten"
        assert ticket.reporter_id != other_customer.pk
        assert ticket.status == Ticket.Status.OPEN
        assert ticket.version == 1
        assert ticket.first_response_at is None

    def test_an_illegal_move_is_refused_on_the_form(self, login, agent, ticket):
        ticket.update_status(Ticket.Status.CLOSED, by=agent)
        client = login(agent)
        page = client.get(change_url(ticket))
        before = db_state()

        response = client.post(
            change_url(ticket),
            change_form_data(page, new_status="active", priority="high", reply="Reopening"),
        )

        assert form_errors(response)["new_status"] == ["A ticket cannot go from closed to active."]
        assert "A ticket cannot go from closed to active." in response.content.decode()
        assert db_state() == before
        assert not LogEntry.objects.exists()

    def test_a_customer_as_assignee_is_refused(self, login, agent, customer, ticket):
        client = login(agent)
        page = client.get(change_url(ticket))
        before = db_state()

        response = client.post(change_url(ticket), change_form_data(page, assignee=customer.pk))

        assert form_errors(response)["assignee"]
        assert db_state() == before

    def test_an_inactive_agent_as_assignee_is_refused(self, login, agent, make_user, ticket):
        retired = make_user("retired", staff=True)
        retired.is_active = False
        retired.save()
        client = login(agent)
        page = client.get(change_url(ticket))
        before = db_state()

        response = client.post(change_url(ticket), change_form_data(page, assignee=retired.pk))

        assert form_errors(response)["assignee"] == ["retired is not an active staff member."]
        assert db_state() == before

    @pytest.mark.parametrize("field", ["seen_version", "submission", "new_status", "priority"])
    def test_a_missing_or_garbled_field_is_refused(self, login, agent, ticket, field):
        client = login(agent)
        page = client.get(change_url(ticket))
        before = db_state()

        response = client.post(change_url(ticket), change_form_data(page, **{field: "garbage"}))

        assert form_errors(response)
        assert db_state() == before


class TestReplyAndNote:
    def test_the_reply_box_posts_a_public_message(self, login, agent, customer, ticket):
        client = login(agent)
        page = client.get(change_url(ticket))

        response = client.post(
            change_url(ticket), change_form_data(page, reply="  We are on it.  ")
        )

        assert response.status_code == 302
        message = Message.objects.get(ticket=ticket)
        assert message.content == "We are on it."
        assert message.is_internal is False
        assert message.sender == agent
        assert message.receiver == customer
        ticket.refresh_from_db()
        assert ticket.first_response_at == message.created_at
        assert ticket.last_staff_reply_at == message.created_at
        assert ticket.version == 2
        assert ticket.status == Ticket.Status.OPEN

    def test_the_note_box_posts_an_internal_message(self, login, agent, ticket):
        client = login(agent)
        page = client.get(change_url(ticket))

        client.post(change_url(ticket), change_form_data(page, internal_note="Probably the fuser."))

        message = Message.objects.get(ticket=ticket)
        assert message.content == "Probably the fuser."
        assert message.is_internal is True
        assert message.receiver is None
        ticket.refresh_from_db()
        assert ticket.first_response_at is None
        assert ticket.version == 1

    def test_reply_note_and_status_in_one_save(self, login, agent, ticket):
        client = login(agent)
        page = client.get(change_url(ticket))

        client.post(
            change_url(ticket),
            change_form_data(
                page, reply="Fixed.", internal_note="Was the fuser.", new_status="closed"
            ),
        )

        assert list(
            Message.objects.filter(ticket=ticket)
            .order_by("pk")
            .values_list("content", "is_internal")
        ) == [("Fixed.", False), ("Was the fuser.", True)]
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.CLOSED
        assert ticket.first_response_at is not None

    def test_the_conversation_and_timeline_are_shown_read_only(
        self, login, agent, customer, ticket, make_message
    ):
        make_message(ticket, customer, "Still broken")
        make_message(ticket, agent, "Secret", is_internal=True)
        ticket.update_status(Ticket.Status.ACTIVE, by=agent)

        response = login(agent).get(change_url(ticket))

        html = response.content.decode()
        # The conversation's block ends where the timeline's fieldset begins.
        conversation = html[html.index('<div id="ticket-conversation">') :]
        conversation = conversation[: conversation.index('<table id="ticket-timeline">')]
        assert conversation.count("<article") == 2
        assert conversation.index("Still broken") < conversation.index("Secret")
        assert re.search(
            r'<article class="ticket-reply" style="[^"]*border-left: 3px solid #79aec8"'
            r' aria-label="Message from customer">\s*<p><strong>customer</strong>',
            conversation,
        )
        # An internal note is edged in yellow.
        assert re.search(
            r'<article class="ticket-note" style="[^"]*border-left: 3px solid #ffc107"'
            r' aria-label="Message from agent">',
            conversation,
        )
        assert '<div style="white-space: pre-wrap">Still broken</div>' in conversation
        assert "public reply" in conversation
        assert "INTERNAL NOTE" in conversation
        timeline = html[html.index('<table id="ticket-timeline">') :]
        timeline = timeline[: timeline.index("</table>")]
        assert timeline.count("<tr>") == 2  # the header and the one change
        assert "<td>agent</td><td>changed the status from Open to Active</td>" in timeline
        assert "<textarea" not in conversation + timeline
        assert 'name="messages-' not in html and 'name="events-' not in html

    def test_a_new_ticket_says_it_has_no_messages_and_no_changes(self, login, agent, ticket):
        html = login(agent).get(change_url(ticket)).content.decode()

        assert "<p>No messages yet.</p>" in html
        assert "<p>No changes yet.</p>" in html
        assert 'id="ticket-conversation"' not in html

    def test_the_same_form_posted_twice_stores_one_message_each(self, login, agent, ticket):
        client = login(agent)
        page = client.get(change_url(ticket))
        data = change_form_data(page, reply="On it.", internal_note="Check the fuser.")

        first = client.post(change_url(ticket), data)
        after_first = db_state()
        second = client.post(change_url(ticket), data)

        assert first.status_code == 302
        assert Message.objects.filter(ticket=ticket, is_internal=False).count() == 1
        assert Message.objects.filter(ticket=ticket, is_internal=True).count() == 1
        assert db_state() == after_first
        # Not "changed by agent ... Nothing was saved": the first send was saved, and saying
        # otherwise invites the agent to send the reply again.
        assert second.status_code == 302
        assert second["Location"] == change_url(ticket)
        assert flash_messages(second)[-1] == (
            "This form was already saved; sending it again changed nothing."
        )
        assert LogEntry.objects.count() == 1

    def test_the_same_form_with_a_status_change_posted_twice_applies_it_once(
        self, login, agent, ticket
    ):
        client = login(agent)
        page = client.get(change_url(ticket))
        data = change_form_data(page, reply="Closing, fixed.", new_status="closed")

        client.post(change_url(ticket), data)
        second = client.post(change_url(ticket), data)

        assert second.status_code == 302
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.CLOSED
        assert events_of(ticket) == [("status", "open", "closed", "agent")]
        assert Message.objects.filter(ticket=ticket).count() == 1

    def test_a_token_from_another_tickets_form_does_not_count_as_a_repeat(
        self, login, agent, customer, make_ticket, ticket, make_message
    ):
        client = login(agent)
        other = make_ticket(customer)
        other_page = client.get(change_url(other))
        token = change_form_data(other_page)["submission"]
        client.post(change_url(other), change_form_data(other_page, reply="For the other one"))
        page = client.get(change_url(ticket))
        make_message(ticket, customer, "Meanwhile")

        response = client.post(
            change_url(ticket), change_form_data(page, submission=token, reply="Stale")
        )

        # Still refused as stale: the stored reply belongs to the other ticket.
        assert "was changed by customer" in str(form_errors(response)["__all__"])
        assert not Message.objects.filter(ticket=ticket, sender=agent).exists()


class TestStaleSave:
    def test_a_save_after_the_customer_replied_is_refused_and_keeps_what_was_typed(
        self, login, agent, customer, ticket, make_message
    ):
        client = login(agent)
        page = client.get(change_url(ticket))
        make_message(ticket, customer, "Oh, and the scanner too.")
        before = db_state()

        response = client.post(
            change_url(ticket),
            change_form_data(
                page,
                new_status="closed",
                priority="low",
                reply="Typed while the customer wrote",
                internal_note="My private thought",
            ),
        )

        errors = form_errors(response)["__all__"]
        assert errors == [
            "This ticket was changed by customer after you opened it. "
            "Reload the page to see the change, then try again.",
            "Nothing was saved. Your reply and note are kept below.",
        ]
        html = response.content.decode()
        assert "This ticket was changed by customer after you opened it." in html
        assert "Typed while the customer wrote</textarea>" in html
        assert "My private thought</textarea>" in html
        assert db_state() == before
        assert not LogEntry.objects.exists()

    def test_an_internal_note_meanwhile_does_not_make_the_page_stale(
        self, login, agent, other_agent, ticket, make_message
    ):
        client = login(agent)
        page = client.get(change_url(ticket))
        make_message(ticket, other_agent, "Colleague's note", is_internal=True)

        response = client.post(change_url(ticket), change_form_data(page, priority="high"))

        assert response.status_code == 302
        ticket.refresh_from_db()
        assert ticket.priority == Ticket.Priority.HIGH

    def test_a_reload_after_a_refusal_saves(self, login, agent, customer, ticket, make_message):
        client = login(agent)
        page = client.get(change_url(ticket))
        make_message(ticket, customer, "Hello?")
        refused = client.post(change_url(ticket), change_form_data(page, priority="high"))
        assert form_errors(refused)["__all__"]

        reloaded = client.get(change_url(ticket))
        response = client.post(change_url(ticket), change_form_data(reloaded, priority="high"))

        assert response.status_code == 302
        assert "was changed successfully" in flash_messages(response)[-1]
        ticket.refresh_from_db()
        assert ticket.priority == Ticket.Priority.HIGH


class TestLinks:
    def test_the_change_page_links_to_the_help_desk_page(self, login, agent, ticket):
        html = login(agent).get(change_url(ticket)).content.decode()

        assert f'<a href="/tickets/{ticket.pk}/">Open #{ticket.pk} on the help desk</a>' in html

    def test_the_help_desk_page_links_staff_to_the_admin(self, login, agent, ticket):
        html = login(agent).get(f"/tickets/{ticket.pk}/").content.decode()

        assert f'href="/admin/tickets/ticket/{ticket.pk}/change/"' in html

    def test_the_help_desk_page_does_not_link_customers_to_the_admin(self, login, customer, ticket):
        html = login(customer).get(f"/tickets/{ticket.pk}/").content.decode()

        assert "/admin/" not in html


class TestDelete:
    def test_a_superuser_deletes_a_ticket_with_messages_from_its_delete_page(
        self, login, admin_user, agent, customer, ticket, make_message
    ):
        make_message(ticket, customer, "Any news?")
        ticket.update_status(Ticket.Status.CLOSED, by=agent)
        client = login(admin_user)
        url = f"/admin/tickets/ticket/{ticket.pk}/delete/"

        confirm = client.get(url)

        assert confirm.status_code == 200
        assert not confirm.context["perms_lacking"]
        response = client.post(url, {"post": "yes"})
        assert response.status_code == 302
        assert not Ticket.objects.filter(pk=ticket.pk).exists()
        assert not Message.objects.exists()
        assert not TicketEvent.objects.exists()

    def test_an_agent_cannot_delete_a_ticket(self, login, agent, ticket):
        response = login(agent).post(f"/admin/tickets/ticket/{ticket.pk}/delete/", {"post": "yes"})

        assert response.status_code == 403
        assert Ticket.objects.filter(pk=ticket.pk).exists()


class TestReadOnlyAdmins:
    """Messages and events are never added, edited or deleted through the admin."""

    @pytest.fixture
    def records(self, agent, customer, ticket, make_message) -> dict:
        message = make_message(ticket, customer, "Original words")
        event = ticket_assign(ticket=ticket, assignee=agent, by=agent)
        return {
            "message": (f"/admin/messaging/message/{message.pk}", message),
            "event": (f"/admin/tickets/ticketevent/{event.pk}", event),
        }

    @pytest.mark.parametrize("who", ["agent", "admin_user"])
    @pytest.mark.parametrize("kind", ["message", "event"])
    def test_the_change_page_is_read_only(self, request, login, records, who, kind):
        base, _ = records[kind]
        client = login(request.getfixturevalue(who))

        page = client.get(f"{base}/change/")

        assert page.status_code == 200
        html = page.content.decode()
        assert 'name="_save"' not in html
        assert 'name="_continue"' not in html
        assert "/delete/" not in html
        if kind == "message":
            assert "Original words" in html
            assert 'name="content"' not in html

    @pytest.mark.parametrize("who", ["agent", "admin_user"])
    @pytest.mark.parametrize("kind", ["message", "event"])
    def test_posting_a_change_add_or_delete_is_refused(self, request, login, records, who, kind):
        base, record = records[kind]
        client = login(request.getfixturevalue(who))
        before = db_state()
        changes = (
            {"content": "Rewritten", "ticket": record.ticket_id, "sender": record.sender_id}
            if kind == "message"
            else {"kind": "status", "to_value": "closed", "ticket": record.ticket_id}
        )

        assert client.post(f"{base}/change/", changes).status_code == 403
        assert client.post(f"{base}/delete/", {"post": "yes"}).status_code == 403
        add = base.rsplit("/", 1)[0] + "/add/"
        assert client.get(add).status_code == 403
        assert client.post(add, changes).status_code == 403
        assert db_state() == before
        record.refresh_from_db()
        if kind == "message":
            assert record.content == "Original words"

    def test_the_message_list_offers_no_delete_action(self, login, admin_user, records):
        response = login(admin_user).get("/admin/messaging/message/")

        assert response.status_code == 200
        assert response.context["action_form"] is None or "delete_selected" not in dict(
            response.context["action_form"].fields["action"].choices
        )
