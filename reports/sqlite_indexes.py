"""The indexes the reports read on SQLite, put back whenever `migrate` runs.

reports migration 0003 made them (with its own copy of this SQL). A later migration that changes
a ticket table on SQLite rebuilds the table (a new one, the rows copied, the old one dropped),
and the indexes made with raw SQL go with the old table: the reports would then rank every
duration again, silently. Like the rollup's triggers (rollup.ensure_installed), they are checked
after every `migrate` and made again if missing. PostgreSQL alters tables in place.

What each index is for: see reports migration 0003. reports.selectors (FIRST_RESPONSE_TIME,
RESOLUTION_TIME) repeats the duration expressions to the letter.
"""

from django.db import connections


def microseconds(end, start):
    return (
        f"((strftime('%s', substr({end}, 1, 19)) - strftime('%s', substr({start}, 1, 19)))"
        " * 1000000"
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
    "report_event_reopens": (
        "tickets_ticketevent",
        "kind, from_value, created_at, ticket_id",
        None,
    ),
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


def ensure_indexes(using: str = "default", **_kwargs) -> list[str]:
    """Make the SQLite report indexes that are missing; returns their names."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return []
    tables = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        present = {name for (name,) in cursor.fetchall()}
        made = []
        for name, (table, columns, rows) in INDEXES.items():
            if name in present or table not in tables:
                continue
            where = f" WHERE {rows}" if rows else ""
            # No parameters: strftime's '%s' stays as it is.
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns}){where}")
            made.append(name)
    return made
