"""The report indexes on the ticket events, again, on SQLite.

tickets migration 0010 changes the events' kind constraint, which SQLite does by rebuilding the
table: the indexes reports 0003 made on it by hand go with the old table (the triggers too, which
`reports.rollup.ensure_installed` puts back after every migrate). The same statements as 0003's,
written out here so that no later change to 0003 changes what this does.
"""

from django.db import migrations

INDEXES = {
    "report_event_closes": ("tickets_ticketevent", "kind, to_value, ticket_id, created_at"),
    "report_event_reopens": ("tickets_ticketevent", "kind, from_value, created_at, ticket_id"),
    "report_event_changes": ("tickets_ticketevent", "kind, created_at, from_value, to_value"),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for name, (table, columns) in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})")


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0003_sqlite_report_indexes"),
        ("tickets", "0010_attachments"),
    ]

    # Backwards there is nothing to undo: 0003's own reversal drops these indexes.
    operations = [migrations.RunPython(create, migrations.RunPython.noop, elidable=False)]
