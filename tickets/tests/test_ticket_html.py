"""The ticket pages' repeated parts (tickets/templatetags/ticket_html.py), without a database:
what each row and message shows, for whom, and that user text always arrives escaped."""

import uuid
from datetime import UTC, datetime, timedelta

from django.template import Context
from django.test import SimpleTestCase, override_settings
from django.urls import reverse, set_script_prefix
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.models import User
from helpdesk_site.html import html as _html
from messaging.models import Message
from tickets.forms import ReplyForm
from tickets.models import Ticket
from tickets.selectors import TimelineEntry
from tickets.templatetags.ticket_html import (
    choice_options,
    conversation,
    message_card,
    moment,
    priority_badge,
    reply_fields,
    status_badge,
    ticket_action_url,
    ticket_row,
    ticket_rows,
    ticket_url,
    timeline,
)

HOSTILE = '<script>alert("x")</script>'


def people():
    customer = User(pk=1, username="carol", is_staff=False)
    agent = User(pk=2, username="agent<b>", is_staff=True)
    return customer, agent


def ticket(**fields) -> Ticket:
    customer, _ = people()
    now = timezone.now()
    values = {
        "pk": 7,
        "title": HOSTILE,
        "status": Ticket.Status.OPEN,
        "priority": Ticket.Priority.HIGH,
        "reporter": customer,
        "last_activity_at": now - timedelta(hours=3),
        "created_at": now - timedelta(days=1),
    }
    return Ticket(**{**values, **fields})


class EscapingTests(SimpleTestCase):
    def test_html_escapes_like_format_html(self):
        template = '<a title="{}" href="{}">{}</a>{}'
        values = [HOSTILE, "a&b'c\"d", 12, SafeString("<b>kept</b>")]
        self.assertEqual(_html(template, *values), format_html(template, *values))
        self.assertNotIn("<script>", _html(template, *values))
        self.assertIsInstance(_html(template, *values), SafeString)


class TicketUrlTests(SimpleTestCase):
    def test_it_is_the_ticket_pages_url(self):
        self.assertEqual(ticket_url(7), ticket(pk=7).get_absolute_url())
        self.assertEqual(ticket_url(1234567890), "/tickets/1234567890/")

    def test_it_follows_the_script_prefix(self):
        set_script_prefix("/helpdesk/")
        try:
            self.assertEqual(ticket_url(7), "/helpdesk/tickets/7/")
            self.assertEqual(ticket_url(7), ticket(pk=7).get_absolute_url())
        finally:
            set_script_prefix("/")

    def test_every_action_url_of_the_ticket_page_is_the_reversed_one(self):
        names = [
            "tickets:reply",
            "tickets:status",
            "tickets:assign",
            "tickets:priority",
            "admin:tickets_ticket_change",
        ]
        for prefix in ["/", "/helpdesk/"]:
            set_script_prefix(prefix)
            try:
                for name in names:
                    for pk in [7, 1234567890, 2**40]:
                        self.assertEqual(ticket_url(pk, name), reverse(name, args=[pk]))
                        self.assertEqual(
                            ticket_action_url(name, ticket(pk=pk)), reverse(name, args=[pk])
                        )
            finally:
                set_script_prefix("/")


class BadgeTests(SimpleTestCase):
    def test_each_status_and_priority_has_its_label(self):
        for status in Ticket.Status:
            html = status_badge(ticket(status=status))
            self.assertIn(f"badge-status-{status.value}", html)
            self.assertIn(f">{status.label}<", html)
        self.assertIn('text-bg-warning">High<', priority_badge(ticket()))
        self.assertIn('text-bg-danger">Urgent<', priority_badge(ticket(priority="urgent")))

    def test_a_value_outside_the_choices_is_shown_escaped(self):
        self.assertIn("&lt;x&gt;", status_badge(ticket(status="<x>")))
        self.assertIn("&lt;x&gt;", priority_badge(ticket(priority="<x>")))


