"""Benchmark of inbound mail: N mails through a real IMAP server (Dovecot) into the database.

    .venv/bin/python bench/mail_bench.py --mails 10000           # SQLite file in bench/out/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench \\
        .venv/bin/python bench/mail_bench.py --mails 10000

Starts a Dovecot of its own on a loopback port (tests/dovecot.py; `apt-get install
dovecot-imapd`), puts N mails in its inbox by IMAP APPEND (not timed): half of them replies to
existing tickets (threaded by our signed Message-ID), half new tickets from a few hundred
senders (the first mail of each makes its account), one in twenty an auto-reply. Then runs the
fetcher (what `manage.py fetch_mail` and beat run) until the inbox is empty, and prints a
table: mails a second overall and for each tenth of the run, and the process's resident memory
at each tenth (flat means nothing grows with the number of mails). Notifications are queued in
the outbox and their send tasks handed to a broker, as in production, where a worker sends
them: the machine's Redis (database 5, under a key prefix of the run's own, deleted at the
end) when it answers at 127.0.0.1:6379, else Celery's in-process memory transport; nobody
consumes them here. No assertion: a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def resident_mb() -> float:
    """This process's resident memory now (not the peak), in MB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mails", type=int, default=10_000)
    parser.add_argument("--tickets", type=int, default=200, help="Tickets the replies go to.")
    parser.add_argument("--senders", type=int, default=300, help="Senders of new tickets.")
    args = parser.parse_args()

    if "DATABASE_URL" not in os.environ:
        out = ROOT / "bench" / "out"
        out.mkdir(parents=True, exist_ok=True)
        database = out / "mail-bench.sqlite3"
        database.unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk_site.settings")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    os.environ["HELPDESK_EMAIL"] = "support@desk.example.com"
    os.environ["DEFAULT_FROM_EMAIL"] = "helpdesk@desk.example.com"
    os.environ["INBOUND_MAX_NEW_PER_HOUR"] = str(args.mails)
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "EMAIL_HOST"):
        os.environ.pop(name, None)

    from tests.dovecot import Dovecot, dovecot_binary
    from tests.servers import port_answers

    prefix = f"mail-bench-{os.getpid()}:"
    redis_url = "redis://127.0.0.1:6379/5" if port_answers("127.0.0.1", 6379) else ""
    os.environ["CELERY_BROKER_URL"] = redis_url or "memory://"
    os.environ["CELERY_KEY_PREFIX"] = prefix

    if dovecot_binary() is None:
        sys.exit("mail_bench: needs Dovecot (apt-get install dovecot-imapd)")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from post_office.models import Email

    from accounts.models import User
    from messaging.mailbox import fetch_mail
    from messaging.models import InboundEmail
    from tickets import mail_ids
    from tickets.models import Ticket
    from tickets.services import ticket_create

    call_command("migrate", verbosity=0)
    if Ticket.objects.exists() or InboundEmail.objects.exists():
        sys.exit("mail_bench: use an empty database (DATABASE_URL)")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    User.objects.create_user("agent", "agent@desk.example.com", None, is_staff=True)
    customers = [
        User.objects.create_user(f"customer{n}", f"customer{n}@example.com", None)
        for n in range(args.tickets)
    ]
    tickets = [
        ticket_create(reporter=customer, title=f"Printer {n}", description="It jams.")
        for n, customer in enumerate(customers)
    ]

    server = Dovecot()
    server.start()
    try:
        for name, value in server.settings().items():
            setattr(settings, name, value)
        settings.IMAP_PROCESSED_FOLDER = ""
        mails = []
        for n in range(args.mails):
            kind = "auto" if n % 20 == 19 else "reply" if n % 2 else "new"
            ticket = tickets[n % len(tickets)]
            headers = [f"Message-ID: <bench-{n}@example.org>"]
            if kind == "new":
                sender = f"sender{n % args.senders}@example.org"
                subject = f"New problem {n}"
            else:
                sender = ticket.reporter.email
                subject = f"Re: [#{ticket.pk}] {ticket.title}"
                headers.append(f"In-Reply-To: {mail_ids.thread_root(ticket.pk)}")
            if kind == "auto":
                headers.append("Auto-Submitted: auto-replied")
            body = f"Mail {n}: it jams.\r\n\r\nOn Monday, Help Desk wrote:\r\n> Try again.\r\n"
            mails.append(
                (
                    f"From: {sender}\r\nTo: support@desk.example.com\r\nSubject: {subject}\r\n"
                    + "\r\n".join(headers)
                    + f"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
                ).encode()
            )
        started = time.perf_counter()
        for start in range(0, len(mails), 500):
            server.deliver(*mails[start : start + 500])
        delivered_in = time.perf_counter() - started
        del mails

        tenth = max(1, args.mails // 10)
        marks: list[tuple[int, float, float]] = []
        done = 0
        memory_start = resident_mb()
        started = time.perf_counter()

        def report(fetched) -> None:
            nonlocal done
            done += 1
            if done % tenth == 0:
                marks.append((done, time.perf_counter() - started, resident_mb()))

        while True:
            run = fetch_mail(report=report)
            if not any(mail.stored for mail in run.mails):  # none left, or none storable
                break
        took = time.perf_counter() - started
    finally:
        server.remove()
        if redis_url:
            import redis

            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter(f"{prefix}*"):
                client.delete(key)

    statuses = Counter(InboundEmail.objects.values_list("status", flat=True))
    if connection.vendor == "sqlite":
        database = "SQLite " + ".".join(map(str, connection.Database.sqlite_version_info))
    else:
        database = f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}"
    print(
        f"\nInbound mail: {args.mails:,} mails through Dovecot (IMAP, loopback) into {database}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores"
    )
    broker = "Redis" if redis_url else "in-process memory"
    print(f"(delivered by APPEND in {delivered_in:.1f} s, not counted; broker: {broker})\n")
    print("| mails done | seconds | mails/s (this tenth) | resident MB |")
    print("|-----------:|--------:|---------------------:|------------:|")
    print(f"| 0 | 0.0 | - | {memory_start:.0f} |")
    previous_done, previous_time = 0, 0.0
    for count, at, memory in marks:
        rate = (count - previous_done) / max(at - previous_time, 1e-9)
        print(f"| {count:,} | {at:.1f} | {rate:.1f} | {memory:.0f} |")
        previous_done, previous_time = count, at
    print(f"\nOverall: {done:,} mails in {took:.1f} s = {done / took:.1f} mails/s")
    print(f"Statuses: {dict(sorted(statuses.items()))}")
    print(
        f"Tickets: {Ticket.objects.count():,}; outbox rows (notifications): "
        f"{Email.objects.count():,}"
    )


if __name__ == "__main__":
    main()
