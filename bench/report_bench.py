"""Benchmark of the reports: the page, the CSV and the command, at a given data size.

    .venv/bin/python bench/report_bench.py --tickets 100000            # SQLite file in bench/out/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench \\
        .venv/bin/python bench/report_bench.py --tickets 1000000

Fills the database with `seed_demo --tickets N` (only what is missing), then for each report
(all time by month, last 90 days by day) and each way of getting it (page, CSV, command) prints
the median wall time of several runs computed anew ("cold": the report's cache entry deleted
first) and read from the cache (the same request again; the command never reads it), the
number of SQL queries of each, and the peak memory growth of a cold run (tracemalloc, in a
separate run so it does not slow the timed ones). With REDIS_URL set, the cache is Redis.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def count_query(executed: list[str], execute, sql, params, many, context):
    """A database execute wrapper that notes each query (counts even across requests)."""
    executed.append(sql)
    return execute(sql, params, many, context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--days", type=int, default=730, help="Spread the tickets over D days.")
    args = parser.parse_args()

    if "DATABASE_URL" not in os.environ:
        out = ROOT / "bench" / "out"
        out.mkdir(parents=True, exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{out / f'bench-{args.tickets}.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk_site.settings")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # no request log lines between the figures
    # With DEBUG off, {% static %} needs collectstatic's manifest: the bench keeps its own copy.
    os.environ.setdefault("STATIC_ROOT", str(ROOT / "bench" / "out" / "static"))

    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.http import QueryDict
    from django.test import Client

    from accounts.models import User
    from messaging.models import Message
    from reports.caching import report_key
    from reports.forms import ReportForm
    from tickets.models import Ticket, TicketEvent

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    started = time.perf_counter()
    call_command("seed_demo", tickets=args.tickets, days=args.days, quiet_logins=True)
    seeded = time.perf_counter() - started
    # No ANALYZE of its own: the database is as a user's would be (migrate and seed_demo
    # analyze SQLite; PostgreSQL's autovacuum keeps its statistics).

    counts = (Ticket.objects.count(), Message.objects.count(), TicketEvent.objects.count())
    client = Client()
    client.force_login(User.objects.get(username="agent"))

    def get(path: str):
        # secure=True: production settings redirect plain HTTP to HTTPS.
        response = client.get(path, secure=True)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        return response

    def forget(query: str) -> None:
        """Delete the report's cache entry (only that one: the cache may be a shared Redis)."""
        form = ReportForm(QueryDict(query))
        if not form.is_valid():
            raise SystemExit(f"{query}: {form.errors}")
        cache.delete(report_key(form.cleaned_data["period"]))

    def page(query: str):
        return query, lambda: get(f"/reports/?{query}")

    def csv(query: str):
        return query, lambda: get(f"/reports/export.csv?{query}")

    def command(start: str, end: str, bucket: str):
        def run():
            with tempfile.NamedTemporaryFile(suffix=".html") as handle:
                call_command(
                    "generate_report",
                    "--from",
                    start,
                    "--to",
                    end,
                    "--bucket",
                    bucket,
                    "--output",
                    handle.name,
                    stderr=open(os.devnull, "w"),  # noqa: SIM115
                )

        return None, run

    from django.utils import timezone

    today = timezone.localdate()
    first = timezone.localtime(Ticket.objects.order_by("created_at").first().created_at).date()
    ninety = today - timezone.timedelta(days=89)
    cases = [
        ("all time, by month", "page", page("preset=all&bucket=month")),
        ("all time, by month", "CSV", csv("preset=all&bucket=month")),
        ("all time, by month", "command", command(first.isoformat(), today.isoformat(), "month")),
        ("last 90 days, by day", "page", page("preset=90d&bucket=day")),
        ("last 90 days, by day", "CSV", csv("preset=90d&bucket=day")),
        ("last 90 days, by day", "command", command(ninety.isoformat(), today.isoformat(), "day")),
    ]

    def timed(run, query: str | None = None) -> float:
        """Seconds `run` takes; with `query`, computed anew (its cache entry deleted first)."""
        if query is not None:
            forget(query)
        started = time.perf_counter()
        run()
        return time.perf_counter() - started

    def queries(run, query: str | None = None) -> int:
        if query is not None:
            forget(query)
        executed: list[str] = []
        with connection.execute_wrapper(partial(count_query, executed)):
            run()
        return len(executed)

    rows = []
    for report, way, (query, run) in cases:
        timed(run, query)  # warm-up: connections, imports
        cold_times, cached_times = [], []
        for _ in range(args.runs):
            cold_times.append(timed(run, query))
            if query is not None:
                cached_times.append(timed(run))  # the same request again: from the cache
        cold_queries = queries(run, query)
        cached_queries = queries(run) if query is not None else None
        if query is not None:
            forget(query)
        tracemalloc.start()
        run()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        cached = statistics.median(cached_times) if cached_times else None
        rows.append(
            (report, way, statistics.median(cold_times), cached, cold_queries, cached_queries,
             peak / 1e6)
        )  # fmt: skip

    print()
    with connection.cursor() as cursor:
        is_pg = connection.vendor == "postgresql"
        cursor.execute("SELECT version()" if is_pg else "SELECT 'SQLite ' || sqlite_version()")
        version = cursor.fetchone()[0].split(" on ")[0]
    print(f"Database: {version}")
    print(
        f"Data: {counts[0]:,} tickets, {counts[1]:,} messages, {counts[2]:,} events "
        f"(seeding took {seeded:.0f} s)"
    )
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"Cache: {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}")
    print(
        f"Median of {args.runs} runs after a warm-up: cold (computed anew) and cached (the same "
        "request again); memory = tracemalloc peak in one more cold run."
    )
    print()
    print(
        f"| {'report':<22} | {'via':<8} | {'cold':>8} | {'cached':>8} | {'queries':>9} "
        f"| {'peak memory':>11} |"
    )
    print(f"|{'-' * 24}|{'-' * 10}|{'-' * 10}|{'-' * 10}|{'-' * 11}|{'-' * 13}|")
    for report, way, cold_median, cached, cold_queries, cached_queries, peak in rows:
        cached_text = "-" if cached is None else f"{cached * 1000:.1f}ms"
        counts = f"{cold_queries}" if cached_queries is None else f"{cold_queries}/{cached_queries}"
        print(
            f"| {report:<22} | {way:<8} | {cold_median * 1000:>6.0f}ms | {cached_text:>8} "
            f"| {counts:>9} | {peak:>8.1f} MB |"
        )


if __name__ == "__main__":
    main()
