"""The outbox: mail is a row saved with the change, sent once after the commit, never lost.

Tasks run in the test process (eager); tests/test_worker.py runs the same through a real Celery
worker and beat, and with the broker down. The mail servers here are real (aiosmtpd on a loopback port) where a test says
"up" or "down"; elsewhere Django's test outbox.
"""

import logging
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from post_office.models import STATUS, Email

from accounts import outbox
from accounts.tasks import send_emails, send_outbox
from tests.mail_helpers import SmtpServer, send_over
from tickets.mail_ids import parse_message_id, thread_root
from tickets.models import Ticket


class RefusingMailServer:
    """A mail server that is down: every send is refused (a Django email backend)."""

    def __init__(self, **kwargs):
        pass

    def open(self):
        raise ConnectionRefusedError(111, "Connection refused")

    def close(self):
        pass

    def send_messages(self, email_messages):
        raise ConnectionRefusedError(111, "Connection refused")


@pytest.fixture
def smtp(settings):
    """A real SMTP server on a loopback port, not started yet (down)."""
    server = send_over(settings, SmtpServer())
    yield server
    server.stop()


def close_ticket(ticket, agent, django_capture_on_commit_callbacks) -> Email:
    """An agent closes the ticket; returns the one outbox row (to the reporter) it queued."""
    with django_capture_on_commit_callbacks(execute=True):
        ticket.update_status(Ticket.Status.CLOSED, by=agent)
    [email] = Email.objects.all()
    return email


# --- Written with the change -------------------------------------------------------------------


def test_the_mail_is_a_row_written_in_the_transaction_of_the_change(ticket, agent):
    with transaction.atomic():
        ticket.update_status(Ticket.Status.CLOSED, by=agent)
        # Before the commit: the row is there, queued, and nothing was sent.
        [email] = Email.objects.all()
        assert email.status == STATUS.queued
        assert email.to == ["customer@example.com"]
    assert mail.outbox == []


def test_a_change_that_is_rolled_back_leaves_no_mail_behind(ticket, agent):
    with pytest.raises(RuntimeError), transaction.atomic():
        ticket.update_status(Ticket.Status.CLOSED, by=agent)
        raise RuntimeError("something later failed")

    assert not Email.objects.exists()


def test_after_the_commit_the_row_is_sent_and_marked_sent(
    ticket, agent, django_capture_on_commit_callbacks
):
    email = close_ticket(ticket, agent, django_capture_on_commit_callbacks)

    email.refresh_from_db()
    assert email.status == STATUS.sent
    [sent] = mail.outbox
    assert sent.to == ["customer@example.com"]
    assert sent.extra_headers["Message-ID"] == email.message_id


# --- Sent once ----------------------------------------------------------------------------------


def test_a_row_is_sent_once_however_often_it_is_asked_for(
    ticket, agent, django_capture_on_commit_callbacks
):
    email = close_ticket(ticket, agent, django_capture_on_commit_callbacks)

    # The task delivered twice, and the periodic task running beside it.
    send_emails([email.pk])
    send_emails([email.pk])
    assert outbox.send_due() == outbox.Sent()

    assert len(mail.outbox) == 1


def test_a_row_claimed_by_one_worker_is_not_sent_by_another(ticket, agent):
    with transaction.atomic():
        ticket.update_status(Ticket.Status.CLOSED, by=agent)
    email = Email.objects.get()

    [claimed] = outbox.claim(ids=[email.pk])

    # While the first worker holds it, neither the task nor the sweep takes it.
    assert outbox.send([email.pk]) == outbox.Sent()
    assert outbox.send_due() == outbox.Sent()
    assert mail.outbox == []
    claimed.refresh_from_db()
    assert claimed.status == STATUS.queued
    assert claimed.scheduled_time > email.created + outbox.LEASE - timedelta(minutes=1)


