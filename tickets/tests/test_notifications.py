"""Who hears about new tickets, status changes and assignments, and what the email says.

Each email is an outbox row written with the change, sent by a task after the commit (eager in
tests); each test runs the action inside `django_capture_on_commit_callbacks(execute=True)` so
the callbacks run as they would on commit. The headers and the outbox itself:
tickets/tests/test_outbox.py.
"""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import transaction

from tests.mail_helpers import html_of, recipients
from tickets.models import Ticket
from tickets.services import ticket_assign

STAFF_ADDRESSES = ["admin@example.com", "agent@example.com", "other_agent@example.com"]


# A new ticket


def test_new_ticket_goes_to_every_active_agent_and_admin_but_not_the_reporter(
    customer, agent, other_agent, admin_user, make_ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(customer)

    assert recipients() == STAFF_ADDRESSES


def test_new_ticket_by_an_agent_is_not_sent_back_to_that_agent(
    agent, other_agent, make_ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(agent)

    assert recipients() == ["other_agent@example.com"]


def test_new_ticket_goes_only_to_the_configured_staff_addresses(
    settings, customer, agent, admin_user, make_ticket, django_capture_on_commit_callbacks
):
    settings.HELPDESK_STAFF_EMAILS = ["desk@example.com"]

    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(customer)

    assert recipients() == ["desk@example.com"]


def test_new_ticket_email_has_the_id_link_title_status_and_an_html_part(
    settings, customer, agent, make_ticket, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://desk.example.com"

    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(customer, title="VPN drops every hour")

    [email] = mail.outbox
    link = f"https://desk.example.com/tickets/{ticket.pk}/"
    assert f"[#{ticket.pk}]" in email.subject
    assert "VPN drops every hour" in email.subject
    assert link in email.body
    assert "VPN drops every hour" in email.body
    assert "Status: Open" in email.body
    html = html_of(email)
    assert f'href="{link}"' in html
    assert "VPN drops every hour" in html


def test_new_ticket_skips_inactive_agents_and_agents_who_turned_mail_off(
    customer,
    agent,
    other_agent,
    admin_user,
    make_ticket,
    deactivate,
    django_capture_on_commit_callbacks,
):
    deactivate(other_agent)
    admin_user.notify_by_email = False
    admin_user.save(update_fields=["notify_by_email"])

    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(customer)

    assert recipients() == ["agent@example.com"]


def test_new_ticket_title_is_escaped_in_the_html_part(
    customer, agent, make_ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(
            customer,
            title="<script>alert(1)</script>",
            description="<script>alert(2)</script>",
        )

    [email] = mail.outbox
    html = html_of(email)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_a_title_with_a_line_break_gives_a_one_line_subject(
    customer, agent, make_ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        # A form strips surrounding space only; the service must cope with an inner newline.
        ticket = make_ticket(customer, title="a\nBcc: x@evil.example")

    [email] = mail.outbox
    assert "\n" not in email.subject
    assert "\r" not in email.subject
    assert email.subject == f"[#{ticket.pk}] a Bcc: x@evil.example"
    assert email.to == ["agent@example.com"]
    assert email.bcc == []
    assert email.message()["Bcc"] is None


def test_the_subject_shows_the_title_as_typed_not_html_escaped(
    customer, agent, make_ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(customer, title="Can't print & <scan>")

    [email] = mail.outbox
    assert email.subject == f"[#{ticket.pk}] Can't print & <scan>"


def test_a_rolled_back_ticket_sends_nothing(
    customer, agent, make_ticket, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        make_ticket(customer, title="Never happened")
        raise RuntimeError("something later failed")

    assert callbacks == []
    assert mail.outbox == []
    assert not Ticket.objects.filter(title="Never happened").exists()


# Status changes


@pytest.mark.parametrize(
    ("start", "target", "label", "verb"),
    [
        ("open", "closed", "Closed", "closed"),
        ("active", "closed", "Closed", "closed"),
        # The customer reads their words for the status (CUSTOMER_STATUS_LABELS).
        ("closed", "open", "Waiting for support", "reopened"),
    ],
)
def test_closing_or_reopening_by_staff_tells_the_reporter(
    start, target, label, verb, ticket, agent, django_capture_on_commit_callbacks
):
    if start != "open":
        ticket.update_status(start, by=agent)  # not captured: sends nothing

    with django_capture_on_commit_callbacks(execute=True):
        event = ticket.update_status(target, by=agent)

    assert event is not None
    assert recipients() == ["customer@example.com"]
    [email] = mail.outbox
    # The ticket's subject, as every email of the ticket has it (mail clients thread them).
    assert email.subject == f"Re: [#{ticket.pk}] {ticket.title}"
    assert email.body.startswith(f'agent {verb} your ticket #{ticket.pk}, "{ticket.title}".')
    assert f"Status: {label}" in email.body
    assert f"/tickets/{ticket.pk}/" in email.body
    assert f"<strong>{label}</strong>" in html_of(email)


@pytest.mark.parametrize(("start", "target"), [("open", "active"), ("active", "open")])
def test_a_ticket_becoming_active_or_open_again_is_no_news_to_the_reporter(
    start, target, ticket, agent, django_capture_on_commit_callbacks
):
    if start != "open":
        ticket.update_status(start, by=agent)

    with django_capture_on_commit_callbacks(execute=True):
        event = ticket.update_status(target, by=agent)

    assert event is not None
    ticket.refresh_from_db()
    assert ticket.status == target
    assert mail.outbox == []


def test_a_closed_ticket_email_says_a_reply_reopens_it(
    ticket, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket.update_status("closed", by=agent)

    [email] = mail.outbox
    assert "If the problem is not solved, reply on the ticket" in email.body
    assert "reply on the ticket" in html_of(email)


def test_a_repeated_status_change_sends_nothing(ticket, agent, django_capture_on_commit_callbacks):
    ticket.update_status("active", by=agent)

    with django_capture_on_commit_callbacks(execute=True):
        assert ticket.update_status("active", by=agent) is None

    assert mail.outbox == []


def test_a_refused_status_change_sends_nothing(
    ticket, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied):
        ticket.update_status("active", by=customer)

    assert mail.outbox == []


def test_reporter_closing_their_own_ticket_gets_no_status_email(
    ticket, customer, agent, django_capture_on_commit_callbacks
):
    ticket_assign(ticket=ticket, assignee=agent, by=agent)

    with django_capture_on_commit_callbacks(execute=True):
        ticket.update_status("closed", by=customer)

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert mail.outbox == []


def test_reporter_reopening_their_own_ticket_gets_no_status_email(
    ticket, customer, agent, django_capture_on_commit_callbacks
):
    ticket.update_status("closed", by=agent)

    with django_capture_on_commit_callbacks(execute=True):
        ticket.update_status("open", by=customer)

    assert mail.outbox == []


def test_status_email_skips_a_reporter_who_turned_mail_off(
    ticket, customer, agent, django_capture_on_commit_callbacks
):
    customer.notify_by_email = False
    customer.save(update_fields=["notify_by_email"])

    with django_capture_on_commit_callbacks(execute=True):
        ticket.update_status("closed", by=agent)

    assert mail.outbox == []


def test_status_email_skips_an_inactive_reporter(
    ticket, customer, agent, deactivate, django_capture_on_commit_callbacks
):
    deactivate(customer)

    with django_capture_on_commit_callbacks(execute=True):
        ticket.update_status("closed", by=agent)

    assert mail.outbox == []


def test_a_rolled_back_status_change_sends_nothing(
    ticket, agent, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        ticket.update_status("closed", by=agent)
        raise RuntimeError("something later failed")

    assert callbacks == []
    assert mail.outbox == []
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


# Assignment


def test_assigning_an_open_ticket_tells_the_assignee_only(
    ticket, agent, other_agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket_assign(ticket=ticket, assignee=other_agent, by=agent)

    # The ticket became active too: no news for the reporter.
    assert recipients() == ["other_agent@example.com"]
    [assigned] = mail.outbox
    assert assigned.subject == f"Re: [#{ticket.pk}] {ticket.title}"
    assert assigned.body.startswith(f"agent assigned ticket #{ticket.pk} from customer to you.")
    assert f"/tickets/{ticket.pk}/" in assigned.body
    # The email says what is true once the change is done.
    assert "Status: Active" in assigned.body


def test_assigning_yourself_sends_nothing(ticket, agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket_assign(ticket=ticket, assignee=agent, by=agent)

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.ACTIVE
    assert mail.outbox == []


def test_reassigning_an_active_ticket_tells_only_the_new_assignee(
    ticket, agent, other_agent, django_capture_on_commit_callbacks
):
    ticket_assign(ticket=ticket, assignee=agent, by=agent)

    with django_capture_on_commit_callbacks(execute=True):
        ticket_assign(ticket=ticket, assignee=other_agent, by=agent)

    assert recipients() == ["other_agent@example.com"]
    assert "assigned ticket" in mail.outbox[0].body


def test_unassigning_sends_nothing(ticket, agent, other_agent, django_capture_on_commit_callbacks):
    ticket_assign(ticket=ticket, assignee=other_agent, by=agent)

    with django_capture_on_commit_callbacks(execute=True):
        ticket_assign(ticket=ticket, assignee=None, by=agent)

    assert mail.outbox == []


def test_assignee_who_turned_mail_off_gets_no_assigned_email(
    ticket, agent, other_agent, django_capture_on_commit_callbacks
):
    other_agent.notify_by_email = False
    other_agent.save(update_fields=["notify_by_email"])

    with django_capture_on_commit_callbacks(execute=True):
        ticket_assign(ticket=ticket, assignee=other_agent, by=agent)

    assert mail.outbox == []
