"""The ticket pages' markup (templates/tickets/): what each list row, message, timeline entry and
form shows, for whom and in the site's time zone, and that whatever a person typed (titles,
usernames, messages) arrives escaped by Django's autoescape, never marked safe."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import set_script_prefix
from django.utils import timezone

from messaging.models import Message
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_assign
from tickets.templatetags.ticket_display import (
    iso,
    moment,
    priority_class,
    priority_label,
    status_label,
)

from .page_helpers import client_for, reply_data

HOSTILE = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
# 23:30 UTC on 5 January is half past midnight on the 6th in Paris (CET, UTC+1).
SENT = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)
SENT_IN_PARIS = '<time datetime="2026-01-06T00:30:00+01:00">06 Jan 2026, 00:30 CET</time>'


def page(user, path: str, **kwargs) -> str:
    response = client_for(user).get(path, **kwargs)
    assert response.status_code == 200
    return response.content.decode()


def list_rows(html: str) -> list[str]:
    """The <tr>s of a list page's table body."""
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return re.findall(r"<tr>.*?</tr>", body, re.DOTALL)


def articles(html: str) -> list[str]:
    return re.findall(r"<article.*?</article>", html, re.DOTALL)


def timeline(html: str) -> list[str]:
    """The timeline's entries, as text with the markup between them."""
    start = html.index('<ol class="timeline')
    block = html[start : html.index("</ol>", start)]
    return re.findall(r"<li>(.*?)</li>", block, re.DOTALL)


def select(html: str, name: str) -> str:
    start = html.index(f'<select name="{name}"')
    return html[start : html.index("</select>", start)]


@pytest.fixture
def hostile_agent(make_user):
    """A staff member whose username is markup (usernames typed in the admin are not limited
    to the registration form's characters)."""
    return make_user("agent<b>", staff=True)


class TestListRows:
    def test_a_customers_row_escapes_the_title_and_has_no_staff_columns(
        self, customer, make_ticket
    ):
        ticket = make_ticket(customer, title=HOSTILE)
        Ticket.objects.filter(pk=ticket.pk).update(
            last_activity_at=timezone.now() - timedelta(hours=3, seconds=5)
        )

        html = page(customer, "/tickets/")

        [row] = list_rows(html)
        assert ESCAPED in row
        assert HOSTILE not in html
        assert f'<a href="{ticket.pk}/">{ESCAPED}</a>' in row
        assert "3\xa0hours ago</time>" in row
        assert row.count("<td") == 6
        assert "Awaiting first response" not in row
        assert "Unassigned" not in row

    def test_the_reporter_sees_an_unseen_staff_reply_until_they_open_the_ticket(
        self, customer, agent, ticket, make_message
    ):
        make_message(ticket, agent, "Try again now.")

        assert "New reply" in list_rows(page(customer, "/tickets/"))[0]
        # Only the reporter is told: staff see the same ticket without the marker.
        assert "New reply" not in list_rows(page(agent, "/tickets/"))[0]
        page(customer, f"/tickets/{ticket.pk}/")
        assert "New reply" not in list_rows(page(customer, "/tickets/"))[0]

    def test_a_staff_row_names_reporter_and_assignee_escaped(
        self, agent, hostile_agent, customer, make_ticket, make_message
    ):
        make_ticket(customer, title="Nobody has it")
        assigned = make_ticket(customer, title="Someone has it")
        ticket_assign(ticket=assigned, assignee=hostile_agent, by=agent)
        make_message(assigned, hostile_agent, "Looking.")
        closed = make_ticket(customer, title="Closed unanswered")
        closed.update_status(Ticket.Status.CLOSED, by=customer)

        rows = {
            title: row
            for row in list_rows(page(agent, "/tickets/?status=all"))
            for title in ["Nobody has it", "Someone has it", "Closed unanswered"]
            if title in row
        }

        assert "<td>customer</td>" in rows["Nobody has it"]
        assert '<span class="text-body-secondary">Unassigned</span>' in rows["Nobody has it"]
        assert "Awaiting first response" in rows["Nobody has it"]
        assert "<td>agent&lt;b&gt;</td>" in rows["Someone has it"]
        assert "agent<b>" not in rows["Someone has it"]
        assert "Awaiting first response" not in rows["Someone has it"]
        assert "Awaiting first response" not in rows["Closed unanswered"]
        assert all(row.count("<td") == 9 for row in rows.values())  # a box to tick, and 8 columns

    def test_the_last_activity_is_in_the_site_time_zone(self, settings, customer, ticket):
        settings.TIME_ZONE = "Europe/Paris"
        Ticket.objects.filter(pk=ticket.pk).update(last_activity_at=SENT)

        [row] = list_rows(page(customer, "/tickets/"))

        assert '<time datetime="2026-01-06T00:30:00+01:00" title="06 Jan 2026, 00:30 CET">' in row


