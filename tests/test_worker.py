"""A real Celery worker and beat deliver the outbox to a real SMTP server, and lose nothing.

Each test sets up a help desk of its own (a SQLite file, migrated), starts `celery worker --beat`
(what `make worker` runs) against the machine's Redis, and a real SMTP server (aiosmtpd) on a
free loopback port of this process. Changes are made by other processes, as a web server makes
them: they commit, and hand the task to the broker. Nothing is mocked; every wait polls for what
it waits for, with a deadline.

Redis at 127.0.0.1:6379 is needed (skipped without it): database WORKER_TEST_REDIS_DB (default
5), every key under a prefix of the test's own (CELERY_KEY_PREFIX, CACHE_KEY_PREFIX), so parallel
test processes and other developers' work there never meet; the test deletes its own keys only.
One test runs a redis-server of its own instead (/usr/bin/redis-server on a free loopback port,
skipped without it), to kill it and start it again: Redis truly down, for everyone. It ignores
DATABASE_URL and REDIS_URL, so it runs the same in the SQLite and the PostgreSQL
test runs. To run it alone:

    .venv/bin/python -m pytest tests/test_worker.py -v -rs
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest
from django.conf import settings

from tests.dovecot import Dovecot
from tests.mail_helpers import SmtpServer, free_port
from tickets.mail_ids import parse_message_id, thread_root

BASE_DIR = Path(__file__).resolve().parent.parent
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_DB = int(os.environ.get("WORKER_TEST_REDIS_DB", "5"))
# Variables of the test process that must not leak into the help desk's processes.
SETTINGS_VARIABLES = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_KEY_PREFIX",
    "CACHE_KEY_PREFIX",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
    "EMAIL_BACKEND",
    "EMAIL_RETRY_INTERVAL",
    "EMAIL_MAX_RETRIES",
    "OUTBOX_SEND_INTERVAL",
    "HELPDESK_EMAIL",
    "HELPDESK_STAFF_EMAILS",
    "DEFAULT_FROM_EMAIL",
    "SITE_URL",
    "IMAP_HOST",
    "IMAP_PORT",
    "IMAP_SECURITY",
    "IMAP_USER",
    "IMAP_PASSWORD",
    "IMAP_FOLDER",
    "IMAP_PROCESSED_FOLDER",
    "INBOUND_FETCH_INTERVAL",
}
DEADLINE = 60  # seconds for any one thing to happen

# Run by the "web" processes (python -c, with Django set up): the cast and a first ticket.
SETUP = """
from django.contrib.auth.models import Group
from accounts.models import AGENTS_GROUP, User
from tickets.services import ticket_create
customer = User.objects.create_user("customer", "customer@example.com", None)
agent = User.objects.create_user("agent", "agent@example.com", None, is_staff=True)
agent.groups.add(Group.objects.get(name=AGENTS_GROUP))
print(ticket_create(reporter=customer, title="Printer on fire", description="Smoke.").pk)
"""
REPLY = """
from accounts.models import User
from messaging.models import Message
from tickets.models import Ticket
ticket = Ticket.objects.get(pk={ticket})
Message.send(ticket=ticket, sender=User.objects.get(username="agent"), content={content!r})
"""
STATUS = """
from accounts.models import User
from tickets.models import Ticket
Ticket.objects.get(pk={ticket}).update_status({status!r}, by=User.objects.get(username="agent"))
"""


def wait_for(what: str, condition: Callable[[], object], *, worker: Worker | None = None):
    """Poll `condition` until it is true (returned), or fail after DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if worker is not None:
            worker.check_alive()
        time.sleep(0.1)  # polling for a change made by another process, not a fixed wait
    log = worker.log() if worker is not None else ""
    pytest.fail(f"{what}: not within {DEADLINE}s\n{log[-4000:]}")


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own in Redis database REDIS_DB; its keys deleted afterwards."""
    redis = pytest.importorskip("redis")
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2):
            pass
    except OSError:
        pytest.skip(f"needs Redis at {REDIS_HOST}:{REDIS_PORT} (nothing answers there)")
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_timeout=5)
    prefix = f"helpdesk-worker-test-{secrets.token_hex(6)}"
    try:
        yield prefix
    finally:
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()


class Worker:
    """`celery -A helpdesk_site worker --beat` as `make worker` runs it, in its own process group."""

    def __init__(self, env: dict[str, str], directory: Path, name: str):
        self.log_path = directory / "worker.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(  # noqa: S603 (a fixed argument list, no shell)
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "helpdesk_site",
                "worker",
                "--beat",
                "--loglevel",
                "INFO",
                "--concurrency",
                "1",
                "--hostname",
                f"{name}@%h",
                "--schedule",
                str(directory / "celerybeat-schedule"),
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for("the worker is ready", lambda: " ready." in self.log(), worker=self)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"the worker exited with {self.process.returncode}:\n{self.log()[-4000:]}")

    def finished(self, task: str) -> int:
        """How many runs of `task` the worker has finished."""
        return len(re.findall(rf"Task {re.escape(task)}\[[^\]]+\] succeeded", self.log()))

    def stop(self) -> None:
        """A warm shutdown (SIGTERM: finish the task at hand); killed if it does not stop."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


