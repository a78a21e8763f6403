"""The indexes the reports read on SQLite.

SQLite only: PostgreSQL's are the models' covering indexes (INCLUDE, which SQLite lacks: here the
included columns follow the key) and the duration indexes of tickets migration 0008.

- Every ticket's first response and resolution time, in order: whole microseconds from SQLite's
  own date functions on Django's stored UTC text (no Python function, so any tool can still
  write the table). reports.selectors (FIRST_RESPONSE_TIME, RESOLUTION_TIME) repeats the
  expressions to the letter, or SQLite ranks every duration instead.
- The columns a period's queries read, so that SQLite does not look up each row in the table.
- Rows that SQLite cannot pick with the models' partial indexes (Django passes the statuses as
  parameters, which a partial index's condition cannot match).
"""

from django.db import migrations


def microseconds(end, start):
    return (
        f"((strftime('%s', substr({end}, 1, 19)) - strftime('%s', substr({start}, 1, 19))) * 1000000"
        f" + CAST(substr({end} || '.000000', 21, 6) AS INTEGER)"
        f" - CAST(substr({start} || '.000000', 21, 6) AS INTEGER))"
    )


INDEXES = {
    # The all-time report's durations.
    "ticket_first_response_time": (
        "tickets_ticket",
        f"({microseconds('first_response_at', 'created_at')}), first_response_at, created_at",
        "first_response_at IS NOT NULL",
    ),
    "ticket_resolution_time": (
        "tickets_ticket",
        f"({microseconds('closed_at', 'created_at')}), closed_at, created_at",
        "closed_at IS NOT NULL",
    ),
    # A period's first responses, active reporters and the open work an age edge cuts.
    "report_ticket_created": (
        "tickets_ticket",
        "created_at, first_response_at, reporter_id, status",
        None,
    ),
    # A period's resolutions.
    "report_ticket_closed": ("tickets_ticket", "closed_at, created_at", "closed_at IS NOT NULL"),
    # Open work per assignee.
    "report_ticket_open_work": ("tickets_ticket", "status, assignee_id", None),
    # The oldest tickets awaiting a first response.
    "report_ticket_unanswered": ("tickets_ticket", "created_at", "first_response_at IS NULL"),
    # Reopen rates and the resolutions of tickets reopened later: a ticket's closes, its reopens.
    "report_event_closes": ("tickets_ticketevent", "kind, to_value, ticket_id, created_at", None),
    "report_event_reopens": ("tickets_ticketevent", "kind, from_value, created_at, ticket_id", None),
    # The backlog at a past instant: the status changes since.
    "report_event_changes": ("tickets_ticketevent", "kind, created_at, from_value, to_value", None),
    # Every count of the rollup in slot order (its rows come in any order).
    "report_slot_counts": (
        "reports_activityslot",
        "slot, created, created_low, created_normal, created_high, created_urgent, into_closed, "
        "out_of_closed, into_active, out_of_active, still_open, still_active, still_awaiting",
        None,
    ),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for name, (table, columns, rows) in INDEXES.items():
        where = f" WHERE {rows}" if rows else ""
        # No parameters: strftime's '%s' stays as it is.
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns}){where}", params=None
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_still_open_counts"),
        ("tickets", "0009_closes_index_with_id"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