class TestBadges:
    def test_each_status_has_its_label_on_the_list_and_the_ticket_page(
        self, agent, customer, make_ticket
    ):
        for status in Ticket.Status:
            ticket = make_ticket(customer)
            if status != Ticket.Status.OPEN:
                ticket.update_status(status, by=agent)
            badge = f'<span class="badge badge-status-{status.value}">{status.label}</span>'
            assert badge in page(agent, f"/tickets/{ticket.pk}/")
            assert badge in page(agent, f"/tickets/?status={status.value}")

    @pytest.mark.parametrize(
        ("priority", "css"),
        [
            ("urgent", "text-bg-danger"),
            ("high", "text-bg-warning"),
            ("normal", "text-bg-secondary"),
            ("low", "text-bg-light border"),
        ],
    )
    def test_each_priority_has_its_colour_and_label(self, priority, css, customer, make_ticket):
        ticket = make_ticket(customer, priority=priority)
        badge = f'<span class="badge {css}">{Ticket.Priority(priority).label}</span>'

        assert badge in page(customer, f"/tickets/{ticket.pk}/")
        assert badge in list_rows(page(customer, "/tickets/"))[0]

    def test_no_time_is_no_text(self):
        assert iso(None) == moment(None) == ""

    def test_a_value_outside_the_choices_is_shown_as_it_is(self):
        # The database refuses one (a check constraint); the filters still say something.
        assert status_label("<x>") == "<x>"
        assert priority_label("<x>") == "<x>"
        assert priority_class("<x>") == "text-bg-secondary"


class TestConversation:
    def test_a_customers_message(self, customer, ticket, make_message):
        make_message(ticket, customer, HOSTILE)
        Message.objects.update(created_at=SENT)

        [card] = articles(page(customer, f"/tickets/{ticket.pk}/"))

        assert card.startswith('<article class="card mb-2" aria-label="Message from customer">')
        assert f'<div class="message-body">{ESCAPED}</div>' in card
        assert "<script>" not in card
        assert "badge" not in card
        assert 'datetime="2026-01-05T23:30:00+00:00"' in card

    def test_a_staff_reply_and_an_internal_note_are_marked(
        self, hostile_agent, customer, ticket, make_message
    ):
        make_message(ticket, hostile_agent, "On it.")
        make_message(ticket, hostile_agent, "The fuser again.", is_internal=True)

        reply, note = articles(page(hostile_agent, f"/tickets/{ticket.pk}/"))

        assert reply.startswith('<article class="card mb-2 message-staff"')
        assert 'aria-label="Message from agent&lt;b&gt;"' in reply
        assert '<strong class="text-body">agent&lt;b&gt;</strong>' in reply
        assert '<span class="badge text-bg-primary">staff</span>' in reply
        assert "internal note</span>" not in reply
        assert note.startswith('<article class="card mb-2 message-internal"')
        assert '<span class="badge text-bg-primary">staff</span>' in note
        assert '<span class="badge text-bg-warning">internal note</span>' in note
        # The reporter sees the reply, not the note.
        [seen] = articles(page(customer, f"/tickets/{ticket.pk}/"))
        assert "On it." in seen

    def test_a_staff_member_on_their_own_ticket_is_not_marked_staff(
        self, agent, make_ticket, make_message
    ):
        ticket = make_ticket(agent)
        make_message(ticket, agent, "My own question.")
        make_message(ticket, agent, "A note to self.", is_internal=True)

        question, note = articles(page(agent, f"/tickets/{ticket.pk}/"))

        assert question.startswith('<article class="card mb-2" ')
        assert "badge" not in question
        assert note.startswith('<article class="card mb-2 message-internal"')
        assert ">staff<" not in note
        assert ">internal note<" in note

    def test_messages_are_in_order_in_the_site_time_zone_or_it_says_there_are_none(
        self, settings, customer, agent, ticket, make_message
    ):
        settings.TIME_ZONE = "Europe/Paris"
        assert "No messages yet." in page(customer, f"/tickets/{ticket.pk}/")
        make_message(ticket, customer, "first")
        make_message(ticket, agent, HOSTILE)
        Message.objects.update(created_at=SENT)

        html = page(customer, f"/tickets/{ticket.pk}/")

        first, second = articles(html)
        assert "first" in first and ESCAPED in second
        assert SENT_IN_PARIS in first and SENT_IN_PARIS in second
        assert "No messages yet." not in html


