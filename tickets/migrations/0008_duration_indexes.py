"""First response and resolution times of every ticket, in order, for the all-time report.

PostgreSQL only: expression indexes on the durations in float8 seconds (the expressions of
reports.selectors.FIRST_RESPONSE_TIME and RESOLUTION_TIME, which must match them to the
letter), with the columns the expression reads, so that an index-only scan can count and rank
them. SQLite ranks the durations of its (smaller) databases by sorting, as before.
"""

from django.db import migrations

INDEXES = {
    "ticket_first_response_time": (
        "date_part('epoch', first_response_at - created_at)",
        "first_response_at, created_at",
        "first_response_at IS NOT NULL",
    ),
    "ticket_resolution_time": (
        "date_part('epoch', closed_at - created_at)",
        "closed_at, created_at",
        "closed_at IS NOT NULL",
    ),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (expression, columns, rows) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON tickets_ticket (({expression})) "
            f"INCLUDE ({columns}) WHERE {rows}"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0007_report_indexes"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
