"""`manage.py ingest_email FILE|-` (a mail server's pipe, an operator's file) and the Celery
task beat runs (its IMAP side: test_mailbox.py; through a real worker: tests/test_worker.py)."""

from __future__ import annotations

import io
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from messaging.models import InboundEmail
from messaging.tasks import fetch_mail
from messaging.tests.inbound_helpers import mail, mail_settings, sample  # noqa: F401
from tests.dovecot import Dovecot
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mail_settings")]


def ingest_email(*args) -> str:
    out = StringIO()
    call_command("ingest_email", *args, stdout=out)
    return out.getvalue()


def test_a_mail_from_a_file_opens_a_ticket(tmp_path, customer):
    path = tmp_path / "mail.eml"
    path.write_bytes(sample("gmail_new_ticket.eml"))

    output = ingest_email(str(path))

    [ticket] = Ticket.objects.all()
    assert f"processed, a new ticket #{ticket.pk}" in output
    assert InboundEmail.objects.get().source == f"file {path}"


def test_a_mail_from_standard_input_and_again(monkeypatch, customer):
    raw = mail(message_id="<piped@example.com>")
    for _ in range(2):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
        output = ingest_email("-", "--source", "postfix pipe")

    assert "already stored as" in output
    assert Ticket.objects.count() == 1
    assert InboundEmail.objects.get().source == "postfix pipe"


def test_a_mail_over_the_limit_is_refused_so_the_mail_server_keeps_it(tmp_path, settings, customer):
    settings.INBOUND_MAX_BYTES = 100
    path = tmp_path / "big.eml"
    path.write_bytes(mail(body="x" * 500))

    with pytest.raises(CommandError, match="INBOUND_MAX_BYTES"):
        ingest_email(str(path))
    assert InboundEmail.objects.count() == 0


def test_a_missing_file_is_one_clear_line(tmp_path):
    with pytest.raises(CommandError, match="Could not read"):
        ingest_email(str(tmp_path / "nothing.eml"))


def test_the_periodic_task_fetches_the_mailbox(settings, customer, caplog):
    server = Dovecot().start()
    try:
        for name, value in server.settings().items():
            setattr(settings, name, value)
        settings.REDIS_URL = ""
        server.deliver(mail(subject="By the task"))

        fetch_mail.delay()

        assert Ticket.objects.get().title == "By the task"
        assert "fetch_mail: mail 1: #" in caplog.text
    finally:
        server.remove()