class TestTimeline:
    def test_each_event_says_when_who_and_what_escaped(
        self, settings, customer, agent, hostile_agent, ticket
    ):
        settings.TIME_ZONE = "Europe/Paris"
        ticket_assign(ticket=ticket, assignee=hostile_agent, by=hostile_agent)
        TicketEvent.objects.create(
            ticket=ticket,
            actor=None,
            kind=TicketEvent.Kind.STATUS,
            from_value=Ticket.Status.ACTIVE,
            to_value=Ticket.Status.CLOSED,
        )
        Ticket.objects.filter(pk=ticket.pk).update(created_at=SENT)
        ticket.events.update(created_at=SENT + timedelta(hours=1))

        html = page(agent, f"/tickets/{ticket.pk}/")

        reported, *events = timeline(html)
        assert reported == f"{SENT_IN_PARIS}<br>customer reported the ticket"
        assert events[0].startswith(
            '<time datetime="2026-01-06T01:30:00+01:00">06 Jan 2026, 01:30 CET</time><br>'
        )
        assert events[0].endswith("<br>agent&lt;b&gt; assigned the ticket to agent&lt;b&gt;")
        assert events[-1].endswith("<br>The system changed the status from Active to Closed")
        assert len(events) == ticket.events.count() == 3  # assigned, made active, closed
        assert "agent<b>" not in html
        # The customer: only what concerns them, in their words (no assignment, no "active").
        reported, *events = timeline(page(customer, f"/tickets/{ticket.pk}/"))
        assert reported == f"{SENT_IN_PARIS}<br>customer reported the ticket"
        assert events == [
            '<time datetime="2026-01-06T01:30:00+01:00">06 Jan 2026, 01:30 CET</time><br>'
            "The system closed the ticket"
        ]


class TestReplyForm:
    def test_a_new_form_has_a_token_and_for_staff_the_note_box(self, customer, agent, ticket):
        customer_page = page(customer, f"/tickets/{ticket.pk}/")
        staff_page = page(agent, f"/tickets/{ticket.pk}/")

        for html in (customer_page, staff_page):
            assert re.search(r'name="client_token" value="[0-9a-f-]{36}"', html)
            assert 'name="content"' in html
            assert "is-invalid" not in html
        assert "is_internal" not in customer_page
        # The audience is the button pressed: only the note tab's button sends is_internal.
        assert staff_page.count('name="is_internal"') == 1
        assert re.search(
            r'<button type="submit" name="is_internal" value="on" class="btn btn-warning '
            r'note-only" data-send>Add internal note</button>',
            staff_page,
        )
        assert '<button type="submit" name="send" value="reply"' in staff_page
        assert '<input type="radio" class="btn-check" name="tab" id="tab-reply"' in staff_page

    def test_a_refused_form_keeps_what_was_typed_escaped_and_says_why(self, agent, ticket):
        response = client_for(agent).post(
            f"/tickets/{ticket.pk}/reply/",
            {"content": HOSTILE, "client_token": "x", "is_internal": "on"},
        )

        assert response.status_code == 400
        html = response.content.decode()
        assert re.search(rf'<textarea name="content"[^>]*>\n{re.escape(ESCAPED)}</textarea>', html)
        assert HOSTILE not in html
        assert "<li>This form is out of date or was altered; reload the page.</li>" in html
        assert re.search(r'<input type="hidden" name="client_token" value="x"', html)
        # Refused on the note tab: the page comes back on the note tab.
        assert re.search(r'<input type="radio" [^>]*id="tab-note" value="note"[^>]* checked>', html)
        assert not Message.objects.exists()

    def test_an_empty_reply_is_marked_invalid(self, customer, ticket):
        response = client_for(customer).post(
            f"/tickets/{ticket.pk}/reply/", reply_data("", client_token=str(uuid.uuid4()))
        )

        assert response.status_code == 400
        html = response.content.decode()
        assert re.search(
            r'<textarea name="content"[^>]*class="form-control" required aria-invalid="true" '
            r'aria-describedby="id_content_error"',
            html,
        )
        assert re.search(
            r'<div id="id_content_error" class="invalid-feedback d-block">\s*<p[^>]*><strong>'
            r"This field is required.</strong></p>",
            html,
        )
        assert "alert-danger" not in html[html.index('action="/tickets/') :]


