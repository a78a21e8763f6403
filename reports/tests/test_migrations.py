"""Upgrading a database whose report triggers are in place (a database of an older release)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from reports import rollup
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