class MomentTests(SimpleTestCase):
    @override_settings(TIME_ZONE="Europe/Paris")
    def test_in_the_site_time_zone_machine_and_human_readable(self):
        html = moment(datetime(2026, 1, 5, 23, 30, tzinfo=UTC))
        self.assertEqual(
            html, '<time datetime="2026-01-06T00:30:00+01:00">06 Jan 2026, 00:30 CET</time>'
        )

    def test_none_is_empty(self):
        self.assertEqual(moment(None), "")


class TicketRowTests(SimpleTestCase):
    def test_customer_row_escapes_the_title_and_has_no_staff_columns(self):
        customer, _ = people()
        html = ticket_row(Context({"user": customer}), ticket())
        self.assertIn("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;", html)
        self.assertNotIn("<script>", html)
        self.assertIn('href="/tickets/7/"', html)
        self.assertIn("3\xa0hours ago</time>", html)
        self.assertEqual(html.count("<td"), 5)
        self.assertNotIn("Awaiting first response", html)

    def test_reporter_sees_an_unseen_staff_reply(self):
        customer, _ = people()
        now = timezone.now()
        unseen = ticket(last_staff_reply_at=now, reporter_seen_at=now - timedelta(minutes=1))
        seen = ticket(last_staff_reply_at=now, reporter_seen_at=now)
        self.assertIn("New reply", ticket_row(Context({"user": customer}), unseen))
        self.assertNotIn("New reply", ticket_row(Context({"user": customer}), seen))

    def test_staff_row_names_reporter_and_assignee_escaped(self):
        _, agent = people()
        context = Context({"user": agent})
        unassigned = ticket_row(context, ticket())
        self.assertIn("<td>carol</td>", unassigned)
        self.assertIn("Unassigned", unassigned)
        self.assertIn("Awaiting first response", unassigned)
        assigned = ticket_row(context, ticket(assignee=agent, first_response_at=timezone.now()))
        self.assertIn("<td>agent&lt;b&gt;</td>", assigned)
        self.assertNotIn("Awaiting first response", assigned)
        self.assertNotIn("Awaiting", ticket_row(context, ticket(status=Ticket.Status.CLOSED)))


class MessageCardTests(SimpleTestCase):
    def card(self, sender, *, internal=False, reporter=None):
        customer, _ = people()
        the_ticket = ticket(reporter=reporter or customer)
        message = Message(
            pk=1,
            ticket=the_ticket,
            sender=sender,
            content=HOSTILE,
            is_internal=internal,
            created_at=datetime(2026, 1, 5, 12, 0, tzinfo=UTC),
        )
        return message_card(message, the_ticket)

    def test_customer_message(self):
        customer, _ = people()
        html = self.card(customer)
        self.assertIn('<article class="card mb-2" aria-label="Message from carol">', html)
        self.assertIn("&lt;script&gt;", html)
        self.assertNotIn("<script>", html)
        self.assertNotIn("badge", html)
        self.assertIn('datetime="2026-01-05T12:00:00+00:00"', html)

    def test_staff_reply_and_internal_note(self):
        _, agent = people()
        reply = self.card(agent)
        self.assertIn("card mb-2 message-staff", reply)
        self.assertIn("Message from agent&lt;b&gt;", reply)
        self.assertIn(">staff<", reply)
        note = self.card(agent, internal=True)
        self.assertIn("card mb-2 message-internal", note)
        self.assertIn(">staff<", note)
        self.assertIn(">internal note<", note)

    def test_staff_member_on_their_own_ticket_is_not_marked_staff(self):
        _, agent = people()
        html = self.card(agent, reporter=agent)
        self.assertNotIn("message-staff", html)
        self.assertNotIn(">staff<", html)