class TestSelects:
    def test_the_triage_selects_show_the_tickets_assignee_and_priority(
        self, agent, hostile_agent, ticket
    ):
        ticket_assign(ticket=ticket, assignee=hostile_agent, by=agent)
        ticket.refresh_from_db()

        html = page(agent, f"/tickets/{ticket.pk}/")

        assignees = select(html, "assignee")
        assert f'<option value="{hostile_agent.pk}" selected>agent&lt;b&gt;</option>' in assignees
        assert f'<option value="{agent.pk}">agent</option>' in assignees
        assert '<option value="">Unassigned</option>' in assignees
        assert (
            '<select name="assignee" id="id_assignee" class="form-select form-select-sm">' in html
        )
        assert '<option value="normal" selected>Normal</option>' in select(html, "priority")
        assert (
            '<select name="priority" id="id_priority" class="form-select form-select-sm">' in html
        )
        # Each field's value as the page showed it, for the conflict check.
        shown = f'<input type="hidden" name="shown_assignee" value="{hostile_agent.pk}"'
        assert shown in html
        assert '<input type="hidden" name="shown_priority" value="normal"' in html

    def test_an_unassigned_ticket_selects_unassigned(self, agent, ticket):
        assignees = select(page(agent, f"/tickets/{ticket.pk}/"), "assignee")

        assert '<option value="" selected>Unassigned</option>' in assignees
        assert assignees.count("selected") == 1

    def test_the_filters_show_what_was_asked_for(self, agent):
        html = page(agent, "/tickets/?status=all&priority=high&assignee=me")

        assert '<select name="status" class="form-select form-select-sm" id="id_status">' in html
        assert '<option value="all" selected>All</option>' in select(html, "status")
        assert '<option value="high" selected>High</option>' in select(html, "priority")
        assert '<option value="me" selected>Assigned to me</option>' in select(html, "assignee")
        defaults = page(agent, "/tickets/")
        assert '<option value="" selected>Not closed</option>' in select(defaults, "status")
        assert '<option value="" selected>Any priority</option>' in select(defaults, "priority")
        assert '<option value="" selected>Anyone</option>' in select(defaults, "assignee")

    def test_a_customer_has_no_assignee_filter(self, customer):
        html = page(customer, "/tickets/")

        assert 'name="status"' in html
        assert 'name="assignee"' not in html


class TestLinks:
    @pytest.mark.parametrize("prefix", ["/", "/helpdesk/"])
    def test_the_links_and_forms_follow_the_script_prefix(self, prefix, agent, ticket):
        set_script_prefix(prefix)
        try:
            listing = page(agent, "/tickets/")
            detail = page(agent, f"/tickets/{ticket.pk}/")
        finally:
            set_script_prefix("/")

        # The list's links are relative to its own address, which carries the prefix.
        assert f'<a href="{ticket.pk}/">' in list_rows(listing)[0]
        assert f'action="{prefix}tickets/bulk/"' in listing
        for action in ["reply", "triage"]:
            assert f'action="{prefix}tickets/{ticket.pk}/{action}/"' in detail
        assert f'href="{prefix}admin/tickets/ticket/{ticket.pk}/change/"' in detail


class TestAdminTicketPage:
    def test_the_conversation_and_timeline_are_escaped_in_the_site_time_zone(
        self, settings, admin_user, hostile_agent, ticket, make_message
    ):
        settings.TIME_ZONE = "Europe/Paris"
        make_message(ticket, hostile_agent, HOSTILE, is_internal=True)
        ticket_assign(ticket=ticket, assignee=hostile_agent, by=hostile_agent)
        Message.objects.update(created_at=SENT)
        ticket.events.update(created_at=SENT)

        html = page(admin_user, f"/admin/tickets/ticket/{ticket.pk}/change/")

        conversation = html[html.index('<div id="ticket-conversation">') :]
        conversation = conversation[: conversation.index('<table id="ticket-timeline">')]
        assert 'aria-label="Message from agent&lt;b&gt;"' in conversation
        assert f"<p><strong>agent&lt;b&gt;</strong> · {SENT_IN_PARIS} · INTERNAL NOTE</p>" in (
            conversation
        )
        assert f'<div style="white-space: pre-wrap">{ESCAPED}</div>' in conversation
        timeline = html[html.index('<table id="ticket-timeline">') :]
        timeline = timeline[: timeline.index("</table>")]
        assert (
            f"<tr><td>{SENT_IN_PARIS}</td><td>agent&lt;b&gt;</td>"
            "<td>assigned the ticket to agent&lt;b&gt;</td></tr>"
        ) in timeline
        assert HOSTILE not in html and "agent<b>" not in html


def test_every_template_comment_closes_on_its_own_line():
    """Django's {# #} comment is one line: one that runs on is printed on the page as text."""

    from django.conf import settings

    open_comments = [
        f"{path.relative_to(settings.BASE_DIR)}:{number}"
        for path in sorted((settings.BASE_DIR / "templates").rglob("*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "{#" in line and "#}" not in line[line.rindex("{#") :]
    ]
    assert open_comments == []