class PrivateRedis:
    """A redis-server of the test's own on a free loopback port, nothing saved to disk: the test
    kills it (Redis is down, for the web process, the worker and beat alike) and starts it again
    on the same port. Never the machine's Redis."""

    def __init__(self, binary: str, directory: Path):
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        self.starts += 1
        log_path = self.directory / f"redis-{self.starts}.log"
        with log_path.open("w") as log:
            options = {
                "port": str(self.port),
                "bind": "127.0.0.1",
                "save": "",
                "appendonly": "no",
                "dir": str(self.directory),
                "daemonize": "no",
            }
            arguments = [part for name, value in options.items() for part in (f"--{name}", value)]
            self.process = subprocess.Popen(  # noqa: S603 (a fixed argument list, no shell)
                [self.binary, *arguments],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def answers() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"redis-server exited:\n{log_path.read_text(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    probe.sendall(b"PING\r\n")
                    return probe.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        wait_for(f"the test's own Redis answers on port {self.port}", answers)
        return self

    def kill(self) -> None:
        """Redis goes down at once (SIGKILL: no goodbye to its clients)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def private_redis(tmp_path):
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        pytest.skip("needs redis-server (apt-get install redis-server) to run a Redis of its own")
    pytest.importorskip("redis")
    directory = tmp_path / "redis"
    directory.mkdir()
    server = PrivateRedis(binary, directory)
    try:
        yield server
    finally:
        server.kill()


class HelpDesk:
    """One help desk of the test's own: its settings, its database, its worker."""

    def __init__(
        self,
        directory: Path,
        prefix: str,
        smtp: SmtpServer,
        *,
        send_interval: int,
        redis_url: str = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
    ):
        self.directory = directory
        self.database = directory / "helpdesk.sqlite3"
        env = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARIABLES}
        env.update(
            DEBUG="true",
            # The test's own key, so that it can verify the Message-IDs the worker sent.
            SECRET_KEY=settings.SECRET_KEY,
            DATABASE_URL=f"sqlite:///{self.database}",
            REDIS_URL=redis_url,
            CELERY_KEY_PREFIX=f"{prefix}-celery:",
            CACHE_KEY_PREFIX=f"{prefix}-cache",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(smtp.port),
            EMAIL_USE_TLS="false",
            EMAIL_TIMEOUT="5",
            EMAIL_RETRY_INTERVAL="1",
            OUTBOX_SEND_INTERVAL=str(send_interval),
            SITE_URL="https://desk.example.com",
            PYTHONUNBUFFERED="1",
            LOG_LEVEL="INFO",
        )
        self.env = env
        self.run("manage.py", "migrate", "--no-input", "-v0")

    def run(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(  # noqa: S603 (a fixed argument list, no shell)
            [sys.executable, *args],
            cwd=BASE_DIR,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def change(self, code: str, **overrides: str) -> str:
        """Run `code` with Django set up, as a web server's request would: its transaction
        commits, then its tasks go to the broker. Returns what it printed."""
        program = f"import django\ndjango.setup()\n{code}"
        return self.run("-c", program, env={**self.env, **overrides}).strip()

    def start_worker(self, name: str) -> Worker:
        return Worker(self.env, self.directory, name)

    def outbox(self) -> list[tuple[str, int, int | None, int]]:
        """(to, status, tries, failed tries logged) of every outbox row, oldest first."""
        with sqlite3.connect(self.database, timeout=20) as connection:
            return connection.execute(
                'SELECT e."to", e.status, e.number_of_retries, '
                "(SELECT COUNT(*) FROM post_office_log l WHERE l.email_id = e.id) "
                "FROM post_office_email e ORDER BY e.id"
            ).fetchall()

    def status_of(self, address: str) -> list[int]:
        return [status for to, status, _tries, _logs in self.outbox() if to == address]


SENT, FAILED, QUEUED, REQUEUED = 0, 1, 2, 3  # post_office's STATUS


def sent_once_beat_goes_on(desk: HelpDesk, smtp, worker: Worker, arrives: str) -> None:
    """Wait for the customer's email to arrive and its row to be marked sent, then for two
    more of beat's sending runs (the caller then checks it arrived once)."""
    wait_for(arrives, lambda: smtp.received_by("customer@example.com"), worker=worker)
    wait_for(
        "its row is marked sent",
        lambda: desk.status_of("customer@example.com") == [SENT],
        worker=worker,
    )
    runs = worker.finished("accounts.tasks.send_outbox")
    wait_for(
        "beat runs twice more",
        lambda: worker.finished("accounts.tasks.send_outbox") >= runs + 2,
        worker=worker,
    )


def test_a_worker_delivers_the_mail_a_change_queued(tmp_path, redis_prefix):
    with ExitStack() as cleanup:
        smtp = SmtpServer().start()
        cleanup.callback(smtp.stop)
        # Beat would send only in an hour: what arrives here, the task after the commit sent.
        desk = HelpDesk(tmp_path, redis_prefix, smtp, send_interval=3600)
        worker = desk.start_worker(f"{redis_prefix}-a")
        cleanup.callback(worker.stop)

        ticket = int(desk.change(SETUP))  # a new ticket: the agent hears of it
        desk.change(REPLY.format(ticket=ticket, content="Have you tried turning it off?"))

        wait_for("both emails arrive", lambda: len(smtp.messages) == 2, worker=worker)
        wait_for(
            "both rows are marked sent",
            lambda: (
                desk.status_of("agent@example.com") == [SENT]
                and desk.status_of("customer@example.com") == [SENT]
            ),
            worker=worker,
        )
        pong = desk.run("-m", "celery", "-A", "helpdesk_site", "inspect", "ping", "--timeout", "10")
        assert worker.finished("accounts.tasks.send_emails") == 2
        assert worker.finished("accounts.tasks.send_outbox") == 0

    assert worker.process.returncode == 0, worker.log()[-4000:]
    assert f"{redis_prefix}-a@" in pong
    assert "pong" in pong
    [created] = smtp.received_by("agent@example.com")
    [reply] = smtp.received_by("customer@example.com")
    assert created["Message-ID"] == thread_root(ticket)
    assert created["Subject"] == f"[#{ticket}] Printer on fire"
    assert parse_message_id(reply["Message-ID"]).ticket_id == ticket
    assert reply["In-Reply-To"] == thread_root(ticket)
    assert reply["Subject"] == f"Re: [#{ticket}] Printer on fire"
    assert reply["Auto-Submitted"] == "auto-generated"
    # Folded onto its own line (the link is long); unfolded, the link in angle brackets.
    unsubscribe = reply["List-Unsubscribe"].strip()
    assert unsubscribe.startswith("<https://desk.example.com/accounts/unsubscribe/")
    assert reply.get_body(("plain",)).get_content().startswith("Have you tried turning it off?")


def test_with_the_smtp_server_down_a_change_is_mailed_exactly_once_when_it_is_back(
    tmp_path, redis_prefix
):
    smtp = SmtpServer()  # not started: the mail server is down
    with ExitStack() as cleanup:
        cleanup.callback(smtp.stop)
        desk = HelpDesk(tmp_path, redis_prefix, smtp, send_interval=1)
        worker = desk.start_worker(f"{redis_prefix}-b")
        cleanup.callback(worker.stop)

        ticket = int(desk.change(SETUP))
        desk.change(STATUS.format(ticket=ticket, status="closed"))  # the customer hears of it

        # The worker tried (the task after the commit, then beat) and the server refused: the
        # close is saved, and its mail waits for a retry.
        wait_for(
            "a failed try of the customer's email is recorded",
            lambda: any(
                to == "customer@example.com" and status == REQUEUED and logs >= 1
                for to, status, _tries, logs in desk.outbox()
            ),
            worker=worker,
        )
        assert smtp.messages == []

        smtp.start()
        sent_once_beat_goes_on(desk, smtp, worker, "the customer's email arrives")

    [closed] = smtp.received_by("customer@example.com")
    assert len(smtp.received_by("agent@example.com")) == 1
    assert len(smtp.messages) == 2
    assert parse_message_id(closed["Message-ID"]).event_id is not None
    assert "agent closed your ticket" in closed.get_body(("plain",)).get_content()
    [(_to, status, tries, logs)] = [
        row for row in desk.outbox() if row[0] == "customer@example.com"
    ]
    assert (status, logs) == (SENT, tries)  # one failed try logged for each retry it took


def test_a_change_made_while_the_broker_is_down_is_mailed_by_beat(tmp_path, redis_prefix):
    with ExitStack() as cleanup:
        smtp = SmtpServer().start()
        cleanup.callback(smtp.stop)
        desk = HelpDesk(tmp_path, redis_prefix, smtp, send_interval=1)
        worker = desk.start_worker(f"{redis_prefix}-c")
        cleanup.callback(worker.stop)
        ticket = int(desk.change(SETUP))
        wait_for("the agent's email", lambda: smtp.received_by("agent@example.com"), worker=worker)

        # This web process cannot reach the broker (nothing listens where it looks for it): the
        # change is saved all the same, and its mail waits in the outbox.
        started = time.monotonic()
        desk.change(
            REPLY.format(ticket=ticket, content="Sent while the broker was away."),
            CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0",
        )
        took = time.monotonic() - started
        wait_for(
            "beat sends it",
            lambda: smtp.received_by("customer@example.com"),
            worker=worker,
        )
        wait_for(
            "its row is marked sent",
            lambda: desk.status_of("customer@example.com") == [SENT],
            worker=worker,
        )

    [reply] = smtp.received_by("customer@example.com")
    assert reply.get_body(("plain",)).get_content().startswith("Sent while the broker was away.")
    assert len(smtp.messages) == 2
    # The task never reached the worker: beat's periodic task sent the mail.
    assert worker.finished("accounts.tasks.send_emails") == 1  # the new ticket's, not the reply's
    assert took < 30  # the web process waited a bounded time for the broker


def test_a_change_made_while_redis_is_down_is_mailed_exactly_once_when_it_is_back(
    tmp_path, private_redis
):
    """Redis itself goes down (the test's own redis-server, killed), not only the web process's
    way to it: the worker and beat lose their broker, the change is made and saved meanwhile,
    and once Redis is back on the same port, beat's periodic task sends its mail, once."""
    private_redis.start()
    prefix = f"helpdesk-worker-test-{secrets.token_hex(6)}"
    with ExitStack() as cleanup:
        smtp = SmtpServer().start()
        cleanup.callback(smtp.stop)
        desk = HelpDesk(tmp_path, prefix, smtp, send_interval=1, redis_url=private_redis.url)
        worker = desk.start_worker(f"{prefix}-r")
        cleanup.callback(worker.stop)
        ticket = int(desk.change(SETUP))
        wait_for("the agent's email", lambda: smtp.received_by("agent@example.com"), worker=worker)

        private_redis.kill()
        wait_for(
            "the worker notices that its broker is gone",
            lambda: "Connection to broker lost" in worker.log(),
            worker=worker,
        )
        started = time.monotonic()
        desk.change(REPLY.format(ticket=ticket, content="Sent while Redis was down."))
        took = time.monotonic() - started
        # Saved, and waiting in the outbox: nothing could take it to a worker.
        assert desk.status_of("customer@example.com") == [QUEUED]
        assert smtp.received_by("customer@example.com") == []

        private_redis.start()  # the same port: the worker and beat find it again
        sent_once_beat_goes_on(
            desk, smtp, worker, "the customer's email arrives once Redis is back"
        )

    assert worker.process.returncode == 0, worker.log()[-4000:]
    [reply] = smtp.received_by("customer@example.com")
    assert reply.get_body(("plain",)).get_content().startswith("Sent while Redis was down.")
    assert len(smtp.messages) == 2
    assert worker.finished("accounts.tasks.send_emails") == 1  # the new ticket's, not the reply's
    assert took < 30  # the web process waited a bounded time for Redis


def test_beat_fetches_the_mailbox_and_a_conversation_happens_by_mail(tmp_path, redis_prefix):
    """A customer writes to the help desk, the agent answers from a mail client, the customer
    gets the answer: every step through Dovecot (IMAP), the worker and beat, and SMTP."""
    with ExitStack() as cleanup:
        dovecot = Dovecot().start()
        cleanup.callback(dovecot.remove)
        smtp = SmtpServer().start()
        cleanup.callback(smtp.stop)
        desk = HelpDesk(tmp_path, redis_prefix, smtp, send_interval=3600)
        desk.env.update(
            {name: str(value) for name, value in dovecot.settings().items()},
            INBOUND_FETCH_INTERVAL="1",
            HELPDESK_EMAIL="support@desk.example.com",
            DEFAULT_FROM_EMAIL="helpdesk@desk.example.com",
        )
        desk.change(SETUP)  # the customer and the agent (and a first ticket)
        dovecot.deliver(
            b"From: Customer <customer@example.com>\r\nTo: support@desk.example.com\r\n"
            b"Subject: The scanner jams\r\nMessage-ID: <scan-1@example.com>\r\n\r\n"
            b"It jams on every page.\r\n"
        )
        worker = desk.start_worker(f"{redis_prefix}-m")
        cleanup.callback(worker.stop)

        # Beat fetches it: a new ticket, and the agent hears of it.
        [notice] = wait_for(
            "the agent hears of the ticket that came by mail",
            lambda: [m for m in smtp.received_by("agent@example.com") if "scanner" in m["Subject"]],
            worker=worker,
        )
        # The agent answers from a mail client: Reply-To, In-Reply-To, the quote below.
        dovecot.deliver(
            (
                f"From: Agent <agent@example.com>\r\nTo: {notice['Reply-To']}\r\n"
                f"Subject: Re: {notice['Subject']}\r\nMessage-ID: <answer-1@example.com>\r\n"
                f"In-Reply-To: {notice['Message-ID']}\r\nReferences: {notice['Message-ID']}\r\n"
                "\r\nPlease clean the rollers.\r\n\r\nOn Sat, Help Desk wrote:\r\n"
                "> It jams on every page.\r\n"
            ).encode()
        )
        [answer] = wait_for(
            "the customer gets the agent's answer",
            lambda: [
                m for m in smtp.received_by("customer@example.com") if "scanner" in m["Subject"]
            ],
            worker=worker,
        )
        assert worker.finished("messaging.tasks.fetch_mail") >= 2

    assert worker.process.returncode == 0, worker.log()[-4000:]
    ticket = parse_message_id(notice["Message-ID"]).ticket_id
    assert parse_message_id(answer["Message-ID"]).ticket_id == ticket
    text = answer.get_body(("plain",)).get_content()
    assert text.startswith("Please clean the rollers.")
    assert "It jams on every page" not in text  # the quote was cut
    with sqlite3.connect(desk.database, timeout=20) as connection:
        statuses = connection.execute(
            "SELECT status FROM messaging_inboundemail ORDER BY id"
        ).fetchall()
    assert statuses == [("processed",), ("processed",)]