def test_a_row_whose_worker_died_is_sent_when_its_lease_is_over(ticket, agent):
    with transaction.atomic():
        ticket.update_status(Ticket.Status.CLOSED, by=agent)
    email = Email.objects.get()
    outbox.claim(ids=[email.pk])  # and the worker that claimed it never came back

    Email.objects.filter(pk=email.pk).update(
        scheduled_time=email.created - timedelta(seconds=1)  # the lease ran out
    )

    assert outbox.send_due() == outbox.Sent(sent=1)
    assert len(mail.outbox) == 1


# --- Down, then up: nothing lost ----------------------------------------------------------------


def test_smtp_server_down_then_up_the_mail_arrives_exactly_once(
    smtp, ticket, agent, django_capture_on_commit_callbacks
):
    # The server is down: the change is saved, the mail waits.
    email = close_ticket(ticket, agent, django_capture_on_commit_callbacks)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    email.refresh_from_db()
    assert email.status == STATUS.requeued
    assert list(email.logs.values_list("exception_type", flat=True)) == ["ConnectionRefusedError"]
    assert outbox.send_due() == outbox.Sent(failed=1)  # still down

    smtp.start()
    outbox.send_due()
    # Late and repeated: the task again, and the periodic task again.
    send_emails([email.pk])
    outbox.send_due()

    [received] = smtp.received_by("customer@example.com")
    assert len(smtp.messages) == 1
    assert received["Message-ID"] == email.message_id
    assert parse_message_id(received["Message-ID"]).ticket_id == ticket.pk
    assert received["Auto-Submitted"] == "auto-generated"
    email.refresh_from_db()
    assert email.status == STATUS.sent
    assert email.number_of_retries == 2
    assert email.logs.count() == 2


def test_a_failed_try_is_tried_again_later_and_later_then_listed_as_failed(
    settings, ticket, agent, django_capture_on_commit_callbacks, caplog
):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingMailServer"
    settings.POST_OFFICE = {
        **settings.POST_OFFICE,
        "MAX_RETRIES": 3,
        "RETRY_INTERVAL": timedelta(minutes=1),
    }
    email = close_ticket(ticket, agent, django_capture_on_commit_callbacks)
    waits = []
    for _ in range(3):
        email.refresh_from_db()
        assert email.status == STATUS.requeued
        waits.append(email.scheduled_time - email.last_updated)
        # Not due before its time...
        assert outbox.send_due() == outbox.Sent()
        # ...and tried again once it is.
        Email.objects.filter(pk=email.pk).update(scheduled_time=email.last_updated)
        assert outbox.send_due() == outbox.Sent(failed=1)

    assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    email.refresh_from_db()
    assert email.status == STATUS.failed
    assert email.number_of_retries == 3
    assert email.logs.count() == 4
    assert outbox.send_due() == outbox.Sent()
    assert any(
        record.levelno == logging.ERROR and "listed as failed in the admin" in record.getMessage()
        for record in caplog.records
    )


