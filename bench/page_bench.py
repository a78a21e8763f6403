"""Benchmark of every page a person uses, each against a floor page, at a given data size.

    .venv/bin/python bench/page_bench.py --tickets 100000            # SQLite file in bench/out/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench \\
        .venv/bin/python bench/page_bench.py --tickets 1000000

Fills the database with `seed_demo --tickets N` (only what is missing), adds two tickets of its
own through the services once (one with a 50-message conversation, one that the reply benchmark
writes on), then for each page prints the median time of several requests after a warm-up, its
ratio to the floor, the number of SQL queries, and the peak memory growth (tracemalloc, in a
separate run so it does not slow the timed ones).

The floor is a bench-only page (bench/urls_floor.py, used as ROOT_URLCONF here and nowhere else)
that renders base.html for a signed-in agent: session, user, middleware, template, nothing else.
A second bench-only page, the admin floor, is the admin's bare page (its header and model
sidebar, which need the user's permissions) and is shown for reference beside the admin pages.
The targets: the help desk's lists and ticket pages within 4x the floor, the admin's ticket
changelist and change page within 15x, at 1,000,000 tickets, with query counts that do not grow
with the data. The database is left as a person's would be: the benchmark runs no ANALYZE of
its own (the help desk keeps SQLite's statistics itself: tickets/db_statistics.py).

The site is loaded as a server loads it (helpdesk_site.wsgi). The lists' rows and the
conversations' messages are rendered once and then kept by what they show (render_rows): the
pages are measured as they are seen again, and "first view" rows show a list and a ticket
before any of their rows was kept (a new release, a ticket nobody has opened), for reference,
timed in rounds of their own after the others (they empty the cache the others use).

Requests go through django.test.Client in the same process, with DEBUG off, CSRF checks on and
forms filled from the HTML the page served (hidden tokens and versions included). Each round
asks for every page once, so a busy spell on the machine slows the floor as much as the pages.
The POSTs write: each run adds a ticket (new ticket, reported by the demo customer bob), a
message (reply, on the bench's own ticket), a session and an access log row (log in). Passwords
use the fast MD5 hasher, so "log in" leaves out bcrypt's ~0.3 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONVERSATION_TITLE = "[bench] a ticket with 50 messages"
REPLY_TARGET_TITLE = "[bench] the ticket the reply benchmark writes on"
CONVERSATION_MESSAGES = 50
# The customer the bench logs in with the password form (set on that user if it differs).
BENCH_PASSWORD = "bench-page-password-2026"  # noqa: S105
# The Origin header a browser sends with a POST: CSRF checks need it over HTTPS.
ORIGIN = "https://testserver"
# The most a page may cost, as a multiple of the floor: the help desk's lists and ticket pages,
# and the Django admin's ticket list and ticket page (its own code and templates, heavier).
HELP_DESK_TARGET = 4.0
ADMIN_TARGET = 15.0
# A demo customer (seed_demo makes it) who reports the tickets of the "new ticket" benchmark.
NEW_TICKET_REPORTER = "bob"


def count_query(executed: list[str], execute, sql, params, many, context):
    """A database execute wrapper that notes each query (counts even across requests)."""
    executed.append(sql)
    return execute(sql, params, many, context)


class FormParser(HTMLParser):
    """The forms of a page, as a browser would submit them untouched: action, method, fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = {
                "action": attr.get("action", ""),
                "method": attr.get("method", "get").lower(),
                "fields": {},
            }
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and attr.get("name"):
            kind = attr.get("type", "text").lower()
            if kind in {"checkbox", "radio"} and "checked" not in attr:
                return
            if kind not in {"submit", "button", "image", "reset", "file"}:
                default = "on" if kind in {"checkbox", "radio"} else ""
                self._form["fields"][attr["name"]] = attr.get("value", default)
        elif tag == "textarea" and attr.get("name"):
            self._textarea = attr["name"]
            self._form["fields"][self._textarea] = ""
        elif tag == "select" and attr.get("name"):
            self._select = attr["name"]
        elif tag == "option" and self._select:
            fields = self._form["fields"]
            if self._select not in fields or "selected" in attr:
                fields[self._select] = attr.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea:
            self._form["fields"][self._textarea] += data


def find_form(response, *, field: str = "", action_suffix: str = "") -> dict:
    """The page's POST form that has `field` (or whose action ends with `action_suffix`)."""
    parser = FormParser()
    parser.feed(response.content.decode())
    for form in parser.forms:
        if form["method"] != "post":
            continue
        if field and field not in form["fields"]:
            continue
        if action_suffix and not form["action"].endswith(action_suffix):
            continue
        return form
    path = response.request["PATH_INFO"]
    raise SystemExit(f"no POST form with {field or action_suffix!r} on {path}")


