"""Benchmark of the search (tickets/search.py) at a given data size, with the query plans.

    .venv/bin/python bench/search_bench.py --tickets 100000            # SQLite file in bench/out/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_se_bench \\
        .venv/bin/python bench/search_bench.py --tickets 1000000

Fills the database with `seed_demo --tickets N` (only what is missing) and adds, once, a few
tickets and a message of its own with rare words. Then, for each case (a rare word, a common
word, a phrase, a phrase with an exclusion, a word found only in messages, rare and common, and
a word with no hits, as staff and as a customer), it does what the list page does in the
database (the search and its sorted hits, the first page's rows and the snippets) `--runs` times
after a warm-up and prints the median and 95th percentile, the number of queries, the number of
hits counted, and the plan (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite) of the
page's two searching queries (the count and the rows). Then the list page with a search against
the floor page (bench/urls_floor.py, as in bench/page_bench.py), and the index's size and the
insert cost it adds (rows per second into a copy of the table with and without it).

Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_MARK = "[search bench]"
# The bench's own rare words: in three tickets, and in one message only.
RARE_TICKET_WORD = "zanzibar"
RARE_CODE = "ERR-04821"
RARE_MESSAGE_WORD = "quixotic"
HIGH_TARGET_MS = 50.0
PAGE_TARGET = 5.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--no-plans", action="store_true", help="Leave out the query plans.")
    parser.add_argument("--insert-rows", type=int, default=20_000)
    args = parser.parse_args()

    out = ROOT / "bench" / "out"
    if "DATABASE_URL" not in os.environ:
        out.mkdir(parents=True, exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{out / f'bench-{args.tickets}.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk_site.settings")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("STATIC_ROOT", str(out / "static"))

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from accounts.models import User
    from bench.page_bench import busiest_customer
    from messaging.models import Message
    from messaging.services import message_send
    from tickets.models import Ticket
    from tickets.pagination import CappedPaginator
    from tickets.search import search_tickets, snippets
    from tickets.services import ticket_create

    override_settings(ROOT_URLCONF="bench.urls_floor").enable()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("seed_demo", tickets=args.tickets, days=args.days, quiet_logins=True)
    vendor = connection.vendor

    agent = User.objects.get(username="agent")
    customer = busiest_customer()
    if not Ticket.objects.filter(title__startswith=BENCH_MARK).exists():
        for number in range(3):
            ticket_create(
                reporter=customer,
                title=f"{BENCH_MARK} Shipment to {RARE_TICKET_WORD.title()} stuck ({number})",
                description=f"The label printer fails with {RARE_CODE} on every label.",
            )
        target = Ticket.objects.filter(reporter=customer).order_by("pk").first()
        message_send(
            ticket=target,
            sender=agent,
            content=f"A {RARE_MESSAGE_WORD} request, but we will look into it.",
        )
    tickets_total, messages_total = Ticket.objects.count(), Message.objects.count()

    cases = [
        ("rare word", RARE_TICKET_WORD, agent),
        ("rare code", RARE_CODE, agent),
        ("common word", "printer", agent),
        ("very common word", "the", agent),
        ("phrase", '"shared drive"', agent),
        ("rare phrase", '"shipment to zanzibar"', agent),
        ("phrase with exclusion", '"shared drive" -slow', agent),
        ("word only in messages (rare)", RARE_MESSAGE_WORD, agent),
        ("word only in messages (common)", "firefox", agent),
        ("no hits", "xylophone", agent),
        ("best match, common word", "printer", agent),
        ("customer: common word", "printer", customer),
        ("customer: message word", "firefox", customer),
        ("customer: no hits", "xylophone", customer),
    ]
    per_page = settings.TICKETS_PER_PAGE

    def page_of(user, query: str, sort: str):
        result = search_tickets(user, query, {"status": "all", "sort": sort})
        paginator = CappedPaginator(result.hits, per_page, limit=result.limit)
        page = paginator.page(1)
        rows = result.rows(page.object_list, viewer=user)
        snippets(rows, result, user=user)
        return result, paginator, page, rows

    print(
        f"Search benchmark: {vendor}, {tickets_total:,} tickets, {messages_total:,} messages; "
        f"{args.runs} runs after a warm-up; all statuses; SEARCH_MAX_HITS="
        f"{settings.SEARCH_MAX_HITS}; SEARCH_CONFIG={settings.SEARCH_CONFIG}."
    )
    print("What each run does: the search (its hits, sorted), page 1's rows and its snippets.\n")
    header = (
        f"| {'case':<32} | {'query':<24} | {'as':<8} | {'median':>8} | {'p95':>8} "
        f"| {'queries':>7} | {'hits':>6} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|")
    plans = []
    worst = 0.0
    for name, query, user in cases:
        sort = "best" if name.startswith("best") else ""
        page_of(user, query, sort)  # warm-up
        timings = []
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                _result, paginator, _page, _rows = page_of(user, query, sort)
                timings.append((time.perf_counter() - started) * 1000)
        hits = f"{paginator.count}{'+' if paginator.capped else ''}"
        median, p95 = statistics.median(timings), percentile(timings, 0.95)
        worst = max(worst, p95)
        role = "staff" if user.is_staff else "customer"
        print(
            f"| {name:<32} | {query:<24} | {role:<8} | {median:>6.1f}ms | {p95:>6.1f}ms "
            f"| {len(queries):>7} | {hits:>6} |"
        )
        if not args.no_plans:
            plans.append((f"{name}: {query} ({role})", explain_all(connection, queries)))
    print(f"\nWorst 95th percentile: {worst:.1f} ms (target on PostgreSQL: {HIGH_TARGET_MS:g} ms).")

    # The list page with a search, against the floor page (a bare base.html), interleaved.
    staff_client = Client()
    staff_client.force_login(agent, backend="accounts.backends.UsernameOrEmailBackend")
    pages = {
        "floor: base.html": "/bench/floor/",
        "list, no search": "/tickets/",
        "list, search: common word": "/tickets/?q=printer&status=all",
        "list, search: rare word": f"/tickets/?q={RARE_TICKET_WORD}&status=all",
        "list, search: no hits": "/tickets/?q=xylophone&status=all",
        "list, search: best match": "/tickets/?q=printer&status=all&sort=best",
    }
    page_times: dict[str, list[float]] = {name: [] for name in pages}
    for round_number in range(args.runs + 1):
        for name, path in pages.items():
            started = time.perf_counter()
            response = staff_client.get(path, secure=True)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (path, response.status_code)
            if round_number:
                page_times[name].append(elapsed)
    floor = statistics.median(page_times["floor: base.html"])
    print(f"\n| {'page (as staff)':<28} | {'median':>8} | {'x floor':>7} |")
    print(f"|{'-' * 30}|{'-' * 10}|{'-' * 9}|")
    for name, values in page_times.items():
        median = statistics.median(values)
        print(f"| {name:<28} | {median:>6.1f}ms | {median / floor:>6.1f}x |")
    print(f"Target: a list page with a search within {PAGE_TARGET:g}x the floor.")

    print()
    index_size(connection)
    insert_cost(connection, args.insert_rows)
    message_vector_cost(connection, args.insert_rows)

    if plans:
        print("\n## Plans\n")
        print("Each query of the case's last run, with its time there; EXPLAIN ANALYZE of those")
        print("over 2 ms and of every searching one (EXPLAIN QUERY PLAN on SQLite).\n")
        for title, explained in plans:
            print(f"### {title}\n")
            for sql, took, plan in explained:
                print(f"- {took:.1f} ms: `{sql[:160]}{'…' if len(sql) > 160 else ''}`")
                if plan:
                    print(f"```\n{plan}\n```")
            print()


def explain_all(connection, queries) -> list[tuple[str, float, str]]:
    """(sql, ms, plan) for each query captured; a plan for the ones over 2 ms and for every
    searching one (a text search match: `@@`, or SQLite's MATCH). In one transaction, the
    planner's settings made again as the search made them (tickets.search._walking), so each
    plan is the one the search ran."""
    from django.db import transaction

    explained = []
    with transaction.atomic():
        for captured in queries.captured_queries:
            explained.append(explain_one(connection, captured))
    return explained


def explain_one(connection, captured) -> tuple[str, float, str]:
    sql, took = captured["sql"], float(captured["time"]) * 1000
    plan = ""
    if sql.startswith("SELECT current_setting("):
        with connection.cursor() as cursor:
            cursor.execute(sql)  # the search's planner settings, again
        return sql, took, plan
    if sql in ("BEGIN", "COMMIT") or sql.startswith(("SAVEPOINT", "RELEASE")):
        return sql, took, plan
    searching = "@@" in sql or " MATCH " in sql
    if took > 2 or searching:
        postgres = connection.vendor == "postgresql"
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
        with connection.cursor() as cursor:
            cursor.execute(prefix + sql)
            plan = "\n".join(" | ".join(str(c) for c in row) for row in cursor.fetchall())
    return sql, took, plan


def index_size(connection) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in ("tickets_ticket", "messaging_message"):
                cursor.execute(
                    f"SELECT pg_relation_size('{table}_search'),"  # noqa: S608 (fixed names)
                    f" sum(pg_column_size(search_vector)), pg_total_relation_size('{table}')"
                    f" FROM {table}"
                )
                gin, column, total = cursor.fetchone()
                print(
                    f"{table}: GIN index {gin / 2**20:,.0f} MiB, search_vector column "
                    f"{(column or 0) / 2**20:,.0f} MiB (the table with its indexes: "
                    f"{total / 2**20:,.0f} MiB)"
                )
        else:
            for table in ("tickets_ticket", "messaging_message"):
                cursor.execute(f"SELECT sum(length(block)) FROM {table}_fts_data")  # noqa: S608
                (size,) = cursor.fetchone()
                print(f"{table}: FTS5 index {(size or 0) / 2**20:,.0f} MiB")


def insert_cost(connection, rows: int) -> None:
    """Rows per second into a scratch copy of each table's text, without and with the index
    (PostgreSQL: the generated tsvector and its GIN index; SQLite: the FTS5 table and its
    trigger), from the table's own rows. In one transaction, rolled back."""
    from django.conf import settings
    from django.db import transaction

    config = settings.SEARCH_CONFIG
    specs = {
        "tickets": (
            "tickets_ticket",
            "title varchar(200), description text",
            "title, description",
            f"setweight(to_tsvector('{config}'::regconfig, coalesce(title, '')), 'A') || "
            f"setweight(to_tsvector('{config}'::regconfig, coalesce(description, '')), 'B')",
        ),
        "messages": (
            "messaging_message",
            "content text",
            "content",
            f"to_tsvector('{config}'::regconfig, coalesce(content, ''))",
        ),
    }
    print(f"\nInsert cost ({rows:,} rows copied from each table, one INSERT ... SELECT):")
    for name, (table, columns, names, vector) in specs.items():
        timings = {}
        for indexed in (False, True):
            with transaction.atomic(), connection.cursor() as cursor:
                scratch = f"bench_{name}_{'indexed' if indexed else 'plain'}"
                if connection.vendor == "postgresql":
                    extra = (
                        f", sv tsvector GENERATED ALWAYS AS ({vector}) STORED" if indexed else ""
                    )
                    cursor.execute(f"CREATE TEMP TABLE {scratch} (id bigint, {columns}{extra})")
                    if indexed:
                        cursor.execute(f"CREATE INDEX ON {scratch} USING gin (sv)")
                else:
                    cursor.execute(
                        f"CREATE TEMP TABLE {scratch} (id INTEGER PRIMARY KEY, {columns})"
                    )
                    if indexed:
                        cursor.execute(
                            f"CREATE VIRTUAL TABLE temp.{scratch}_fts USING fts5({names}, "
                            f"content='{scratch}', content_rowid='id', "
                            "tokenize='unicode61 remove_diacritics 0')"
                        )
                        new = ", ".join(f"new.{c.strip()}" for c in names.split(","))
                        cursor.execute(
                            f"CREATE TEMP TRIGGER {scratch}_ai AFTER INSERT ON {scratch} BEGIN "  # noqa: S608
                            f"INSERT INTO {scratch}_fts(rowid, {names}) VALUES (new.id, {new});"
                            " END"
                        )
                started = time.perf_counter()
                cursor.execute(
                    f"INSERT INTO {scratch} (id, {names}) SELECT id, {names} FROM {table}"  # noqa: S608
                    f" ORDER BY id DESC LIMIT {int(rows)}"
                )
                timings[indexed] = time.perf_counter() - started
                transaction.set_rollback(True)
        plain, indexed = rows / timings[False], rows / timings[True]
        print(
            f"  {name}: {plain:,.0f} rows/s without the index, {indexed:,.0f} rows/s with it "
            f"({timings[True] / timings[False]:.1f}x the time)"
        )


def message_vector_cost(connection, rows: int) -> None:
    """PostgreSQL: messages per second into messaging_message itself (copies of its newest
    `rows`, on their tickets), with the triggers that keep each ticket's conversation words
    (tickets/search_index.py) and with them disabled; one INSERT each, and one message at a
    time for a tenth as many. Each in a transaction, rolled back."""
    from django.db import transaction

    if connection.vendor != "postgresql":
        return
    copy = (
        "INSERT INTO messaging_message (ticket_id, sender_id, receiver_id, content, is_internal,"
        " created_at) SELECT ticket_id, sender_id, receiver_id, content, is_internal, created_at"
        " FROM messaging_message ORDER BY id DESC LIMIT %s"
    )
    one = copy.replace("ORDER BY id DESC LIMIT %s", "WHERE id = %s")
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM messaging_message ORDER BY id DESC LIMIT %s", [rows // 10])
        singles = [row[0] for row in cursor.fetchall()]
    print(
        f"\nMessages into messaging_message ({rows:,} in one INSERT; {len(singles):,} one by one):"
    )
    for kept in (False, True):
        timings = []
        for statements in ([(copy, [rows])], [(one, [pk]) for pk in singles]):
            with transaction.atomic(), connection.cursor() as cursor:
                if not kept:
                    cursor.execute(
                        "ALTER TABLE messaging_message"
                        " DISABLE TRIGGER helpdesk_message_vectors_insert"
                    )
                started = time.perf_counter()
                for sql, params in statements:
                    cursor.execute(sql, params)
                timings.append(time.perf_counter() - started)
                transaction.set_rollback(True)
        label = "with the tickets' vectors kept" if kept else "without (triggers disabled)"
        print(
            f"  {label}: {rows / timings[0]:,.0f} messages/s in bulk, "
            f"{len(singles) / timings[1]:,.0f} messages/s one by one"
        )


if __name__ == "__main__":
    main()
