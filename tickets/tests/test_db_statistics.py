"""SQLite's planner statistics are gathered after bulk fills and kept current by requests."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tickets import db_statistics
from tickets.models import Ticket
from tickets.transfer import export_tickets

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite only: PostgreSQL's autovacuum keeps its own"
)


def analyzed_tables() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return set()
        cursor.execute("SELECT DISTINCT tbl FROM sqlite_stat1")
        return {row[0] for row in cursor.fetchall()}


def forget_statistics() -> None:
    """A database that was never analyzed, as SQLite sees it: no statistics on disk, and none
    in the connection's schema (an ANALYZE of one small table reloads them from disk)."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE django_content_type")
        cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl <> 'django_content_type'")
        cursor.execute("ANALYZE django_content_type")
    assert analyzed_tables() == {"django_content_type"}


@sqlite_only
def test_seed_demo_leaves_statistics_behind(db):
    forget_statistics()
    call_command("seed_demo", quiet_logins=True, stdout=StringIO())
    assert {"tickets_ticket", "messaging_message", "tickets_ticketevent"} <= analyzed_tables()


@sqlite_only
def test_import_tickets_leaves_statistics_behind(tmp_path, make_ticket, customer, agent):
    for _ in range(3):
        make_ticket(customer)
    path = tmp_path / "tickets.jsonl"
    with path.open("w", encoding="utf-8") as stream:
        export_tickets(stream, format="jsonl")
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines
    Ticket.objects.all().delete()
    forget_statistics()

    out = StringIO()
    call_command("import_tickets", str(path), stdout=out)

    assert out.getvalue().startswith("Imported 3 tickets")

    assert "tickets_ticket" in analyzed_tables()


@sqlite_only
def test_a_migrate_that_applied_something_leaves_statistics_behind(db, make_ticket, customer):
    make_ticket(customer)
    forget_statistics()
    applied = [(MigrationLoader(connection).graph.leaf_nodes()[0], False)]

    emit_post_migrate_signal(0, False, "default", plan=[])
    assert "tickets_ticket" not in analyzed_tables()  # Nothing migrated: nothing to analyze.
    emit_post_migrate_signal(0, False, "default", plan=applied)
    assert "tickets_ticket" in analyzed_tables()


@sqlite_only
def test_the_statistics_count_every_row_of_an_index(db, customer):
    """A sampled ANALYZE (analysis_limit 1000) reads any status as 1,001 rows, at 100,000
    tickets too, and the staff list's plan then sorts every open ticket: 100 times slower."""
    now = timezone.now()
    Ticket.objects.bulk_create(
        Ticket(
            title="Bulk",
            description="Bulk",
            reporter=customer,
            status="closed" if number % 2 else "open",
            closed_at=now if number % 2 else None,
        )
        for number in range(2400)
    )

    db_statistics.analyze()

    with connection.cursor() as cursor:
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE idx = 'ticket_status_list'")
        rows, per_status, _ = (int(n) for n in cursor.fetchone()[0].split())
    assert (rows, per_status) == (2400, 1200)


@pytest.fixture
def hourly(settings, monkeypatch):
    settings.SQLITE_OPTIMIZE_EVERY = 3600
    monkeypatch.setattr(db_statistics, "next_optimize", 0.0)  # due now


def optimizes(client, path: str) -> bool:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return any(q["sql"] == "PRAGMA optimize" for q in queries.captured_queries)


@sqlite_only
def test_a_request_analyzes_the_tables_it_read_when_they_have_no_statistics(
    hourly, login, agent, make_ticket, customer
):
    for _ in range(3):
        make_ticket(customer)
    forget_statistics()

    response = login(agent).get("/tickets/")

    assert response.status_code == 200
    assert "tickets_ticket" in analyzed_tables()


@sqlite_only
def test_the_optimize_runs_once_an_interval(hourly, login, agent):
    client = login(agent)
    assert optimizes(client, "/tickets/")
    assert not optimizes(client, "/tickets/")