@dataclass
class Case:
    """One page: `prepare()` does what must happen before each request (untimed, e.g. load the
    form) and returns the request itself, a function that returns the response."""

    page: str
    who: str
    path: str
    prepare: Callable[[], Callable[[], object]]
    expect: int = 200
    # The multiple of the floor a list or ticket page is held to; the others are for reference.
    target: float | None = None
    # Timed in rounds of its own, after the others' (it empties a cache the others use).
    apart: bool = False


def busiest_customer():
    """The customer with the most tickets (the benches' "my tickets" customer)."""
    from django.db.models import Count

    from accounts.models import User
    from tickets.models import Ticket

    busiest = (
        Ticket.objects.filter(reporter__is_staff=False)
        .values("reporter")
        .annotate(count=Count("pk"))
        .order_by("-count", "reporter")
        .first()
    )
    return User.objects.get(pk=busiest["reporter"])


def print_table(cases: list, rows: list, *, first_column: str = "page") -> None:
    """The benches' table: each case's median and fastest against the floor's (the first row),
    its queries and peak memory, and whether it is over its target."""
    floor, floor_fastest = rows[0][1], rows[0][2]
    width = max(len(case.path) for case in cases)
    header = (
        f"| {first_column:<32} | {'as':<9} | {'path':<{width}} | {'median':>8} | {'x floor':>7} "
        f"| {'fastest':>8} | {'x floor':>7} | {'queries':>7} | {'peak memory':>11} "
        f"| {'over':<7} |"
    )
    print(header)
    print("|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|")
    for case, median, fastest, queries, peak in rows:
        ratio = median / floor
        name = f"{case.page}{' *' if case.target else ''}"
        over = f"> {case.target:g}x" if case.target and ratio > case.target else ""
        print(
            f"| {name:<32} | {case.who:<9} | {case.path:<{width}} "
            f"| {median * 1000:>6.1f}ms | {ratio:>6.1f}x "
            f"| {fastest * 1000:>6.1f}ms | {fastest / floor_fastest:>6.1f}x "
            f"| {queries:>7} | {peak:>8.2f} MB | {over:<7} |"
        )


