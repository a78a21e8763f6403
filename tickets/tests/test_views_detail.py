"""The ticket page: the conversation, replies, internal notes and the timeline."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.models import Message
from tickets.models import Ticket
from tickets.services import ticket_assign, ticket_mark_seen, ticket_set_priority

from .page_helpers import client_for, db_state, flash_messages, reply_data


def detail_url(ticket: Ticket) -> str:
    return f"/tickets/{ticket.pk}/"


def reply_url(ticket: Ticket) -> str:
    return f"/tickets/{ticket.pk}/reply/"


class TestDetailPage:
    def test_it_shows_the_ticket(self, login, customer, ticket):
        response = login(customer).get(detail_url(ticket))

        assert response.status_code == 200
        content = response.content.decode()
        assert ticket.title in content
        assert ticket.description in content
        assert "reported by customer" in content
        assert "No messages yet." in content

    def test_customer_gets_no_triage_controls(self, login, customer, ticket):
        content = login(customer).get(detail_url(ticket)).content.decode()

        assert f'action="/tickets/{ticket.pk}/triage/"' not in content
        assert "Internal note" not in content
        assert "is_internal" not in content
        # The reporter may close their own ticket, but not mark it active.
        assert 'value="closed"' in content
        assert 'value="active"' not in content

    def test_staff_get_triage_controls(self, login, agent, ticket):
        content = login(agent).get(detail_url(ticket)).content.decode()

        # One triage form (and "Take it", sent to the same place), the two tabs of the editor.
        assert content.count(f'action="/tickets/{ticket.pk}/triage/"') == 2
        assert "Take it</button>" in content
        assert "Internal note</label>" in content
        assert '<option value="active">Active</option>' in content

    def test_the_assignee_choices_are_active_staff_only(
        self, login, agent, other_agent, customer, make_user, ticket
    ):
        retired = make_user("retired_agent", staff=True)
        retired.is_active = False
        retired.save()

        html = login(agent).get(detail_url(ticket)).content.decode()

        start = html.index('<select name="assignee"')
        select = html[start : html.index("</select>", start)]
        choices = set(re.findall(r'<option value="\d*"(?: selected)?>([^<]+)</option>', select))
        assert choices == {"Unassigned", "agent", "other_agent"}
        assert f'<option value="{agent.pk}">agent</option>' in select


class TestOpeningMarksTheReplySeen:
    """The reporter opening their ticket clears its "New reply" marker: one UPDATE, only when
    there is something to mark, and never on a HEAD (which shows nothing)."""

    @staticmethod
    def updates(queries) -> list[str]:
        return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]

    def test_a_get_marks_an_unseen_reply_seen_with_one_update(
        self, login, customer, agent, ticket, make_message, django_assert_max_num_queries
    ):
        make_message(ticket, agent, "Try turning it off and on again.")
        client = login(customer)

        with django_assert_max_num_queries(20) as queries:
            assert client.get(detail_url(ticket)).status_code == 200

        [update] = self.updates(queries)
        assert "reporter_seen_at" in update
        ticket.refresh_from_db()
        assert ticket.reporter_seen_at is not None
        assert not ticket.has_unseen_reply

    def test_a_head_writes_nothing(self, login, customer, agent, ticket, make_message):
        make_message(ticket, agent, "Try turning it off and on again.")
        client = login(customer)

        with CaptureQueriesContext(connection) as queries:
            response = client.head(detail_url(ticket))

        assert response.status_code == 200
        assert self.updates(queries) == []
        ticket.refresh_from_db()
        assert ticket.reporter_seen_at is None
        assert ticket.has_unseen_reply

    def test_opening_again_with_nothing_new_writes_nothing(
        self, login, customer, agent, ticket, make_message
    ):
        make_message(ticket, agent, "Try turning it off and on again.")
        client = login(customer)
        client.get(detail_url(ticket))
        ticket.refresh_from_db()
        seen_at = ticket.reporter_seen_at

        with CaptureQueriesContext(connection) as queries:
            assert client.get(detail_url(ticket)).status_code == 200

        assert self.updates(queries) == []
        ticket.refresh_from_db()
        assert ticket.reporter_seen_at == seen_at

    def test_the_update_writes_only_a_ticket_whose_reply_is_still_unseen(
        self, customer, agent, ticket, make_message
    ):
        """Two tabs: the second one's stale copy of the ticket does not write again."""
        make_message(ticket, agent, "Try turning it off and on again.")
        first, second = Ticket.objects.get(pk=ticket.pk), Ticket.objects.get(pk=ticket.pk)
        ticket_mark_seen(ticket=first, user=customer)

        with CaptureQueriesContext(connection) as queries:
            ticket_mark_seen(ticket=second, user=customer)

        # The one UPDATE finds no row still unseen: the first tab's time stays.
        assert len(self.updates(queries)) == 1
        assert Ticket.objects.get(pk=ticket.pk).reporter_seen_at == first.reporter_seen_at


