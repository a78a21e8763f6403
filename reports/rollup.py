"""The database triggers that keep reports.ActivitySlot, and a full recount.

Triggers, because rows reach the ticket and event tables by more than one road (the services,
bulk inserts, imports, cascading deletes, queryset updates): a trigger counts each in the same
transaction. PostgreSQL counts inserts and deletes per statement (transition tables), SQLite per
row. `ensure_installed` runs after every `migrate` (ReportsConfig.ready) and puts back missing
triggers (SQLite drops them when a migration rebuilds a table), then recounts.
"""

from __future__ import annotations

from django.db import connections, transaction

TABLE = "reports_activityslot"
TICKETS = "tickets_ticket"
EVENTS = "tickets_ticketevent"
SLOT_SECONDS = 900
PRIORITIES = ("low", "normal", "high", "urgent")

# Each count column, and when a source row adds its `n` (+1 or -1) to it.
TICKET_COLUMNS = {
    "created": "true",
    **{f"created_{p}": f"priority = '{p}'" for p in PRIORITIES},
    # Where the tickets created in the slot stand now (a status change or a first response
    # moves a ticket from one count to another, in the slot it was created in).
    "still_open": "status = 'open'",
    "still_active": "status = 'active'",
    "still_awaiting": "status <> 'closed' AND first_response_at IS NULL",
}
EVENT_COLUMNS = {
    "into_closed": "to_value = 'closed'",
    "out_of_closed": "from_value = 'closed'",
    "into_active": "to_value = 'active'",
    "out_of_active": "from_value = 'active'",
}
COLUMNS = [*TICKET_COLUMNS, *EVENT_COLUMNS]

TRIGGERS = {
    TICKETS: ("reports_tickets_inserted", "reports_tickets_deleted", "reports_ticket_moved"),
    EVENTS: ("reports_events_inserted", "reports_events_deleted", "reports_event_moved"),
}
# What moves a row from one count to another when it is updated.
WATCHED = {
    TICKETS: ("created_at", "priority", "status", "first_response_at"),
    EVENTS: ("created_at", "kind", "from_value", "to_value"),
}
FIELDS = {TICKETS: ("priority", "status", "first_response_at"), EVENTS: ("from_value", "to_value")}
KEEP = {TICKETS: "true", EVENTS: "kind = 'status'"}


def slot_of(vendor: str, column: str) -> str:
    """SQL for the start of the quarter hour (UTC) that `column` falls in."""
    if vendor == "postgresql":
        return (
            f"to_timestamp(floor(extract(epoch FROM {column}) / {SLOT_SECONDS}) * {SLOT_SECONDS})"
        )
    # Django keeps SQLite datetimes as UTC text ("2025-01-06 10:14:59.999999"); this gives the
    # same text form back. The seconds are cut off first: SQLite would round .9995 s up into
    # the next minute (and so, at :14:59.9995, into the next slot).
    seconds = f"CAST(strftime('%s', substr({column}, 1, 16)) AS INTEGER)"
    return f"datetime(({seconds} / {SLOT_SECONDS}) * {SLOT_SECONDS}, 'unixepoch')"


def _sums(table: str) -> list[str]:
    conditions = TICKET_COLUMNS if table == TICKETS else EVENT_COLUMNS
    return [
        f"SUM(CASE WHEN {conditions[column]} THEN n ELSE 0 END)" if column in conditions else "0"
        for column in COLUMNS
    ]


def upsert(source: str, table: str) -> str:
    """Add the rows of `source` (columns slot, n and the table's fields) to the counts."""
    updates = ", ".join(f"{column} = {TABLE}.{column} + excluded.{column}" for column in COLUMNS)
    return (
        f"INSERT INTO {TABLE} (slot, {', '.join(COLUMNS)}) "  # noqa: S608 (fixed text)
        f"SELECT slot, {', '.join(_sums(table))} FROM ({source}) AS d WHERE true "
        "GROUP BY slot ORDER BY slot "
        f"ON CONFLICT (slot) DO UPDATE SET {updates}"
    )