def measure(cases: list[Case], runs: int, run_once: Callable) -> list[tuple]:
    """Each case timed: a warm-up request (caches, connections, templates; the cases timed
    apart first, as they empty the rows' cache the others fill), then `runs` rounds, each
    asking for every case once, so a busy spell on the machine slows the floor as much as the
    pages it is compared with (the cases marked `apart` in rounds of their own, after). Then
    each case's queries and its peak memory (tracemalloc) in more requests. Rows: (case,
    median, fastest, queries, peak memory in MB)."""
    from django.db import connection

    for case in sorted(cases, key=lambda case: not case.apart):
        run_once(case, case.prepare())
    times: dict[int, list[float]] = {index: [] for index in range(len(cases))}
    for apart in (False, True):
        for _ in range(runs):
            for index, case in enumerate(cases):
                if case.apart != apart:
                    continue
                request = case.prepare()
                started = time.perf_counter()
                run_once(case, request)
                times[index].append(time.perf_counter() - started)
    rows = []
    for index, case in enumerate(cases):
        # The fewer of two: once a minute a session's expiry is refreshed (two more queries on
        # whichever request it falls), which is not the page's own cost.
        queries = []
        for _ in range(2):
            executed: list[str] = []
            request = case.prepare()
            with connection.execute_wrapper(partial(count_query, executed)):
                run_once(case, request)
            queries.append(len(executed))
        request = case.prepare()
        tracemalloc.start()
        run_once(case, request)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        median, fastest = statistics.median(times[index]), min(times[index])
        rows.append((case, median, fastest, min(queries), peak / 1e6))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--days", type=int, default=730, help="Spread the tickets over D days.")
    args = parser.parse_args()

    out = ROOT / "bench" / "out"
    if "DATABASE_URL" not in os.environ:
        out.mkdir(parents=True, exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{out / f'bench-{args.tickets}.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk_site.settings")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # no request log lines between the figures
    # With DEBUG off, {% static %} needs collectstatic's manifest: the bench keeps its own copy.
    os.environ.setdefault("STATIC_ROOT", str(out / "static"))

    import django

    django.setup()
    from django.conf import settings
    from django.core import mail
    from django.core.cache import caches
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count, Q
    from django.test import Client
    from django.test.utils import override_settings

    from accounts.models import User
    from messaging.models import Message
    from messaging.services import message_send
    from tickets.models import Ticket, TicketEvent
    from tickets.services import ticket_assign, ticket_create

    override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        ROOT_URLCONF="bench.urls_floor",
        # The POSTs send emails: built as usual, kept in memory, never sent or printed.
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    ).enable()
    call_command("migrate", verbosity=0)
    # Every run: a manifest older than a static file would make {% static %} fail.
    call_command("collectstatic", interactive=False, verbosity=0)
    started = time.perf_counter()
    call_command("seed_demo", tickets=args.tickets, days=args.days, quiet_logins=True)
    seeded = time.perf_counter() - started

    agent = User.objects.get(username="agent")
    backend = "accounts.backends.UsernameOrEmailBackend"

    # The two bench tickets, made once through the services (as people would make them).
    conversation = Ticket.objects.filter(title=CONVERSATION_TITLE).order_by("pk").first()
    if conversation is None:
        # The customer with the most tickets reports it (and is the "my tickets" customer).
        reporter = busiest_customer()
        conversation = ticket_create(
            reporter=reporter,
            title=CONVERSATION_TITLE,
            description="Opened by bench/page_bench.py: the ticket page with a long conversation.",
        )
        ticket_assign(ticket=conversation, assignee=agent, by=agent)
        for number in range(CONVERSATION_MESSAGES):
            if number % 2 == 0:
                sender, internal = reporter, False
            else:
                sender, internal = agent, number % 10 == 9  # every fifth staff message a note
            message_send(
                ticket=conversation,
                sender=sender,
                content=f"Message {number + 1} of the bench conversation.\nWith a second line.",
                is_internal=internal,
            )
    customer = conversation.reporter
    reply_target = Ticket.objects.filter(title=REPLY_TARGET_TITLE).order_by("pk").first()
    if reply_target is None:
        reply_target = ticket_create(
            reporter=customer,
            title=REPLY_TARGET_TITLE,
            description="Opened by bench/page_bench.py: every run of the reply benchmark adds "
            "one reply here.",
        )
    if not customer.check_password(BENCH_PASSWORD):
        customer.set_password(BENCH_PASSWORD)
        customer.save(update_fields=["password"])

    counts = (Ticket.objects.count(), Message.objects.count(), TicketEvent.objects.count())
    mine = Ticket.objects.filter(reporter=customer).aggregate(
        all=Count("pk"), not_closed=Count("pk", filter=~Q(status=Ticket.Status.CLOSED))
    )
    conversation_size = Message.objects.filter(ticket=conversation).count()

    def logged_in(user) -> Client:
        client = Client(enforce_csrf_checks=True)
        client.force_login(user, backend=backend)
        return client

    anonymous = Client(enforce_csrf_checks=True)
    as_customer = logged_in(customer)
    # New tickets are reported by another customer, so the runs do not pile up in the lists
    # measured above.
    as_reporter = logged_in(User.objects.get(username=NEW_TICKET_REPORTER))
    as_agent = logged_in(agent)
    # The site as a server loads it (helpdesk_site/wsgi.py, which freezes what is loaded by
    # then out of the garbage collector's full collections, as in a gunicorn worker).
    import helpdesk_site.wsgi  # noqa: F401

    def get(client: Client, path: str) -> Callable[[], Callable[[], object]]:
        # secure=True: production settings redirect plain HTTP to HTTPS.
        return lambda: partial(client.get, path, secure=True)

    def first_view(client: Client, path: str) -> Callable[[], Callable[[], object]]:
        """The page before any of its rows was rendered (render_rows keeps them): the view
        after a new release, or of a list or ticket nobody has opened; for reference."""

        def prepare():
            caches["fragments"].clear()
            return partial(client.get, path, secure=True)

        return prepare

    def post_form(client_for: Callable[[], Client], page: str, fill: dict, **match):
        """Load `page`, take its form as served, fill in what a person types, submit it."""

        def prepare():
            client = client_for()
            form = find_form(client.get(page, secure=True), **match)
            data = {**form["fields"], **fill}
            return partial(
                client.post, form["action"] or page, data, secure=True, headers={"Origin": ORIGIN}
            )

        return prepare

    per_page = settings.TICKETS_PER_PAGE
    customer_page_2 = 2 if mine["all"] > per_page else 1
    conversation_url = f"/tickets/{conversation.pk}/"
    admin_list = "/admin/tickets/ticket/"
    cases = [
        Case("floor: base.html", "agent", "/bench/floor/", get(as_agent, "/bench/floor/")),
        Case("log in page", "anonymous", "/accounts/login/", get(anonymous, "/accounts/login/")),
        Case(
            "log in (POST)",
            "anonymous",
            "/accounts/login/",
            post_form(
                partial(Client, enforce_csrf_checks=True),
                "/accounts/login/",
                {"username": customer.username, "password": BENCH_PASSWORD},
                field="username",
            ),
            expect=302,
        ),
        Case(
            "my tickets",
            "customer",
            "/tickets/",
            get(as_customer, "/tickets/"),
            target=HELP_DESK_TARGET,
        ),
        *[
            Case(
                f"my tickets, {label}",
                "customer",
                path,
                get(as_customer, path),
                target=HELP_DESK_TARGET,
            )
            for label, path in [
                (f"all, page {customer_page_2}", f"/tickets/?status=all&page={customer_page_2}"),
                ("closed", "/tickets/?status=closed"),
            ]
        ],
        Case(
            f"ticket, {conversation_size} messages",
            "customer",
            conversation_url,
            get(as_customer, conversation_url),
            target=HELP_DESK_TARGET,
        ),
        Case(
            "new ticket (POST)",
            "customer",
            "/tickets/new/",
            post_form(
                lambda: as_reporter,
                "/tickets/new/",
                {
                    "title": "Printer on floor 3 jams",
                    "description": "It jams on every second page since this morning.",
                    "priority": "high",
                },
                field="title",
            ),
            expect=302,
        ),
        *[
            Case(f"all tickets{label}", "agent", path, get(as_agent, path), target=HELP_DESK_TARGET)
            for label, path in [
                (" (open work)", "/tickets/"),
                (", page 2", "/tickets/?page=2"),
                (": triage queue", "/tickets/?assignee=none&status=open"),
                (": assigned to me", "/tickets/?assignee=me"),
            ]
        ],
        Case(
            f"ticket, {conversation_size} messages",
            "agent",
            conversation_url,
            get(as_agent, conversation_url),
            target=HELP_DESK_TARGET,
        ),
        Case(
            "all tickets, first view",
            "agent",
            "/tickets/",
            first_view(as_agent, "/tickets/"),
            apart=True,
        ),
        Case(
            f"ticket, {conversation_size} messages, first view",
            "agent",
            conversation_url,
            first_view(as_agent, conversation_url),
            apart=True,
        ),
        Case(
            "reply (POST)",
            "agent",
            f"/tickets/{reply_target.pk}/reply/",
            post_form(
                lambda: as_agent,
                f"/tickets/{reply_target.pk}/",
                {"content": "Thanks, we are looking into it."},
                action_suffix="/reply/",
            ),
            expect=302,
        ),
        Case(
            "admin floor: bare admin page",
            "agent",
            "/bench/admin-floor/",
            get(as_agent, "/bench/admin-floor/"),
        ),
        *[
            Case(f"admin: tickets{label}", "agent", path, get(as_agent, path), target=ADMIN_TARGET)
            for label, path in [
                ("", admin_list),
                (", status open", f"{admin_list}?status__exact=open"),
            ]
        ],
        Case(
            f"admin: ticket, {conversation_size} messages",
            "agent",
            f"{admin_list}{conversation.pk}/change/",
            get(as_agent, f"{admin_list}{conversation.pk}/change/"),
            target=ADMIN_TARGET,
        ),
        Case("reports, last 30 days", "agent", "/reports/", get(as_agent, "/reports/?preset=30d")),
    ]

    def run_once(case: Case, request: Callable[[], object]) -> None:
        response = request()
        if response.status_code != case.expect:
            raise SystemExit(
                f"{case.page}: {case.path} answered {response.status_code}, not {case.expect}"
            )
        mail.outbox = []

    load_before = os.getloadavg()
    rows = measure(cases, args.runs, run_once)
    load_after = os.getloadavg()

    print()
    with connection.cursor() as cursor:
        is_pg = connection.vendor == "postgresql"
        cursor.execute("SELECT version()" if is_pg else "SELECT 'SQLite ' || sqlite_version()")
        version = cursor.fetchone()[0].split(" on ")[0]
    print(f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        f", load average {load_before[0]:.1f} before and {load_after[0]:.1f} after"
    )
    print(f"Database: {version} ({connection.vendor})")
    print(
        f"Data: {counts[0]:,} tickets, {counts[1]:,} messages, {counts[2]:,} events "
        f"(seeding took {seeded:.0f} s)"
    )
    print(
        f"Customer: {customer.username}, {mine['all']} tickets ({mine['not_closed']} not closed); "
        f"agent: {agent.username}; ticket #{conversation.pk} has {conversation_size} messages; "
        f"new tickets by {NEW_TICKET_REPORTER}."
    )
    print(
        f"Median and fastest of {args.runs} rounds (each round asks for every page once) after "
        f"a warm-up round; x floor = the page's median / the floor's median (and fastest / "
        f"fastest); queries: the fewer of two more requests; memory: tracemalloc peak in one "
        f"more request."
    )
    print(
        f"Targets: the help desk's list and ticket pages within {HELP_DESK_TARGET:g}x the floor, "
        f"the admin's within {ADMIN_TARGET:g}x (*: held to a target; over: the median is above it)."
    )
    print()
    print_table(cases, rows)


if __name__ == "__main__":
    main()