class TestTimeline:
    def test_it_shows_the_events(self, login, customer, agent, other_agent, ticket):
        ticket_set_priority(ticket=ticket, priority=Ticket.Priority.HIGH, by=agent)
        ticket_assign(ticket=ticket, assignee=other_agent, by=agent)
        ticket.update_status(Ticket.Status.CLOSED, by=customer)

        content = client_for(agent).get(detail_url(ticket)).content.decode()
        lines = [
            "customer reported the ticket",
            "agent changed the priority from Normal to High",
            "agent assigned the ticket to other_agent",
            "agent changed the status from Open to Active",
            "customer changed the status from Active to Closed",
        ]
        positions = [content.find(line) for line in lines]
        assert -1 not in positions, lines[positions.index(-1)]
        assert positions == sorted(positions)

    def test_the_customer_sees_what_concerns_them_only(
        self, customer, agent, other_agent, ticket, make_message
    ):
        ticket_set_priority(ticket=ticket, priority=Ticket.Priority.HIGH, by=agent)
        ticket_assign(ticket=ticket, assignee=other_agent, by=agent)
        make_message(ticket, other_agent, "Fixed, I think.")
        ticket.update_status(Ticket.Status.CLOSED, by=agent)
        ticket.update_status(Ticket.Status.OPEN, by=customer)

        content = client_for(customer).get(detail_url(ticket)).content.decode()

        timeline = content[content.index('<ol class="timeline') :]
        items = re.findall(r"</time><br>([^<]*)</li>", timeline)
        assert items == [
            "customer reported the ticket",
            "other_agent replied",
            "agent closed the ticket",
            "customer reopened the ticket",
        ]
        for housekeeping in ("priority", "assigned", "Active", "tag"):
            assert housekeeping not in " ".join(items)

    def test_a_status_change_through_the_page_shows_up(self, login, agent, ticket):
        client = login(agent)

        client.post(
            f"/tickets/{ticket.pk}/status/", {"status": "active", "version": ticket.version}
        )

        content = client.get(detail_url(ticket)).content.decode()
        assert "agent changed the status from Open to Active" in content

    def test_a_system_event_is_shown_as_the_system(self, login, customer, ticket):
        ticket.update_status(Ticket.Status.CLOSED, by=customer)
        ticket.events.update(actor=None)

        content = login(customer).get(detail_url(ticket)).content.decode()

        assert "The system closed the ticket" in content


