"""The query planner's statistics, kept current as SQLite recommends.

SQLite gathers none by itself, and without them it can choose an index that reads every row of
a list instead of its first page. So: ANALYZE after what fills the database (`migrate`,
`seed_demo`, `import_tickets`), and `PRAGMA optimize` at the end of each request, which analyzes
a table only when its statistics are missing or stale (otherwise it is a few microseconds).
`analysis_limit` keeps each ANALYZE to a sample, as SQLite advises for this use. PostgreSQL
collects its own (autovacuum); after a bulk fill it is told to ANALYZE too.
"""

from __future__ import annotations

from django.db import connections

# Rows of each index SQLite samples per ANALYZE (SQLite's advice: a few hundred to a thousand).
ANALYSIS_LIMIT = 1000


def analyze(using: str = "default") -> None:
    """Refresh the statistics of every table now (after a bulk fill)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
        cursor.execute("ANALYZE")


def analyze_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """post_migrate: a migration may have added an index that has no statistics yet."""
    if connections[using].vendor == "sqlite":
        analyze(using)


def optimize_after_request(sender, **kwargs) -> None:
    """request_finished: PRAGMA optimize on every open SQLite connection (one a thread)."""
    for connection in connections.all(initialized_only=True):
        # A connection just closed (it reached DB_CONN_MAX_AGE) is not opened again for this.
        if connection.vendor == "sqlite" and connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
                cursor.execute("PRAGMA optimize")