def test_send_again_puts_failed_mail_back_and_leaves_the_rest(
    settings, ticket, agent, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingMailServer"
    settings.POST_OFFICE = {**settings.POST_OFFICE, "MAX_RETRIES": 0}
    failed = close_ticket(ticket, agent, django_capture_on_commit_callbacks)
    failed.refresh_from_db()
    assert failed.status == STATUS.failed
    with transaction.atomic():
        ticket.update_status(Ticket.Status.OPEN, by=agent)  # reopened: queued, not failed
    queued = Email.objects.exclude(pk=failed.pk).get()

    assert outbox.send_again([failed.pk, queued.pk]) == [failed.pk]

    failed.refresh_from_db()
    assert (failed.status, failed.number_of_retries, failed.scheduled_time) == (
        STATUS.queued,
        0,
        None,
    )
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert outbox.send_due() == outbox.Sent(sent=2)
    assert len(mail.outbox) == 2


def test_a_mail_the_outbox_cannot_take_is_left_out_not_the_change(
    settings, customer, agent, make_ticket, caplog, django_capture_on_commit_callbacks
):
    settings.HELPDESK_STAFF_EMAILS = ["not an address", "desk@example.com"]

    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(customer)

    assert Ticket.objects.filter(pk=ticket.pk).exists()
    assert [email.to for email in mail.outbox] == [["desk@example.com"]]
    assert any("An email was not queued" in r.getMessage() for r in caplog.records)


# --- The headers --------------------------------------------------------------------------------


def test_every_email_of_a_ticket_answers_the_tickets_own_message_id(
    settings, customer, agent, make_ticket, make_message, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(customer)  # to the agent: the first email of the thread
        message = make_message(ticket, agent, "Looking.")
        ticket.update_status(Ticket.Status.CLOSED, by=agent)

    created, reply, closed = mail.outbox
    root = thread_root(ticket.pk)
    assert created.extra_headers["Message-ID"] == root
    assert "In-Reply-To" not in created.extra_headers
    assert created.subject == f"[#{ticket.pk}] {ticket.title}"
    for follow_up in (reply, closed):
        assert follow_up.extra_headers["In-Reply-To"] == root
        assert follow_up.extra_headers["References"] == root
        assert follow_up.subject == f"Re: [#{ticket.pk}] {ticket.title}"
    assert parse_message_id(reply.extra_headers["Message-ID"]).message_id == message.pk
    event = ticket.events.get(to_value="closed")
    assert parse_message_id(closed.extra_headers["Message-ID"]).event_id == event.pk
    # Parsed as a mail client will: one Message-ID each, the signed ones.
    assert [email.message()["Message-ID"] for email in mail.outbox] == [
        email.extra_headers["Message-ID"] for email in mail.outbox
    ]


def test_every_email_says_it_is_automatic_and_has_a_one_click_unsubscribe(
    settings, customer, agent, make_ticket, make_message, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://desk.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(customer)
        make_message(ticket, agent, "Looking.")

    for email in mail.outbox:
        headers = email.message()
        assert headers["Auto-Submitted"] == "auto-generated"
        assert headers["X-Auto-Response-Suppress"] == "All"
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = headers["List-Unsubscribe"]
        assert link.startswith("<https://desk.example.com/accounts/unsubscribe/")
        assert link.endswith("/>")
        assert link[1:-1] in email.body
    # Without HELPDESK_EMAIL there is no address a reply would reach: no Reply-To.
    assert all(email.message()["Reply-To"] is None for email in mail.outbox)


def test_a_staff_address_that_is_no_users_gets_no_unsubscribe_link(
    settings, customer, make_ticket, django_capture_on_commit_callbacks
):
    settings.HELPDESK_STAFF_EMAILS = ["desk@example.com"]
    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(customer)

    [email] = mail.outbox
    assert email.message()["List-Unsubscribe"] is None
    assert email.message()["Auto-Submitted"] == "auto-generated"
    assert "staff addresses" in email.body


def test_with_a_help_desk_address_replies_go_to_the_tickets_plus_address(
    settings, ticket, agent, make_message, django_capture_on_commit_callbacks
):
    settings.HELPDESK_EMAIL = "support@desk.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        make_message(ticket, agent, "Looking.")

    [email] = mail.outbox
    reply_to = email.message()["Reply-To"]
    assert reply_to.startswith(f"support+t{ticket.pk}.")
    assert reply_to.endswith("@desk.example.com")
    assert email.extra_headers["Message-ID"].endswith("@desk.example.com>")


# --- By hand ------------------------------------------------------------------------------------


def test_the_send_outbox_command_sends_what_is_due(ticket, agent, capsys):
    with transaction.atomic():
        ticket.update_status(Ticket.Status.CLOSED, by=agent)

    call_command("send_outbox", "--dry-run")
    assert capsys.readouterr().out == "1 email(s) due.\n"
    assert mail.outbox == []

    call_command("send_outbox")
    assert capsys.readouterr().out.startswith("Sent 1 email(s); 0 failed")
    assert len(mail.outbox) == 1
    call_command("send_outbox")
    assert capsys.readouterr().out.startswith("Sent 0 email(s); 0 failed")


def test_the_periodic_task_sends_what_is_due(ticket, agent):
    with transaction.atomic():
        ticket.update_status(Ticket.Status.CLOSED, by=agent)  # its task never ran

    send_outbox.delay()

    assert Email.objects.get().status == STATUS.sent
    assert len(mail.outbox) == 1
