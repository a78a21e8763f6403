"""Benchmark of the REST API's reads, each against the floor page of bench/page_bench.py.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench \\
        .venv/bin/python bench/api_bench.py

Runs on a database page_bench.py (or `seed_demo`) filled, and changes nothing in it: everything
runs in one transaction that is rolled back at the end (the API tokens and sessions it makes,
the "seen" mark a customer's read sets, and, when the database has no conversation of
page_bench.py's whose replies the customer has seen, a 50-message ticket of its own). It runs no
migration and no ANALYZE.

The floor is page_bench.py's (bench/urls_floor.py: base.html for a signed-in agent, with the
session), measured in the same rounds; the API is called with personal tokens (the header a
program sends), as JSON. Each round asks for every case once; the table is page_bench.py's:
median and fastest, their ratio to the floor's, the queries of one request (the fewer of two)
and the peak memory growth of one more. The target: within 4x the floor, as the pages.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        raise SystemExit("Set DATABASE_URL to a filled database (see the docstring).")

    out = ROOT / "bench" / "out"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk_site.settings")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("STATIC_ROOT", str(out / "static"))

    import django

    from bench.page_bench import (
        CONVERSATION_MESSAGES,
        CONVERSATION_TITLE,
        HELP_DESK_TARGET,
        Case,
        busiest_customer,
        measure,
        print_table,
    )

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import override_settings

    from accounts.models import User
    from accounts.services import api_token_create
    from messaging.models import Message
    from messaging.services import message_send
    from tickets.models import Ticket
    from tickets.services import ticket_assign, ticket_create

    override_settings(ROOT_URLCONF="bench.urls_floor").enable()
    # The floor renders base.html with DEBUG off: {% static %} needs the manifest (files only).
    call_command("collectstatic", interactive=False, verbosity=0)

    with transaction.atomic():
        agent = User.objects.get(username="agent")
        conversation = Ticket.objects.filter(title=CONVERSATION_TITLE).order_by("pk").first()
        if conversation is None or conversation.has_unseen_reply:
            # None of page_bench.py's, or one whose replies the customer has not seen (reading
            # it would lock its row until the rollback): one of our own, in this transaction.
            reporter = busiest_customer()
            conversation = ticket_create(
                reporter=reporter, title="[api bench] 50 messages", description="Rolled back."
            )
            ticket_assign(ticket=conversation, assignee=agent, by=agent)
            for number in range(CONVERSATION_MESSAGES):
                sender = reporter if number % 2 == 0 else agent
                message_send(
                    ticket=conversation,
                    sender=sender,
                    content=f"Message {number + 1} of the bench conversation.",
                    is_internal=sender == agent and number % 10 == 9,
                )
            Ticket.objects.filter(pk=conversation.pk).update(reporter_seen_at=datetime.now(UTC))
        customer = conversation.reporter
        size = Message.objects.filter(ticket=conversation).count()
        counts = (Ticket.objects.count(), Message.objects.count())
        mine = Ticket.objects.filter(reporter=customer).count()

        def program(user) -> Client:
            _token, raw = api_token_create(user=user, name="api bench (rolled back)")
            return Client(headers={"Authorization": f"Bearer {raw}", "Accept": "application/json"})

        browser = Client()
        browser.force_login(agent, backend="accounts.backends.UsernameOrEmailBackend")
        as_customer, as_agent = program(customer), program(agent)
        # The site as a server loads it (helpdesk_site/wsgi.py freezes what is loaded by then
        # out of the garbage collector's full collections), as page_bench.py does.
        import helpdesk_site.wsgi  # noqa: F401

        def get(client: Client, path: str):
            return lambda: partial(client.get, path, secure=True)

        def second_page(client: Client, path: str):
            """The page the first one's `next` link leads to (read once, untimed)."""
            following = client.get(path, secure=True).json()["next"]
            return lambda: partial(client.get, following, secure=True)

        api = "/api/v1/tickets/"
        talk = f"{api}{conversation.pk}/"
        cases = [
            Case("floor: base.html", "agent", "/bench/floor/", get(browser, "/bench/floor/")),
            Case("my tickets", "customer", api, get(as_customer, api), target=HELP_DESK_TARGET),
            Case(
                f"ticket #{conversation.pk}",
                "customer",
                talk,
                get(as_customer, talk),
                target=HELP_DESK_TARGET,
            ),
            Case(
                f"its messages ({size})",
                "customer",
                f"{talk}messages/",
                get(as_customer, f"{talk}messages/?page_size=100"),
                target=HELP_DESK_TARGET,
            ),
            *[
                Case(
                    f"all tickets{label}",
                    "agent",
                    path,
                    get(as_agent, path),
                    target=HELP_DESK_TARGET,
                )
                for label, path in [
                    ("", api),
                    (", 25 (as a page)", f"{api}?page_size=25"),
                    (", by activity", f"{api}?ordering=-activity"),
                    (", by priority", f"{api}?ordering=priority"),
                    (", open by priority", f"{api}?status=open&ordering=priority"),
                    (": assigned to me", f"{api}?assignee=me"),
                ]
            ],
            Case(
                "all tickets, page 2",
                "agent",
                f"{api}?cursor=…",
                second_page(as_agent, api),
                target=HELP_DESK_TARGET,
            ),
            Case(
                "by priority, page 2",
                "agent",
                f"{api}?ordering=priority&cursor=…",
                second_page(as_agent, f"{api}?ordering=priority"),
                target=HELP_DESK_TARGET,
            ),
            Case(
                f"ticket #{conversation.pk}",
                "agent",
                talk,
                get(as_agent, talk),
                target=HELP_DESK_TARGET,
            ),
            Case(
                f"its messages ({size})",
                "agent",
                f"{talk}messages/",
                get(as_agent, f"{talk}messages/?page_size=100"),
                target=HELP_DESK_TARGET,
            ),
            Case("its files", "agent", f"{talk}files/", get(as_agent, f"{talk}files/")),
        ]

        def run_once(case: Case, request) -> None:
            response = request()
            if response.status_code != case.expect:
                raise SystemExit(f"{case.page}: {case.path} answered {response.status_code}")

        load_before = os.getloadavg()
        rows = measure(cases, args.runs, run_once)
        load_after = os.getloadavg()
        with connection.cursor() as cursor:
            is_pg = connection.vendor == "postgresql"
            cursor.execute("SELECT version()" if is_pg else "SELECT 'SQLite ' || sqlite_version()")
            version = cursor.fetchone()[0].split(" on ")[0]
        transaction.set_rollback(True)  # the database as it was

    print()
    print(f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        f", load average {load_before[0]:.1f} before and {load_after[0]:.1f} after"
    )
    print(f"Database: {version} ({connection.vendor})")
    print(f"Data: {counts[0]:,} tickets, {counts[1]:,} messages")
    print(
        f"Customer: {customer.username}, {mine} tickets; agent: {agent.username}; ticket "
        f"#{conversation.pk} has {size} messages. API calls with a personal token, as JSON."
    )
    print(
        f"Median and fastest of {args.runs} rounds (each round asks for every case once) after "
        "a warm-up round; x floor = the median / the floor's median (and fastest / fastest); "
        "queries: the fewer of two more requests; memory: tracemalloc peak in one more request."
    )
    print(
        f"Target: within {HELP_DESK_TARGET:g}x the floor "
        "(*: held to it; over: the median is above it)."
    )
    print()
    print_table(cases, rows, first_column="call")


if __name__ == "__main__":
    main()
