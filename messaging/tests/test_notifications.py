"""Who hears about a new message on a ticket, and what the email says.

Each email is an outbox row written with the message, sent by a task after the commit (eager in
tests); each test runs the action inside `django_capture_on_commit_callbacks(execute=True)` so
the callbacks run as they would on commit.
"""

import logging
import uuid

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.urls import reverse
from post_office.models import STATUS, Email

from messaging.models import Message
from tests.mail_helpers import html_of, recipients
from tickets.models import Ticket
from tickets.services import ticket_assign

STAFF_ADDRESSES = ["admin@example.com", "agent@example.com", "other_agent@example.com"]


class RefusingMailServer(BaseEmailBackend):
    """A mail server that is down: every send is refused."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError(111, "Connection refused")


@pytest.fixture
def assigned_ticket(ticket, agent):
    """The customer's ticket, assigned to `agent` (and so active); no mail is sent for it."""
    ticket_assign(ticket=ticket, assignee=agent, by=agent)
    return ticket


# A public reply by staff


def test_staff_reply_goes_to_the_reporter_only(
    assigned_ticket,
    customer,
    agent,
    other_agent,
    admin_user,
    make_message,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        make_message(assigned_ticket, other_agent, "Have you tried turning it off and on?")

    # Not the sender, not the assignee, not the other staff.
    assert recipients() == ["customer@example.com"]


def test_staff_reply_email_is_the_reply_with_the_ticket_link_below_it(
    settings, assigned_ticket, agent, make_message, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://desk.example.com"

    with django_capture_on_commit_callbacks(execute=True):
        make_message(assigned_ticket, agent, "Have you tried turning it off and on?")

    [email] = mail.outbox
    link = f"https://desk.example.com/tickets/{assigned_ticket.pk}/"
    assert email.subject == f"Re: [#{assigned_ticket.pk}] {assigned_ticket.title}"
    # The reply first (so that answering it by mail makes sense), then who wrote it and where.
    assert email.body.startswith("Have you tried turning it off and on?\n")
    assert email.body.index(link) > email.body.index("Have you tried turning it off and on?")
    assert (
        f'agent replied on ticket #{assigned_ticket.pk}, "{assigned_ticket.title}".' in email.body
    )
    assert f"Reply on the ticket: {link}" in email.body
    # The customer's words: the latest public message is staff's.
    assert "Status: Waiting for your reply" in email.body
    html = html_of(email)
    assert html.index("Have you tried turning it off and on?") < html.index(f'href="{link}"')


def test_with_a_help_desk_address_the_email_says_a_reply_by_mail_works(
    settings, assigned_ticket, agent, make_message, django_capture_on_commit_callbacks
):
    settings.HELPDESK_EMAIL = "support@desk.example.com"

    with django_capture_on_commit_callbacks(execute=True):
        make_message(assigned_ticket, agent, "Fixed?")

    [email] = mail.outbox
    assert "Reply to this email, or on the ticket: " in email.body
    assert email.extra_headers["Reply-To"].startswith(f"support+t{assigned_ticket.pk}.")


def test_staff_reply_is_not_sent_to_its_staff_sender(
    ticket, agent, make_message, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        make_message(ticket, agent, "On it.")

    assert "agent@example.com" not in recipients()
    assert recipients() == ["customer@example.com"]


def test_internal_note_notifies_nobody(
    assigned_ticket,
    agent,
    other_agent,
    admin_user,
    make_message,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        make_message(assigned_ticket, other_agent, "Customer is on the old plan.", is_internal=True)

    assert Message.objects.filter(ticket=assigned_ticket, is_internal=True).count() == 1
    assert mail.outbox == []


# A reply by the reporter


def test_reporter_reply_goes_to_the_assignee_only(
    assigned_ticket,
    customer,
    agent,
    other_agent,
    admin_user,
    make_message,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        make_message(assigned_ticket, customer, "Still broken.")

    assert recipients() == ["agent@example.com"]
    [email] = mail.outbox
    assert email.subject == f"Re: [#{assigned_ticket.pk}] {assigned_ticket.title}"
    assert email.body.startswith("Still broken.")
    assert f"customer wrote on ticket #{assigned_ticket.pk}" in email.body
    assert f"/tickets/{assigned_ticket.pk}/" in email.body


def test_reporter_reply_on_an_unassigned_ticket_goes_to_all_staff(
    ticket,
    customer,
    agent,
    other_agent,
    admin_user,
    make_message,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        make_message(ticket, customer, "Anyone there?")

    assert recipients() == STAFF_ADDRESSES


def test_reporter_reply_on_an_unassigned_ticket_goes_to_the_configured_staff_addresses(
    settings, ticket, customer, agent, make_message, django_capture_on_commit_callbacks
):
    settings.HELPDESK_STAFF_EMAILS = ["desk@example.com"]

    with django_capture_on_commit_callbacks(execute=True):
        make_message(ticket, customer, "Anyone there?")

    assert recipients() == ["desk@example.com"]


def test_reporter_reply_that_reopens_a_closed_ticket_tells_the_assignee_not_the_reporter(
    assigned_ticket, customer, agent, make_message, django_capture_on_commit_callbacks
):
    assigned_ticket.update_status(Ticket.Status.CLOSED, by=agent)

    with django_capture_on_commit_callbacks(execute=True):
        make_message(assigned_ticket, customer, "It broke again.")

    assigned_ticket.refresh_from_db()
    assert assigned_ticket.status == Ticket.Status.OPEN
    # The reopen is the reporter's own change: no status email to them; the reply to the assignee.
    assert recipients() == ["agent@example.com"]
    [email] = mail.outbox
    assert "It broke again." in email.body
    assert "Status: Open" in email.body


# Turned off, inactive


def test_reporter_who_turned_mail_off_on_the_profile_page_gets_nothing(
    login, ticket, customer, agent, make_message, django_capture_on_commit_callbacks
):
    response = login(customer).post(reverse("accounts:profile"), {"first_name": "Ada"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.notify_by_email is False

    with django_capture_on_commit_callbacks(execute=True):
        make_message(ticket, agent, "Fixed it.")
        ticket.update_status(Ticket.Status.CLOSED, by=agent)

    assert mail.outbox == []


def test_assignee_who_turned_mail_off_gets_no_reply_email(
    assigned_ticket, customer, agent, make_message, django_capture_on_commit_callbacks
):
    agent.notify_by_email = False
    agent.save(update_fields=["notify_by_email"])

    with django_capture_on_commit_callbacks(execute=True):
        make_message(assigned_ticket, customer, "Still broken.")

    assert mail.outbox == []


def test_unassigned_reply_skips_staff_who_turned_mail_off(
    ticket, customer, agent, other_agent, make_message, django_capture_on_commit_callbacks
):
    other_agent.notify_by_email = False
    other_agent.save(update_fields=["notify_by_email"])

    with django_capture_on_commit_callbacks(execute=True):
        make_message(ticket, customer, "Anyone there?")

    assert recipients() == ["agent@example.com"]


def test_inactive_reporter_gets_no_reply_email(
    ticket, customer, agent, make_message, deactivate, django_capture_on_commit_callbacks
):
    deactivate(customer)

    with django_capture_on_commit_callbacks(execute=True):
        make_message(ticket, agent, "Fixed it.")

    assert mail.outbox == []


def test_inactive_staff_get_nothing_about_an_unassigned_ticket(
    ticket,
    customer,
    agent,
    other_agent,
    make_message,
    deactivate,
    django_capture_on_commit_callbacks,
):
    deactivate(other_agent)

    with django_capture_on_commit_callbacks(execute=True):
        make_message(ticket, customer, "Anyone there?")

    assert recipients() == ["agent@example.com"]


def test_reply_on_a_ticket_whose_assignee_left_goes_to_the_active_staff(
    assigned_ticket,
    customer,
    agent,
    other_agent,
    make_message,
    deactivate,
    django_capture_on_commit_callbacks,
):
    deactivate(agent)

    with django_capture_on_commit_callbacks(execute=True):
        make_message(assigned_ticket, customer, "Hello?")

    # Not the deactivated assignee; and not nobody: the reply must reach someone.
    assert recipients() == ["other_agent@example.com"]


# One email each, rollback, a failing mail server, escaping


def test_each_recipient_gets_their_own_email(
    ticket,
    customer,
    agent,
    other_agent,
    admin_user,
    make_message,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        make_message(ticket, customer, "Anyone there?")

    assert len(mail.outbox) == 3
    assert [len(email.to) for email in mail.outbox] == [1, 1, 1]
    assert recipients() == STAFF_ADDRESSES


def test_a_rolled_back_message_sends_nothing(
    ticket, agent, make_message, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        make_message(ticket, agent, "This never happened.")
        raise RuntimeError("something later failed")

    assert callbacks == []
    assert mail.outbox == []
    assert not Message.objects.filter(content="This never happened.").exists()


def test_a_failing_mail_server_does_not_fail_the_reply_and_the_mail_waits_for_a_retry(
    settings, caplog, login, ticket, agent, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingMailServer"
    url = reverse("tickets:reply", args=[ticket.pk])
    data = {"content": "We are looking into it.", "client_token": str(uuid.uuid4())}

    with (
        caplog.at_level(logging.WARNING, logger="accounts.outbox"),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = login(agent).post(url, data)

    assert response.status_code == 302
    assert response["Location"] == ticket.get_absolute_url()
    assert len(callbacks) == 1
    assert Message.objects.filter(ticket=ticket, content="We are looking into it.").count() == 1
    assert mail.outbox == []
    # Not lost: the email waits in the outbox for its next try, with the server's answer.
    [email] = Email.objects.all()
    assert email.to == ["customer@example.com"]
    assert email.status == STATUS.requeued
    assert email.number_of_retries == 1
    [attempt] = email.logs.all()
    assert attempt.exception_type == "ConnectionRefusedError"
    assert "Connection refused" in attempt.message
    [record] = [r for r in caplog.records if r.name == "accounts.outbox"]
    assert record.levelno == logging.WARNING
    assert f"Email #{email.pk} was not sent (ConnectionRefusedError)" in record.getMessage()
    # No address and no content in the log.
    assert "customer@example.com" not in record.getMessage()


def test_title_and_message_are_escaped_in_the_html_part(
    make_ticket, customer, agent, make_message, django_capture_on_commit_callbacks
):
    ticket = make_ticket(customer, title="<script>alert(1)</script>")

    with django_capture_on_commit_callbacks(execute=True):
        make_message(ticket, agent, "<script>alert(2)</script>")

    [email] = mail.outbox
    html = html_of(email)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    # The plain-text part and the subject show what was typed (no HTML there to escape for).
    assert "<script>alert(2)</script>" in email.body
    assert email.subject == f"Re: [#{ticket.pk}] <script>alert(1)</script>"


def test_a_title_with_a_line_break_gives_a_one_line_reply_subject(
    make_ticket, customer, agent, make_message, django_capture_on_commit_callbacks
):
    ticket = make_ticket(customer, title="a\nBcc: x@evil.example")

    with django_capture_on_commit_callbacks(execute=True):
        make_message(ticket, agent, "Hi")

    [email] = mail.outbox
    assert email.subject == f"Re: [#{ticket.pk}] a Bcc: x@evil.example"
    assert email.to == ["customer@example.com"]
    assert email.message()["Bcc"] is None
