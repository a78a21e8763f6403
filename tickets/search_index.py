"""The search's indexes, per database (tickets/search.py reads them).

PostgreSQL: the `search_vector` columns (GeneratedFields) of tickets and messages, each with a
GIN index and a statistics target of 1000, so the planner knows how rare a word is: with the
default target it took rare, phrase and no-hit searches for common ones and walked the date
index backwards through the whole table.

SQLite: an FTS5 external-content table beside each table (the text is not stored twice), kept in
step by triggers. Django remakes a SQLite table to alter it, which drops its triggers: after each
migrate `ensure_sqlite_index` puts back the ones missing and rebuilds that table's index (the
rows written meanwhile were not indexed); `manage.py rebuild_search_index` rebuilds on demand.
The tokenizer keeps accents (`remove_diacritics 0`), like PostgreSQL's "simple" configuration:
"café" finds "café", not "cafe", on both databases.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from dataclasses import dataclass

from django.db import DatabaseError, connections


@dataclass(frozen=True)
class Indexed:
    table: str
    columns: tuple[str, ...]

    @property
    def fts(self) -> str:
        return f"{self.table}_fts"

    @property
    def gin(self) -> str:
        return f"{self.table}_search"

    def triggers(self) -> dict[str, str]:
        """Each trigger's name and its statement (SQLite FTS5's external-content recipe)."""
        cols = ", ".join(self.columns)
        new = ", ".join(f"new.{c}" for c in self.columns)
        old = ", ".join(f"old.{c}" for c in self.columns)
        # Fixed names (the two Indexed below), no input: S608 does not apply in this module.
        insert = f"INSERT INTO {self.fts}(rowid, {cols}) VALUES (new.id, {new});"  # noqa: S608
        delete = (
            f"INSERT INTO {self.fts}({self.fts}, rowid, {cols}) VALUES ('delete', old.id, {old});"  # noqa: S608
        )
        return {
            f"{self.fts}_insert": f"AFTER INSERT ON {self.table} BEGIN {insert} END",
            f"{self.fts}_delete": f"AFTER DELETE ON {self.table} BEGIN {delete} END",
            f"{self.fts}_update": (
                f"AFTER UPDATE OF {cols} ON {self.table} BEGIN {delete} {insert} END"
            ),
        }


TICKETS = Indexed("tickets_ticket", ("title", "description"))
MESSAGES = Indexed("messaging_message", ("content",))
INDEXED = (TICKETS, MESSAGES)


@functools.cache
def sqlite_has_fts5() -> bool:
    """Whether this process's SQLite library has FTS5 (asked once, of an in-memory database:
    the library is the one Django's connections use)."""
    with contextlib.closing(sqlite3.connect(":memory:")) as probe:
        try:
            probe.execute("CREATE VIRTUAL TABLE probe USING fts5(text)")
        except sqlite3.OperationalError:
            return False
    return True


def fts5_available(connection) -> bool:
    return connection.vendor == "sqlite" and sqlite_has_fts5()


def sqlite_has_index(connection, indexed: Indexed) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", [indexed.fts]
        )
        return cursor.fetchone() is not None


def _missing_triggers(connection, indexed: Indexed) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()}
    return [name for name in indexed.triggers() if name not in present]


def sqlite_install(connection, indexed: Indexed) -> bool:
    """Make the FTS5 table and its triggers, and fill it. False where SQLite lacks FTS5 (the
    search then falls back to plain substring matching)."""
    if connection.vendor != "sqlite" or not fts5_available(connection):
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {indexed.fts} USING fts5("
            f"{', '.join(indexed.columns)}, content='{indexed.table}', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 0')"
        )
        for name, body in indexed.triggers().items():
            cursor.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")
        cursor.execute(f"INSERT INTO {indexed.fts}({indexed.fts}) VALUES ('rebuild')")  # noqa: S608
    return True


def sqlite_uninstall(connection, indexed: Indexed) -> None:
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for name in indexed.triggers():
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(f"DROP TABLE IF EXISTS {indexed.fts}")


def ensure_sqlite_index(sender=None, using: str = "default", **kwargs) -> list[str]:
    """post_migrate: put back the triggers a table remake dropped, and rebuild those tables'
    indexes. Returns the tables rebuilt."""
    connection = connections[using]
    rebuilt = []
    if connection.vendor != "sqlite":
        return rebuilt
    for indexed in INDEXED:
        if sqlite_has_index(connection, indexed) and _missing_triggers(connection, indexed):
            sqlite_install(connection, indexed)
            rebuilt.append(indexed.table)
    return rebuilt


# Tickets whose conversation's words are made anew in one statement (PostgreSQL's rebuild).
REBUILD_BATCH = 10_000