def take_away(source: str, table: str) -> str:
    """Subtract the deleted rows of `source` (n = -1) from the slots that counted them.

    An update, never an insert: a slot that is not there has nothing to take away from (the
    counts were emptied first, as SQLite's `flush` does before it deletes the tickets), so a
    delete can never leave a negative count behind.
    """
    sums = ", ".join(
        f"{total} AS {column}" for total, column in zip(_sums(table), COLUMNS, strict=True)
    )
    updates = ", ".join(f"{column} = {TABLE}.{column} + d.{column}" for column in COLUMNS)
    return (
        f"UPDATE {TABLE} SET {updates} FROM (SELECT slot, {sums} FROM ({source}) AS rows "  # noqa: S608
        f"WHERE true GROUP BY slot) AS d WHERE {TABLE}.slot = d.slot"
    )


def _row(vendor: str, table: str, record: str, n: int) -> str:
    """A one-row source from a trigger's OLD or NEW record (empty when it is not counted)."""
    fields = ", ".join(f"{record}.{field} AS {field}" for field in FIELDS[table])
    keep = KEEP[table].replace("kind", f"{record}.kind")
    return (
        f"SELECT {slot_of(vendor, f'{record}.created_at')} AS slot, {n} AS n, {fields} WHERE {keep}"
    )


def _changed_test(table: str, vendor: str) -> str:
    differs = "IS DISTINCT FROM" if vendor == "postgresql" else "IS NOT"
    return " OR ".join(f"OLD.{column} {differs} NEW.{column}" for column in WATCHED[table])


def _postgresql_statements() -> list[str]:
    statements = []
    for table, (inserted, deleted, moved) in TRIGGERS.items():
        fields = ", ".join(FIELDS[table])
        changed_rows = (
            f"SELECT {slot_of('postgresql', 'created_at')} AS slot, direction AS n, {fields} "  # noqa: S608
            f"FROM changed WHERE {KEEP[table]}"
        )
        move = " UNION ALL ".join(
            [_row("postgresql", table, "OLD", -1), _row("postgresql", table, "NEW", 1)]
        )
        statements += [
            f"""CREATE OR REPLACE FUNCTION {inserted}() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE direction integer := 1;
            BEGIN {upsert(changed_rows, table)}; RETURN NULL; END $$""",
            f"""CREATE OR REPLACE FUNCTION {deleted}() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE direction integer := -1;
            BEGIN {take_away(changed_rows, table)}; RETURN NULL; END $$""",
            f"""CREATE OR REPLACE FUNCTION {moved}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN {upsert(move, table)}; RETURN NULL; END $$""",
            f"DROP TRIGGER IF EXISTS {inserted} ON {table}",
            f"DROP TRIGGER IF EXISTS {deleted} ON {table}",
            f"DROP TRIGGER IF EXISTS {moved} ON {table}",
            f"CREATE TRIGGER {inserted} AFTER INSERT ON {table} REFERENCING NEW TABLE AS changed "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {inserted}()",
            f"CREATE TRIGGER {deleted} AFTER DELETE ON {table} REFERENCING OLD TABLE AS changed "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {deleted}()",
            f"CREATE TRIGGER {moved} AFTER UPDATE OF {', '.join(WATCHED[table])} ON {table} "
            f"FOR EACH ROW WHEN ({_changed_test(table, 'postgresql')}) "
            f"EXECUTE FUNCTION {moved}()",
        ]
    return statements


def _sqlite_statements() -> list[str]:
    statements = []
    for table, (inserted, deleted, moved) in TRIGGERS.items():
        move = f"{_row('sqlite', table, 'OLD', -1)} UNION ALL {_row('sqlite', table, 'NEW', 1)}"
        statements += [
            f"DROP TRIGGER IF EXISTS {inserted}",
            f"DROP TRIGGER IF EXISTS {deleted}",
            f"DROP TRIGGER IF EXISTS {moved}",
            f"CREATE TRIGGER {inserted} AFTER INSERT ON {table} BEGIN "
            f"{upsert(_row('sqlite', table, 'NEW', 1), table)}; END",
            f"CREATE TRIGGER {deleted} AFTER DELETE ON {table} BEGIN "
            f"{take_away(_row('sqlite', table, 'OLD', -1), table)}; END",
            f"CREATE TRIGGER {moved} AFTER UPDATE OF {', '.join(WATCHED[table])} ON {table} "
            f"WHEN {_changed_test(table, 'sqlite')} BEGIN {upsert(move, table)}; END",
        ]
    return statements


