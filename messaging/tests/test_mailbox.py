"""`manage.py fetch_mail` against a real IMAP server: Dovecot on a loopback port, started by
the test (tests/dovecot.py), mail put in by IMAP APPEND. Skipped, saying why, without Dovecot."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

import messaging.mailbox as mailbox_module
from messaging.models import InboundEmail
from messaging.tasks import fetch_mail as fetch_task
from messaging.tests.inbound_helpers import MAIL_DIR, mail, mail_settings, sample  # noqa: F401
from tests.dovecot import Dovecot
from tests.servers import free_port, port_answers
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mail_settings")]
Status = InboundEmail.Status
SEEN = "\\Seen"


@pytest.fixture
def dovecot(settings):
    server = Dovecot().start()
    for name, value in server.settings().items():
        setattr(settings, name, value)
    settings.IMAP_PROCESSED_FOLDER = ""
    settings.REDIS_URL = ""
    settings.CELERY_BROKER_URL = "memory://"
    try:
        yield server
    finally:
        server.remove()


def fetch(**options) -> str:
    from io import StringIO

    out = StringIO()
    call_command("fetch_mail", stdout=out, **options)
    return out.getvalue()


def test_fetch_mail_opens_tickets_and_marks_each_mail_done(dovecot, customer):
    dovecot.deliver(
        mail(message_id="<one@example.com>", subject="First"),
        mail(message_id="<two@example.com>", subject="Second"),
    )

    output = fetch()

    assert sorted(Ticket.objects.values_list("title", flat=True)) == ["First", "Second"]
    assert [SEEN in flags for flags in dovecot.flags()] == [True, True]
    assert "Fetched 2 mail(s), 2 new." in output
    assert output.count(": processed, a new ticket #") == 2
    assert InboundEmail.objects.filter(source__startswith="imap support@127.0.0.1").count() == 2
    # The next run finds nothing waiting.
    assert "Fetched 0 mail(s), 0 new." in fetch()
    assert Ticket.objects.count() == 2


def test_every_sample_mail_through_imap_ends_with_its_status(dovecot, ticket):
    names = sorted(path.name for path in MAIL_DIR.glob("*.eml"))
    dovecot.deliver(*(sample(name, ticket) for name in names))

    fetch()

    by_status = {}
    for record in InboundEmail.objects.all():
        by_status.setdefault(record.status, []).append(record.subject)
    assert Status.FAILED not in by_status
    assert len(InboundEmail.objects.all()) == len(names)
    assert len(by_status[Status.IGNORED]) == 3  # two auto-replies and a mailing list
    assert len(by_status[Status.BOUNCE]) == 1
    # Gmail, Outlook, Apple Mail and Thunderbird replies landed on the ticket.
    assert ticket.messages.count() == 4


def test_a_mail_stored_before_the_server_went_down_is_not_applied_twice(dovecot, customer):
    """The server goes down after the second mail is stored, before it is marked done (the
    fetcher's own ingest runs, then Dovecot is stopped): nothing is lost, nothing doubled."""
    dovecot.deliver(
        *(mail(message_id=f"<m{n}@example.com>", subject=f"Mail {n}") for n in range(3))
    )
    real_ingest = mailbox_module.ingest
    stored = []

    def ingest_then_server_down(raw, *, source):
        result = real_ingest(raw, source=source)
        stored.append(result)
        if len(stored) == 2:
            dovecot.stop()
        return result

    mailbox_module.ingest = ingest_then_server_down
    try:
        with pytest.raises(CommandError, match="What was stored is kept"):
            fetch()
    finally:
        mailbox_module.ingest = real_ingest
    assert Ticket.objects.count() == 2

    dovecot.start()
    assert [SEEN in flags for flags in dovecot.flags()] == [True, False, False]
    output = fetch()

    assert "already stored as" in output  # the second: marked done now, not applied again
    assert sorted(Ticket.objects.values_list("title", flat=True)) == ["Mail 0", "Mail 1", "Mail 2"]
    assert InboundEmail.objects.count() == 3
    assert [SEEN in flags for flags in dovecot.flags()] == [True, True, True]


@contextmanager
def database_refuses(column: str, word: str):
    """The database refuses to store an inbound mail whose `column` ("text", or "raw": its
    bytes) holds `word`: a trigger of the test's own, so that ingest meets a real error from
    the database while storing the row (outside the processing, which records its own)."""
    table = InboundEmail._meta.db_table
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        holds = {
            "raw": f"position('{word}'::bytea in NEW.raw) > 0",
            "text": f"NEW.text LIKE '%{word}%'",
        }[column]
        create = [
            "CREATE FUNCTION test_refuse_mail() RETURNS trigger AS $$ BEGIN "
            f"IF {holds} THEN RAISE EXCEPTION 'refused by the test''s trigger'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER test_refuse_mail BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION test_refuse_mail()",
        ]
        drop = [
            f"DROP TRIGGER IF EXISTS test_refuse_mail ON {table}",
            "DROP FUNCTION IF EXISTS test_refuse_mail()",
        ]
    else:
        holds = {
            "raw": f"instr(NEW.raw, CAST('{word}' AS BLOB)) > 0",
            "text": f"NEW.text LIKE '%{word}%'",
        }[column]
        create = [
            f"CREATE TRIGGER test_refuse_mail BEFORE INSERT ON {table} WHEN {holds} "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test''s trigger'); END"
        ]
        drop = ["DROP TRIGGER IF EXISTS test_refuse_mail"]
    with connection.cursor() as cursor:
        for statement in create:
            cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for statement in drop:
                cursor.execute(statement)


def three_mails_the_middle_one_poisoned() -> list[bytes]:
    return [
        mail(message_id="<first@example.com>", subject="First"),
        mail(message_id="<second@example.com>", subject="Second", body="A poisoned mail."),
        mail(message_id="<third@example.com>", subject="Third"),
    ]


def test_a_mail_that_cannot_be_stored_whole_is_stored_as_failed_and_the_others_go_on(
    dovecot, customer
):
    dovecot.deliver(*three_mails_the_middle_one_poisoned())

    with database_refuses("text", "poison"):  # its text refused: the rest of it can be stored
        output = fetch()

    assert sorted(Ticket.objects.values_list("title", flat=True)) == ["First", "Third"]
    second = InboundEmail.objects.get(message_id="<second@example.com>")
    assert second.status == Status.FAILED
    assert second.reason.startswith("could not be stored whole: ")
    assert "refused by the test's trigger" in second.reason
    assert second.subject == "Second"
    assert second.from_address == "customer@example.com"
    assert b"A poisoned mail." in bytes(second.raw)  # kept whole, to be processed again
    assert f"#{second.pk} from customer@example.com: failed, could not be stored" in output
    assert "Fetched 3 mail(s), 3 new." in output
    # Stored, so marked done like the others; nothing is deleted from the server.
    assert [SEEN in flags for flags in dovecot.flags()] == [True, True, True]

    # Once the database takes it, the admin's "process again" applies it.
    from messaging.inbound import reprocess

    assert reprocess(second).status == Status.PROCESSED
    assert Ticket.objects.filter(title="Second").exists()


def test_a_mail_that_cannot_be_stored_at_all_is_left_on_the_server_and_the_others_go_on(
    dovecot, customer
):
    dovecot.deliver(*three_mails_the_middle_one_poisoned())

    with database_refuses("raw", "poison"):  # not even its bytes can be stored
        output = fetch()

        assert sorted(Ticket.objects.values_list("title", flat=True)) == ["First", "Third"]
        assert not InboundEmail.objects.filter(message_id="<second@example.com>").exists()
        assert "failed and not stored (" in output
        assert "left on the server, fetched again next time" in output
        assert "Fetched 3 mail(s), 2 new. 1 could not be stored" in output
        # Not marked done: the next run tries it again (and it does not stop the others).
        assert [SEEN in flags for flags in dovecot.flags()] == [True, False, True]
        assert "Fetched 1 mail(s), 0 new. 1 could not be stored" in fetch()

    assert "Fetched 1 mail(s), 1 new." in fetch()  # the database takes it now
    assert sorted(Ticket.objects.values_list("title", flat=True)) == ["First", "Second", "Third"]
    assert [SEEN in flags for flags in dovecot.flags()] == [True, True, True]


def test_the_same_mail_delivered_twice_makes_one_ticket(dovecot, customer):
    raw = mail(message_id="<twice@example.com>")
    dovecot.deliver(raw, b"Received: from mx2.example.org\r\n" + raw)

    output = fetch()

    assert Ticket.objects.count() == 1
    assert InboundEmail.objects.count() == 1
    assert "already stored as" in output
    assert [SEEN in flags for flags in dovecot.flags()] == [True, True]


def test_a_mail_over_the_size_limit_is_not_downloaded(dovecot, settings, customer):
    settings.INBOUND_MAX_BYTES = 2000
    dovecot.deliver(mail(body="x" * 5000, subject="Huge"), mail(message_id="<small@x>"))

    fetch()

    huge = InboundEmail.objects.get(subject="Huge")
    assert huge.status == Status.QUARANTINED
    assert "INBOUND_MAX_BYTES" in huge.reason
    assert b"x" * 100 not in bytes(huge.raw)  # the headers only
    assert huge.size > 5000
    assert Ticket.objects.count() == 1  # the small one
    assert [SEEN in flags for flags in dovecot.flags()] == [True, True]


def test_processed_mail_can_be_moved_to_a_folder(dovecot, settings, customer):
    settings.IMAP_PROCESSED_FOLDER = "Processed"
    dovecot.deliver(mail())

    fetch()

    assert dovecot.flags("INBOX") == []
    assert len(dovecot.flags("Processed")) == 1
    assert Ticket.objects.count() == 1


def test_a_second_fetcher_waits_for_the_lock(dovecot, settings, customer):
    if not port_answers("127.0.0.1", 6379):
        pytest.skip("needs Redis at 127.0.0.1:6379 (nothing answers there)")
    # The lock's name holds the mailbox's port, the test's own: no other test meets it.
    settings.REDIS_URL = "redis://127.0.0.1:6379/5"
    dovecot.deliver(mail())
    with mailbox_module.fetch_lock() as first:
        assert first
        assert "Another fetch holds the mailbox's lock" in fetch()
        fetch_task.delay()  # beat's run meanwhile: nothing either
        assert Ticket.objects.count() == 0

    assert "Fetched 1 mail(s), 1 new." in fetch()
    assert Ticket.objects.count() == 1


def test_redis_down_is_one_clear_line_and_the_mail_waits_on_the_server(dovecot, settings, customer):
    # REDIS_URL names a Redis that does not answer (nothing listens on that port): without
    # the lock nothing is fetched (two fetchers could take the same mail), and nothing is lost.
    settings.REDIS_URL = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    dovecot.deliver(mail())

    with pytest.raises(CommandError) as raised:
        fetch()

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("Redis (redis://:***@127.0.0.1:")  # its password left out
    assert "hunter2" not in message
    assert "(ConnectionError). Nothing was fetched; the mail waits on the server." in message
    assert InboundEmail.objects.count() == 0
    assert [SEEN in flags for flags in dovecot.flags()] == [False]

    settings.REDIS_URL = ""  # Redis is not needed any more (one fetcher): the mail is fetched
    assert "Fetched 1 mail(s), 1 new." in fetch()
    assert Ticket.objects.count() == 1


def test_a_wrong_password_is_one_clear_line(dovecot, settings):
    settings.IMAP_PASSWORD = "wrong"

    with pytest.raises(CommandError, match="IMAP"):
        fetch()


def test_a_server_that_is_down_is_one_clear_line(dovecot):
    dovecot.stop()

    with pytest.raises(CommandError, match=r"IMAP: .*What was stored is kept"):
        fetch()


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_tls_the_server_does_not_speak_is_one_clear_line(dovecot, settings, security):
    settings.IMAP_SECURITY = security  # this Dovecot speaks plain IMAP only

    with pytest.raises(CommandError, match="IMAP: "):
        fetch()


def test_without_imap_host_it_says_what_to_set(settings):
    settings.IMAP_HOST = ""

    with pytest.raises(CommandError, match="Set IMAP_HOST"):
        fetch()


def test_a_run_out_of_time_leaves_the_rest_for_the_next(dovecot, customer):
    dovecot.deliver(mail())

    run = mailbox_module.fetch_mail(seconds=-1)

    assert run.mails == []
    assert [SEEN in flags for flags in dovecot.flags()] == [False]