def rebuild(using: str = "default") -> list[str]:
    """Rebuild the SQLite indexes from their tables; on PostgreSQL, make every ticket's
    conversation words anew from its messages (the generated columns are the database's own),
    REBUILD_BATCH tickets a statement. Returns what was rebuilt."""
    connection = connections[using]
    done = []
    for indexed in INDEXED:
        if connection.vendor == "sqlite" and sqlite_install(connection, indexed):
            done.append(indexed.table)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM tickets_ticket")
            (highest,) = cursor.fetchone()
            for start in range(0, highest, REBUILD_BATCH):
                cursor.execute(
                    "SELECT helpdesk_ticket_vectors_rebuild(array_agg(id)) FROM tickets_ticket"
                    " WHERE id > %s AND id <= %s HAVING count(*) > 0",
                    [start, start + REBUILD_BATCH],
                )
        done.append("tickets_ticket (the conversations' words)")
    return done


def check(using: str = "default") -> list[str]:
    """What is wrong with the search indexes (nothing: an empty list)."""
    connection = connections[using]
    problems = []
    with connection.cursor() as cursor:
        for indexed in INDEXED:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT 1 FROM pg_indexes WHERE tablename = %s AND indexname = %s",
                    [indexed.table, indexed.gin],
                )
                if cursor.fetchone() is None:
                    problems.append(f"{indexed.table}: the GIN index {indexed.gin} is missing")
                cursor.execute(
                    "SELECT attstattarget FROM pg_attribute"
                    " WHERE attrelid = %s::regclass AND attname = 'search_vector'",
                    [indexed.table],
                )
                target = cursor.fetchone()
                if target is None or target[0] != 1000:
                    problems.append(
                        f"{indexed.table}: search_vector's statistics target is not 1000"
                    )
            elif connection.vendor == "sqlite":
                if not fts5_available(connection):
                    problems.append("SQLite lacks FTS5: the search matches substrings, slowly")
                    break
                if not sqlite_has_index(connection, indexed):
                    problems.append(f"{indexed.table}: the FTS5 table {indexed.fts} is missing")
                    continue
                missing = _missing_triggers(connection, indexed)
                if missing:
                    problems.append(f"{indexed.table}: triggers missing: {', '.join(missing)}")
                fts = indexed.fts
                try:
                    # rank 1: compare the index with the table's text, not only with itself.
                    cursor.execute(
                        f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)"  # noqa: S608
                    )
                except DatabaseError as exc:
                    problems.append(f"{indexed.table}: the index differs from the table ({exc})")
        if connection.vendor == "postgresql":
            problems += _check_message_vectors(cursor)
    return problems


MESSAGE_VECTOR_TRIGGERS = (
    "helpdesk_message_vectors_insert",
    "helpdesk_message_vectors_update",
    "helpdesk_message_vectors_delete",
)


def _check_message_vectors(cursor) -> list[str]:
    problems = []
    for name in MESSAGE_VECTORS.values():
        cursor.execute(
            "SELECT 1 FROM pg_indexes WHERE tablename = 'tickets_ticket' AND indexname = %s",
            [name],
        )
        if cursor.fetchone() is None:
            problems.append(f"tickets_ticket: the GIN index {name} is missing")
    cursor.execute(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'messaging_message'::regclass"
        " AND NOT tgisinternal AND tgenabled <> 'D'"
    )
    present = {row[0] for row in cursor.fetchall()}
    missing = [name for name in MESSAGE_VECTOR_TRIGGERS if name not in present]
    if missing:
        problems.append(f"messaging_message: triggers missing or disabled: {', '.join(missing)}")
    return problems


# --- PostgreSQL: each ticket's messages' words, kept on the ticket ---------------------------
#
# A search for a word that many messages hold read those messages through their GIN index and
# then their tickets, sorted (0.3-0.7 s at a million tickets). So each ticket also holds the
# words of its conversation: `messages_vector` (its public messages) and `notes_vector` (its
# internal notes: a customer's search must never match a note), each with a GIN index and full
# statistics like `search_vector`, and a search is one query on the tickets alone
# (tickets/search.py: each word in any of the ticket's columns that the person may search).
# Three columns, not one concatenated document: `a || b || c` is made anew for every row the
# planner tests (5 times the cost of testing the three columns), and would need an index per
# audience.
#
# The columns are the database's, not the model's: Django never writes them (a ticket saved
# whole would write back what it read), statement triggers on messages keep them. Triggers, not
# the services, because messages are also written in bulk (the demo data, the import) and
# removed with their ticket: every path that adds, changes or removes a message body is caught.
# A new message's words are appended (its own generated `search_vector`, so the same text
# search configuration); a changed or removed one makes its ticket's vectors anew (the SQL
# function helpdesk_ticket_vectors_rebuild, which `rebuild` calls too). The columns,
# functions, triggers and indexes are made by messaging/migrations/0009_ticket_message_vectors.

# Each column's GIN index.
MESSAGE_VECTORS = {
    "messages_vector": "tickets_ticket_messages_search",
    "notes_vector": "tickets_ticket_notes_search",
}