def _statements(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return _postgresql_statements()
    if vendor == "sqlite":
        return _sqlite_statements()
    raise NotImplementedError(f"The report counts have no triggers for {vendor}.")


def install(using: str = "default") -> None:
    """Create (or replace) the triggers."""
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for statement in _statements(connection.vendor):
            cursor.execute(statement)


def uninstall(using: str = "default") -> None:
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for table, names in TRIGGERS.items():
            for name in names:
                if connection.vendor == "postgresql":
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                else:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        if connection.vendor == "postgresql":
            for names in TRIGGERS.values():
                for name in names:
                    cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")


def rebuild(using: str = "default") -> int:
    """Recount every slot from the tickets and their status events; returns the slot count.

    Writers wait for the recount (PostgreSQL: the two tables are locked against writes; SQLite
    writes one transaction at a time anyway), so no change is counted twice or missed.
    """
    connection = connections[using]
    vendor = connection.vendor
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {TICKETS}, {EVENTS} IN SHARE MODE")
        cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608
        for table in (TICKETS, EVENTS):
            fields = ", ".join(FIELDS[table])
            source = (
                f"SELECT {slot_of(vendor, 'created_at')} AS slot, 1 AS n, {fields} "  # noqa: S608
                f"FROM {table} WHERE {KEEP[table]}"
            )
            cursor.execute(upsert(source, table))
        cursor.execute(f"SELECT COUNT(*) FROM {TABLE}")  # noqa: S608
        return cursor.fetchone()[0]


def recount(using: str = "default") -> dict:
    """What the counts should be, from the tables, as {slot: (count per column)}; zeros left
    out. A recount inside a transaction that is rolled back, so nothing changes."""
    connection = connections[using]
    columns = ", ".join(COLUMNS)
    nonzero = " OR ".join(f"{column} <> 0" for column in COLUMNS)
    query = f"SELECT slot, {columns} FROM {TABLE} WHERE {nonzero} ORDER BY slot"  # noqa: S608
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(query)
        stored = {row[0]: row[1:] for row in cursor.fetchall()}
        sid = transaction.savepoint(using=using)
        rebuild(using)
        cursor.execute(query)
        fresh = {row[0]: row[1:] for row in cursor.fetchall()}
        transaction.savepoint_rollback(sid, using=using)
    return {"stored": stored, "fresh": fresh}


def differences(using: str = "default") -> list[str]:
    """The slots whose stored counts differ from a recount, described."""
    counts = recount(using)
    stored, fresh = counts["stored"], counts["fresh"]
    described = []
    for slot in sorted(set(stored) | set(fresh)):
        have, want = stored.get(slot), fresh.get(slot)
        if have != want:
            described.append(f"{slot}: stored {have}, recounted {want}")
    return described


def missing_triggers(using: str = "default") -> list[str]:
    connection = connections[using]
    expected = [name for names in TRIGGERS.values() for name in names]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname = ANY(%s)",
                [expected],
            )
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()}
    return [name for name in expected if name not in present]


def columns_ready(using: str = "default") -> bool:
    """Whether the counts table exists with every column these triggers write."""
    connection = connections[using]
    if TABLE not in connection.introspection.table_names():
        return False
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, TABLE)
    return set(COLUMNS) <= {column.name for column in description}


def ensure_installed(using: str = "default", **_kwargs) -> bool:
    """Install the triggers and recount if any is missing (after `migrate`). True if it did."""
    connection = connections[using]
    if connection.vendor not in ("postgresql", "sqlite"):
        return False
    if TABLE not in connection.introspection.table_names():
        return False  # Migrating backwards past the table, or not that far yet.
    with connection.cursor() as cursor:
        columns = {
            column.name for column in connection.introspection.get_table_description(cursor, TABLE)
        }
    if not set(COLUMNS) <= columns:
        return False  # Migrated back to before a count existed: that code's triggers, not these.
    if not missing_triggers(using):
        return False
    install(using)
    rebuild(using)
    return True
