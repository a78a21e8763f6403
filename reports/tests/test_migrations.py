"""The report migrations: upgrading a database whose report triggers are in place (a database of
an older release), and migrating from scratch with the SQL each migration carries."""

import ast
import importlib
import inspect

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from reports import rollup, sqlite_indexes
from tickets.models import Ticket


# serialized_rollback: the flush afterwards then sends no post_migrate, whose content types
# would clash with the next serialized test's (the browser journeys).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_sqlite_upgrades_with_the_triggers_of_the_older_release_in_place(customer, make_ticket):
    """SQLite adds a column by rebuilding the table, and the rename at the end of a rebuild
    checks every trigger naming the table: reports 0002 failed on a database that had the
    0001 triggers ("error in trigger reports_tickets_inserted: no such table")."""
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate([("reports", "0001_initial")])
    # What 0001 installed in its day: triggers on the tickets that write the counts by name.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TRIGGER reports_tickets_inserted AFTER INSERT ON tickets_ticket BEGIN "
            "UPDATE reports_activityslot SET created = created + 1 WHERE 0; END"
        )
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
    finally:
        executor = MigrationExecutor(connection)
        if executor.migration_plan(latest):
            with connection.cursor() as cursor:
                cursor.execute("DROP TRIGGER IF EXISTS reports_tickets_inserted")
            executor.migrate(latest)
    assert rollup.missing_triggers() == []
    make_ticket(customer)
    assert Ticket.objects.count() == 1
    assert rollup.differences() == []


def test_the_report_migrations_import_no_app_code():
    """Their SQL is written out in them: a later change to reports/rollup.py (or any app
    module) cannot change what an old migration does."""
    for name in ("0001_initial", "0002_still_open_counts", "0003_sqlite_report_indexes"):
        module = importlib.import_module(f"reports.migrations.{name}")
        tree = ast.parse(inspect.getsource(module))
        imported = {
            alias.name if isinstance(node, ast.Import) else node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in (node.names if isinstance(node, ast.Import) else [node])
        }
        assert imported == {"django.db"}, name


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_from_scratch_0001_counts_with_the_triggers_of_its_day(customer, make_ticket):
    """The reports tables made anew: at 0001 its own triggers count a new ticket; the
    latest migration then replaces them with today's, and the counts agree with a recount."""
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    make_ticket(customer)
    try:
        executor.migrate([("reports", None)])
        executor = MigrationExecutor(connection)
        executor.migrate([("reports", "0001_initial")])
        with connection.cursor() as cursor:
            cursor.execute("SELECT SUM(created) FROM reports_activityslot")
            assert cursor.fetchone()[0] == 1  # the recount of what was there
            make_ticket(customer)
            cursor.execute("SELECT SUM(created) FROM reports_activityslot")
            assert cursor.fetchone()[0] == 2  # counted by 0001's trigger
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
    assert rollup.missing_triggers() == []
    assert rollup.differences() == []
    assert Ticket.objects.count() == 2


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only: PostgreSQL alters in place")
def test_migrate_puts_back_the_report_indexes_a_table_rebuild_dropped(db):
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX ticket_resolution_time")
        cursor.execute("DROP INDEX report_event_changes")

    call_command("migrate", verbosity=0)  # nothing to apply; post_migrate still runs

    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        present = {name for (name,) in cursor.fetchall()}
    assert set(sqlite_indexes.INDEXES) <= present
    assert sqlite_indexes.ensure_indexes() == []