class TestReply:
    def test_customer_reply_is_stored_and_shown(self, login, customer, agent, ticket):
        response = login(customer).post(reply_url(ticket), reply_data("It is still on fire."))

        assert response.status_code == 302
        assert response["Location"] == detail_url(ticket)
        assert flash_messages(response) == ["Reply sent."]
        message = Message.objects.get()
        assert message.ticket == ticket
        assert message.sender == customer
        assert message.content == "It is still on fire."
        assert not message.is_internal
        ticket.refresh_from_db()
        assert ticket.first_response_at is None
        for user in (customer, agent):
            assert (
                "It is still on fire." in client_for(user).get(detail_url(ticket)).content.decode()
            )

    def test_agent_reply_sets_first_response_at_once(self, login, agent, other_agent, ticket):
        login(agent).post(reply_url(ticket), reply_data("Looking into it."))
        ticket.refresh_from_db()
        first = ticket.first_response_at
        assert first is not None
        assert ticket.last_staff_reply_at == first

        client_for(other_agent).post(reply_url(ticket), reply_data("Fixed."))

        ticket.refresh_from_db()
        assert ticket.first_response_at == first
        assert ticket.last_staff_reply_at > first
        assert Message.objects.filter(ticket=ticket, is_internal=False).count() == 2

    def test_agent_internal_note_is_hidden_from_the_customer(
        self, login, customer, agent, other_agent, ticket
    ):
        response = login(agent).post(
            reply_url(ticket), reply_data("Customer is on the old plan.", is_internal="on")
        )

        assert response.status_code == 302
        assert flash_messages(response) == ["Internal note added."]
        note = Message.objects.get()
        assert note.is_internal
        ticket.refresh_from_db()
        assert ticket.first_response_at is None  # a note is not a response to the customer
        customer_page = client_for(customer).get(detail_url(ticket)).content.decode()
        assert "Customer is on the old plan." not in customer_page
        assert "internal note" not in customer_page
        for staff in (agent, other_agent):
            staff_page = client_for(staff).get(detail_url(ticket)).content.decode()
            assert "Customer is on the old plan." in staff_page
            assert "internal note" in staff_page

    def test_customer_can_never_store_an_internal_note(self, login, customer, ticket):
        response = login(customer).post(
            reply_url(ticket), reply_data("Psst, staff only?", is_internal="on")
        )

        assert response.status_code in {302, 403}
        assert not Message.objects.filter(is_internal=True).exists()
        if response.status_code == 302:
            # Stored as an ordinary public message the customer can see.
            content = client_for(customer).get(detail_url(ticket)).content.decode()
            assert "Psst, staff only?" in content

    @pytest.mark.parametrize(
        "data",
        [
            {"content": ""},
            {"content": "   \n  "},
            {"content": "x" * 10_001},
            {"client_token": ""},
            {"client_token": "not-a-uuid"},
        ],
        ids=["empty", "blank", "too-long", "no-token", "bad-token"],
    )
    def test_an_invalid_reply_is_400_and_stores_nothing(self, data, login, customer, ticket):
        before = db_state()

        response = login(customer).post(reply_url(ticket), reply_data("ok") | data)

        assert response.status_code == 400
        assert "Your reply was not sent" in response.content.decode()
        assert db_state() == before

    def test_a_double_submit_stores_one_message(self, login, customer, ticket):
        data = reply_data("Sent twice by an impatient finger")
        client = login(customer)

        first = client.post(reply_url(ticket), data)
        second = client.post(reply_url(ticket), data)

        assert first.status_code == second.status_code == 302
        assert Message.objects.filter(ticket=ticket).count() == 1

    def test_a_token_from_another_ticket_is_refused(self, login, customer, make_ticket, ticket):
        other = make_ticket(customer)
        data = reply_data("Same form, other ticket")
        client = login(customer)
        client.post(reply_url(ticket), data)

        response = client.post(reply_url(other), data)

        assert response.status_code == 400
        assert "already used" in response.content.decode()
        assert not Message.objects.filter(ticket=other).exists()

    def test_content_is_escaped_not_executed_or_rendered_as_a_template(
        self, login, customer, agent, ticket
    ):
        login(customer).post(
            reply_url(ticket), reply_data("<script>alert(1)</script> {{ 7|add:1 }} {% now 'Y' %}")
        )

        for user in (customer, agent):
            content = client_for(user).get(detail_url(ticket)).content.decode()
            assert "<script>alert(1)</script>" not in content
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
            assert "{{ 7|add:1 }}" in content
            assert "{% now &#x27;Y&#x27; %}" in content

    def test_line_breaks_are_kept(self, login, customer, ticket):
        login(customer).post(reply_url(ticket), reply_data("First line\nSecond line\n\nThird"))

        content = login(customer).get(detail_url(ticket)).content.decode()

        bodies = re.findall(r'<div class="message-body">(.*?)</div>', content, re.DOTALL)
        assert bodies == ["First line\nSecond line\n\nThird"]
        # The browser shows those newlines because the element keeps white space.
        css = Path(finders.find("css/site.css")).read_text(encoding="utf-8")
        assert re.search(r"\.message-body\s*\{[^}]*white-space:\s*pre-wrap", css)

    def test_a_reporter_reply_reopens_a_closed_ticket(self, login, customer, ticket):
        ticket.update_status(Ticket.Status.CLOSED, by=customer)

        login(customer).post(reply_url(ticket), reply_data("Actually it broke again."))

        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.OPEN
        assert ticket.closed_at is None
        assert list(ticket.events.values_list("from_value", "to_value")) == [
            ("open", "closed"),
            ("closed", "open"),
        ]

    def test_the_conversation_is_in_order(self, login, customer, agent, ticket, make_message):
        for number, sender in enumerate([customer, agent, customer, agent], start=1):
            make_message(ticket, sender, f"Message number {number}.")

        content = login(customer).get(detail_url(ticket)).content.decode()

        positions = [content.find(f"Message number {n}.") for n in range(1, 5)]
        assert -1 not in positions
        assert positions == sorted(positions)