class ListingTests(SimpleTestCase):
    def test_rows_are_the_rows_of_each_ticket_in_order(self):
        customer, _ = people()
        context = Context({"user": customer})
        tickets = [ticket(pk=3), ticket(pk=9, title="second")]
        self.assertEqual(
            ticket_rows(context, tickets),
            ticket_row(context, tickets[0]) + ticket_row(context, tickets[1]),
        )
        self.assertEqual(ticket_rows(context, []), "")

    @override_settings(TIME_ZONE="Europe/Paris")
    def test_conversation_is_every_card_in_order_or_says_there_is_none(self):
        customer, agent = people()
        the_ticket = ticket()
        sent = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)
        messages = [
            Message(pk=1, ticket=the_ticket, sender=customer, content="first", created_at=sent),
            Message(pk=2, ticket=the_ticket, sender=agent, content=HOSTILE, created_at=sent),
        ]
        html = conversation(messages, the_ticket)
        self.assertEqual(
            html, message_card(messages[0], the_ticket) + message_card(messages[1], the_ticket)
        )
        self.assertLess(html.index("first"), html.index("&lt;script&gt;"))
        self.assertNotIn("<script>", html)
        self.assertIn(
            '<time datetime="2026-01-06T00:30:00+01:00">06 Jan 2026, 00:30 CET</time>', html
        )
        self.assertIn("No messages yet.", conversation([], the_ticket))


class TimelineTests(SimpleTestCase):
    @override_settings(TIME_ZONE="Europe/Paris")
    def test_each_event_says_when_who_and_what_escaped(self):
        at = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)
        html = timeline(
            [
                TimelineEntry(at, None, "changed the status from Open to Closed"),
                TimelineEntry(
                    at + timedelta(hours=1), HOSTILE, f"assigned the ticket to {HOSTILE}"
                ),
            ]
        )
        self.assertEqual(
            html.split("</li>")[0],
            '<li><time datetime="2026-01-06T00:30:00+01:00">06 Jan 2026, 00:30 CET</time><br>'
            "The system changed the status from Open to Closed",
        )
        self.assertIn("<br>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; assigned the", html)
        self.assertNotIn("<script>", html)
        self.assertEqual(html.count("<li>"), 2)
        self.assertEqual(timeline([]), "")


class ReplyFieldsTests(SimpleTestCase):
    def test_a_new_form_has_a_token_and_for_staff_the_note_box(self):
        customer_form = reply_fields(ReplyForm())
        self.assertRegex(customer_form, r'name="client_token" value="[0-9a-f-]{36}"')
        self.assertNotIn("is_internal", customer_form)
        self.assertNotIn("is-invalid", customer_form)
        staff_form = reply_fields(ReplyForm(allow_internal=True))
        self.assertIn('id="id_is_internal">', staff_form)

    def test_a_refused_form_keeps_the_text_escaped_and_says_why(self):
        form = ReplyForm(
            {"content": HOSTILE, "client_token": "x", "is_internal": "on"}, allow_internal=True
        )
        self.assertFalse(form.is_valid())
        html = reply_fields(form)
        self.assertIn(">\n&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</textarea>", html)
        self.assertNotIn("<script>", html)
        self.assertIn("<li>This form is out of date or was altered; reload the page.</li>", html)
        self.assertIn('value="x"', html)
        self.assertIn('id="id_is_internal" checked>', html)

    def test_an_empty_reply_is_marked_invalid(self):
        form = ReplyForm({"content": "", "client_token": str(uuid.uuid4())})
        self.assertFalse(form.is_valid())
        html = reply_fields(form)
        self.assertIn('class="textarea form-control is-invalid" aria-invalid="true"', html)
        self.assertIn("<p><strong>This field is required.</strong></p>", html)
        self.assertNotIn("alert-danger", html)


class ChoiceOptionsTests(SimpleTestCase):
    def test_the_current_value_is_selected_and_labels_are_escaped(self):
        html = choice_options([("", "Anyone"), (4, "agent<b>"), (5, "erin")], 4)
        self.assertEqual(
            html,
            '<option value="">Anyone</option><option value="4" selected>agent&lt;b&gt;</option>'
            '<option value="5">erin</option>',
        )

    def test_none_selects_the_empty_choice(self):
        html = choice_options([("", "Unassigned"), (4, "agent")], None)
        self.assertIn('<option value="" selected>Unassigned</option>', html)
        self.assertNotIn('value="4" selected', html)
