"""The staff ticket page (issue 18): the editor's tabs and Send and close, Take it, the triage
form and its field-level conflicts, the held reply, the customer panel, presence and polling."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from messaging.models import Message
from tickets.models import Category, Ticket, TicketEvent
from tickets.services import (
    ticket_assign,
    ticket_set_priority,
    ticket_set_tags,
    ticket_triage,
)

from .page_helpers import client_for, db_state, flash_messages, reply_data

HTMX = {"HTTP_HX_REQUEST": "true"}


def triage_url(ticket: Ticket) -> str:
    return f"/tickets/{ticket.pk}/triage/"


def shown(ticket: Ticket) -> dict:
    """The triage form as the page shows it for `ticket`: every field and its shown twin."""
    values = {
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee": ticket.assignee_id or "",
        "category": ticket.category_id or "",
        "tags": ", ".join(ticket.tag_names),
    }
    return {**values, **{f"shown_{name}": value for name, value in values.items()}}


class TestEditor:
    def test_a_reply_goes_to_the_customer_and_a_note_does_not(
        self, agent, customer, ticket, django_capture_on_commit_callbacks
    ):
        client = client_for(agent)
        mail.outbox.clear()

        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"/tickets/{ticket.pk}/reply/", reply_data("Public answer", send="reply"))
            client.post(f"/tickets/{ticket.pk}/reply/", reply_data("Secret note", is_internal="on"))

        notes = list(Message.objects.values_list("content", "is_internal"))
        assert notes == [("Public answer", False), ("Secret note", True)]
        customer_page = client_for(customer).get(f"/tickets/{ticket.pk}/").content.decode()
        assert "Public answer" in customer_page
        assert "Secret note" not in customer_page
        bodies = [f"{message.subject} {message.body}" for message in mail.outbox]
        assert len(bodies) == 1 and mail.outbox[0].to == [customer.email]
        assert "Public answer" in bodies[0]
        assert all("Secret note" not in body for body in bodies)

    def test_send_and_close_replies_then_closes_through_the_one_door(self, agent, ticket):
        response = client_for(agent).post(
            f"/tickets/{ticket.pk}/reply/", reply_data("All fixed.", send="close")
        )

        assert response.status_code == 302
        assert flash_messages(response) == ["Reply sent and the ticket is closed."]
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.CLOSED
        assert ticket.messages.get().content == "All fixed."
        event = ticket.events.get(kind=TicketEvent.Kind.STATUS, to_value="closed")
        assert event.actor == agent

    def test_send_and_close_is_one_email_to_the_customer_showing_the_ticket_closed(
        self, agent, customer, ticket, django_capture_on_commit_callbacks
    ):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            client_for(agent).post(
                f"/tickets/{ticket.pk}/reply/", reply_data("All fixed.", send="close")
            )

        [email] = [m for m in mail.outbox if m.to == [customer.email]]
        assert "All fixed." in email.body
        assert "Status: Closed" in email.body

    def test_a_note_and_close_tells_the_customer_of_the_close_only(
        self, agent, customer, ticket, django_capture_on_commit_callbacks
    ):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            client_for(agent).post(
                f"/tickets/{ticket.pk}/reply/",
                reply_data("Duplicate of another", is_internal="on", send="close"),
            )

        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.CLOSED
        [email] = [m for m in mail.outbox if m.to == [customer.email]]
        assert "Duplicate of another" not in email.body
        assert "closed" in email.body

    def test_a_refused_reply_closes_nothing(self, agent, customer, ticket, make_ticket):
        """Send and close is one change: when the message is refused, the ticket stays open."""
        other = make_ticket(customer, title="Another")
        client = client_for(agent)
        client.post(f"/tickets/{other.pk}/reply/", reply_data("There", send="reply"))
        used = Message.objects.get(ticket=other).client_token
        # A form already used on another ticket: the message is refused.
        data = {**reply_data("Here", send="close"), "client_token": str(used)}
        response = client.post(f"/tickets/{ticket.pk}/reply/", data)

        assert response.status_code == 400
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.OPEN
        assert not ticket.messages.exists()
        assert not ticket.events.filter(kind=TicketEvent.Kind.STATUS).exists()

    def test_send_and_close_on_a_closed_ticket_still_sends(self, agent, ticket):
        ticket.update_status(Ticket.Status.CLOSED, by=agent)

        response = client_for(agent).post(
            f"/tickets/{ticket.pk}/reply/", reply_data("One more thing.", send="close")
        )

        assert response.status_code == 302
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.CLOSED
        assert ticket.messages.count() == 1

    def test_a_customer_cannot_send_and_close_a_note(self, customer, ticket):
        # A customer's form has neither field: both are ignored, the reply is public.
        client_for(customer).post(
            f"/tickets/{ticket.pk}/reply/",
            reply_data("Thanks", is_internal="on", send="close", seen_message="0"),
        )

        message = ticket.messages.get()
        assert not message.is_internal
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.OPEN


class TestHeldReply:
    def test_a_reply_is_held_when_the_customer_wrote_meanwhile(
        self, agent, customer, ticket, make_message
    ):
        seen = make_message(ticket, customer, "First message").pk
        make_message(ticket, customer, "I found the cause <b>myself</b>")
        before = db_state()

        response = client_for(agent).post(
            f"/tickets/{ticket.pk}/reply/",
            reply_data("Try turning it off", send="close", seen_message=str(seen)),
        )

        assert response.status_code == 409
        assert db_state() == before
        html = response.content.decode()
        held = html[html.index('id="held"') : html.index("Send anyway")]
        assert "customer wrote meanwhile." in held
        assert "I found the cause &lt;b&gt;myself&lt;/b&gt;" in held
        assert "First message" not in held
        assert ">\nTry turning it off</textarea>" in html
        # "Send anyway" sends the same text, now knowing of the new message, and closes.
        newest = ticket.messages.order_by("pk").last().pk
        assert f'name="seen_message" id="seen-message" form="reply-form" value="{newest}"' in html
        assert '<button type="submit" form="reply-form" name="send" value="close"' in html

        token = re.search(r'name="client_token" value="([^"]+)"', html).group(1)
        again = client_for(agent).post(
            f"/tickets/{ticket.pk}/reply/",
            reply_data(
                "Try turning it off", client_token=token, send="close", seen_message=str(newest)
            ),
        )
        assert again.status_code == 302
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.CLOSED

    def test_own_messages_and_notes_do_not_hold_a_reply(
        self, agent, other_agent, ticket, make_message
    ):
        seen = make_message(ticket, agent, "Mine").pk
        make_message(ticket, agent, "Mine again")
        make_message(ticket, other_agent, "A note", is_internal=True)

        response = client_for(agent).post(
            f"/tickets/{ticket.pk}/reply/", reply_data("Reply", seen_message=str(seen))
        )

        assert response.status_code == 302
        assert ticket.messages.count() == 4

    def test_a_note_is_never_held(self, agent, customer, ticket, make_message):
        make_message(ticket, customer, "New")

        response = client_for(agent).post(
            f"/tickets/{ticket.pk}/reply/",
            reply_data("Note", is_internal="on", seen_message="0"),
        )

        assert response.status_code == 302
        assert ticket.messages.filter(is_internal=True).count() == 1

    def test_the_page_carries_the_newest_public_message(
        self, agent, other_agent, customer, ticket, make_message
    ):
        public = make_message(ticket, customer, "Hello").pk
        note = make_message(ticket, other_agent, "note", is_internal=True).pk

        html = client_for(agent).get(f"/tickets/{ticket.pk}/").content.decode()

        assert f'name="seen_message" id="seen-message" form="reply-form" value="{public}"' in html
        assert f'<input type="hidden" id="last-message-id" name="seen" value="{note}">' in html
        assert 'hx-include="#last-message-id"' in html

    def test_showing_a_new_reply_asks_the_live_line_again(self, agent, ticket):
        plain = client_for(agent).get(f"/tickets/{ticket.pk}/")
        shown = client_for(agent).get(f"/tickets/{ticket.pk}/", **HTMX)

        assert "HX-Trigger-After-Settle" not in plain
        assert shown["HX-Trigger-After-Settle"] == '{"live-refresh": {}}'


class TestTakeIt:
    def test_take_it_assigns_me_in_one_post(self, agent, ticket):
        response = client_for(agent).post(
            triage_url(ticket), {"assignee": agent.pk, "shown_assignee": ""}
        )

        assert response.status_code == 302
        assert flash_messages(response) == ["You took the ticket."]
        ticket.refresh_from_db()
        assert ticket.assignee == agent
        assert ticket.status == Ticket.Status.ACTIVE

    def test_take_it_is_not_blocked_by_a_customer_reply(
        self, agent, customer, ticket, make_message
    ):
        make_message(ticket, customer, "Any news?")  # bumps the version

        response = client_for(agent).post(
            triage_url(ticket), {"assignee": agent.pk, "shown_assignee": ""}
        )

        assert response.status_code == 302
        ticket.refresh_from_db()
        assert ticket.assignee == agent

    def test_take_it_is_refused_when_someone_else_took_it(self, agent, other_agent, ticket):
        ticket_assign(ticket=ticket, assignee=other_agent, by=other_agent)
        before = db_state()

        response = client_for(agent).post(
            triage_url(ticket), {"assignee": agent.pk, "shown_assignee": ""}
        )

        assert response.status_code == 409
        assert db_state() == before
        html = response.content.decode()
        assert 'data-conflict="assignee">Now: <strong>other_agent</strong>' in html
        # The agent's choice is kept, now measured against the new value: Save again takes it.
        assert f'<option value="{agent.pk}" selected>agent</option>' in html
        assert f'name="shown_assignee" value="{other_agent.pk}"' in html

    def test_the_button_is_not_shown_on_my_own_ticket(self, agent, ticket):
        client = client_for(agent)
        assert "Take it</button>" in client.get(f"/tickets/{ticket.pk}/").content.decode()
        ticket_assign(ticket=ticket, assignee=agent, by=agent)
        assert "Take it</button>" not in client.get(f"/tickets/{ticket.pk}/").content.decode()


class TestTriage:
    def test_one_save_applies_every_change_with_an_event_each(self, agent, other_agent, ticket):
        category = Category.objects.create(name="Billing")
        data = shown(ticket)
        data.update(
            status="closed",
            priority="urgent",
            assignee=other_agent.pk,
            category=category.pk,
            tags="vip, Printer",
        )

        response = client_for(agent).post(triage_url(ticket), data)

        assert response.status_code == 302
        ticket.refresh_from_db()
        assert (ticket.status, ticket.priority, ticket.assignee, ticket.category) == (
            "closed",
            "urgent",
            other_agent,
            category,
        )
        assert ticket.tag_names == ["Printer", "vip"]
        kinds = sorted(ticket.events.filter(actor=agent).values_list("kind", flat=True))
        # Assigning made it active first, then the status went to closed.
        assert kinds == ["assignment", "category", "priority", "status", "status", "tag", "tag"]

    def test_an_unchanged_form_changes_nothing(self, agent, ticket):
        before = db_state()

        response = client_for(agent).post(triage_url(ticket), shown(ticket))

        assert response.status_code == 302
        assert flash_messages(response) == ["Nothing was changed: the form is as the ticket was."]
        assert db_state() == before

    def test_an_unrelated_change_by_someone_else_does_not_block(
        self, agent, other_agent, customer, ticket, make_message
    ):
        page = shown(ticket)
        ticket_set_priority(ticket=ticket, priority="high", by=other_agent)
        make_message(ticket, customer, "Hello?")

        response = client_for(agent).post(triage_url(ticket), {**page, "tags": "printer"})

        assert response.status_code == 302
        ticket.refresh_from_db()
        assert ticket.tag_names == ["printer"]
        assert ticket.priority == "high"  # theirs, untouched by this save

    def test_a_conflict_shows_both_values_and_keeps_my_choices(self, agent, other_agent, ticket):
        page = shown(ticket)
        ticket_set_priority(ticket=ticket, priority="high", by=other_agent)
        ticket_set_tags(ticket=ticket, names=["theirs"], by=other_agent)
        before = db_state()

        response = client_for(agent).post(
            triage_url(ticket), {**page, "priority": "low", "status": "closed"}
        )

        assert response.status_code == 409
        assert db_state() == before
        html = response.content.decode()
        assert "other_agent changed priority after you opened the page" in html
        assert 'data-conflict="priority">Now: <strong>High</strong>' in html
        assert '<option value="low" selected>Low</option>' in html
        assert '<option value="closed" selected>Closed</option>' in html
        # Tags the agent did not touch show the ticket as it is now, so Save again keeps them.
        assert 'name="tags" id="id_tags" value="theirs"' in html
        again = dict(re.findall(r'<input type="hidden" name="(shown_\w+)" value="([^"]*)"', html))
        assert again["shown_priority"] == "high"
        assert again["shown_tags"] == "theirs"

        saved = client_for(agent).post(
            triage_url(ticket),
            {**page, **again, "priority": "low", "status": "closed", "tags": "theirs"},
        )
        assert saved.status_code == 302
        ticket.refresh_from_db()
        assert (ticket.priority, ticket.status, ticket.tag_names) == ("low", "closed", ["theirs"])

    def test_the_same_change_made_by_someone_else_is_no_conflict(self, agent, other_agent, ticket):
        page = shown(ticket)
        ticket_set_priority(ticket=ticket, priority="urgent", by=other_agent)

        response = client_for(agent).post(triage_url(ticket), {**page, "priority": "urgent"})

        assert response.status_code == 302

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("status", "lost"),
            ("priority", "<b>"),
            ("assignee", "999999"),
            ("category", "x"),
            ("tags", "a" * 41),
            ("tags", "bad\x07tag"),
            ("shown_assignee", "abc"),
            ("shown_tags", "x" * 41),
        ],
    )
    def test_bad_input_is_a_400_that_changes_nothing(self, agent, ticket, field, value):
        before = db_state()

        response = client_for(agent).post(triage_url(ticket), {**shown(ticket), field: value})

        assert response.status_code == 400
        assert db_state() == before
        assert flash_messages(response)[0].startswith("Nothing was changed")

    def test_a_move_the_workflow_does_not_allow_is_refused(self, agent, ticket):
        ticket.update_status(Ticket.Status.CLOSED, by=agent)

        response = client_for(agent).post(triage_url(ticket), {**shown(ticket), "status": "active"})

        assert response.status_code == 400

    def test_a_retired_category_is_refused(self, agent, ticket):
        retired = Category.objects.create(name="Old", active=False)

        response = client_for(agent).post(
            triage_url(ticket), {**shown(ticket), "category": retired.pk}
        )

        assert response.status_code == 400
        assert "no longer offered" in flash_messages(response)[0]

    def test_the_service_refuses_a_customer(self, customer, ticket):
        from django.core.exceptions import PermissionDenied

        with pytest.raises(PermissionDenied):
            ticket_triage(
                ticket=ticket,
                by=customer,
                changes={"priority": "low"},
                shown={"priority": "normal"},
            )

    def test_customers_get_a_404_even_on_their_own_ticket(self, customer, ticket):
        response = client_for(customer).post(triage_url(ticket), {"priority": "urgent"})

        assert response.status_code == 404
        ticket.refresh_from_db()
        assert ticket.priority == "normal"

    def test_htmx_gets_the_page_back(self, agent, ticket):
        response = client_for(agent).post(
            triage_url(ticket), {"assignee": agent.pk, "shown_assignee": ""}, follow=True, **HTMX
        )

        assert response.status_code == 200
        assert 'id="main"' in response.content.decode()


class TestCustomerPanel:
    def test_it_shows_the_customer_and_their_latest_five_other_tickets(
        self, agent, customer, other_customer, make_ticket
    ):
        customer.first_name, customer.last_name = "Alice", "<Liddell>"
        customer.save()
        others = [make_ticket(customer, title=f"Other {n}") for n in range(6)]
        make_ticket(other_customer, title="Not hers")
        ticket = make_ticket(customer, title="This one")
        others[-1].update_status(Ticket.Status.CLOSED, by=agent)

        html = client_for(agent).get(f"/tickets/{ticket.pk}/").content.decode()

        panel = html[html.index('id="customer-panel"') : html.index("All their tickets")]
        assert "Alice &lt;Liddell&gt;" in panel
        assert customer.email in panel
        listed = re.findall(r">#(\d+) ([^<]+)</a>", panel)
        # The most recently active first: the one just closed, then the newest.
        assert [title for _pk, title in listed] == [
            "Other 5",
            "Other 4",
            "Other 3",
            "Other 2",
            "Other 1",
        ]
        assert "Not hers" not in panel and "This one" not in panel
        assert '<span class="badge badge-status-closed">Closed</span>' in panel
        assert f'href="/tickets/?reporter={customer.pk}&amp;status=all"' in html

    def test_the_list_filters_by_reporter(self, agent, customer, other_customer, make_ticket):
        hers = make_ticket(customer, title="Hers")
        make_ticket(other_customer, title="His")

        html = client_for(agent).get(f"/tickets/?reporter={customer.pk}&status=all").content
        html = html.decode()

        assert hers.title in html and "His" not in html
        assert "One customer's tickets only" in html
        assert client_for(agent).get("/tickets/?reporter=x").status_code == 400

    def test_customers_cannot_filter_by_reporter(self, customer, other_customer, make_ticket):
        make_ticket(other_customer, title="His")
        mine = make_ticket(customer, title="Mine")

        html = client_for(customer).get(f"/tickets/?reporter={other_customer.pk}").content
        assert mine.title in html.decode()


class TestLive:
    def test_two_agents_see_each_other(self, agent, other_agent, ticket):
        first, second = client_for(agent), client_for(other_agent)

        assert "also viewing" not in first.get(f"/tickets/{ticket.pk}/").content.decode()
        html = second.get(f"/tickets/{ticket.pk}/").content.decode()
        assert "agent is also viewing" in html
        live = first.get(f"/tickets/{ticket.pk}/live/?seen=0", **HTMX).content.decode()
        assert "other_agent is also viewing" in live

    def test_presence_expires(self, settings, agent, other_agent, ticket):
        settings.TICKET_PRESENCE_SECONDS = -1  # every entry is already past its time
        client_for(agent).get(f"/tickets/{ticket.pk}/")

        html = client_for(other_agent).get(f"/tickets/{ticket.pk}/").content.decode()

        assert "also viewing" not in html

    def test_a_new_message_by_someone_else_is_offered(
        self, agent, other_agent, customer, ticket, make_message
    ):
        seen = make_message(ticket, agent, "Mine").pk
        client = client_for(agent)
        quiet = client.get(f"/tickets/{ticket.pk}/live/?seen={seen}", **HTMX).content.decode()
        assert "show it" not in quiet

        make_message(ticket, customer, "New <i>reply</i>")
        html = client.get(f"/tickets/{ticket.pk}/live/?seen={seen}", **HTMX).content.decode()
        assert "New reply from customer" in html
        assert f'hx-get="/tickets/{ticket.pk}/"' in html
        make_message(ticket, other_agent, "A note", is_internal=True)
        html = client.get(f"/tickets/{ticket.pk}/live/?seen={seen}", **HTMX).content.decode()
        assert "2 new messages" in html

    def test_it_costs_a_fixed_number_of_queries(
        self, agent, customer, ticket, make_message, django_assert_max_num_queries
    ):
        for number in range(20):
            make_message(ticket, customer, f"Message {number}")
        client = client_for(agent)
        client.get(f"/tickets/{ticket.pk}/live/?seen=0", **HTMX)

        # Session, user, ticket, the new messages.
        with django_assert_max_num_queries(4):
            response = client.get(f"/tickets/{ticket.pk}/live/?seen=0", **HTMX)
        assert "20 new messages" in response.content.decode()

    @pytest.mark.parametrize("seen", ["x", "-1", "1e3", str(2**63)])
    def test_a_bad_seen_id_is_a_400(self, agent, ticket, seen):
        response = client_for(agent).get(f"/tickets/{ticket.pk}/live/?seen={seen}", **HTMX)

        assert response.status_code == 400

    def test_without_htmx_it_is_the_ticket_page(self, agent, ticket):
        response = client_for(agent).get(f"/tickets/{ticket.pk}/live/")

        assert response.status_code == 302
        assert response["Location"] == f"/tickets/{ticket.pk}/"

    def test_customers_get_a_404(self, customer, ticket):
        response = client_for(customer).get(f"/tickets/{ticket.pk}/live/", **HTMX)

        assert response.status_code == 404
