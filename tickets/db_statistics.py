"""The query planner's statistics, kept current as SQLite recommends.

SQLite gathers none by itself, and without them it can choose an index that reads every row of
a list instead of its first page. So: ANALYZE after what fills the database (`seed_demo`,
`import_tickets`, a `migrate` that applied something), and, for a database that grows by use,
`PRAGMA optimize` after a request every SQLITE_OPTIMIZE_EVERY seconds (SQLite's advice for
long-lived connections: it analyzes only the tables whose statistics are missing or stale, and is
otherwise a no-op). Each ANALYZE reads whole indexes: a sample (`analysis_limit`) misjudges a
column of few values such as the status, and the staff list's plan with it. PostgreSQL collects
its own (autovacuum); after a bulk fill it is told to ANALYZE too.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connections

# When this process next runs PRAGMA optimize (time.monotonic()); 0: after the next request.
next_optimize = 0.0


def analyze(using: str = "default") -> None:
    """Refresh the statistics of every table now (after a bulk fill)."""
    with connections[using].cursor() as cursor:
        cursor.execute("ANALYZE")


def analyze_after_migrate(sender, using: str = "default", plan=None, **kwargs) -> None:
    """post_migrate: a migration may have added an index that has no statistics yet."""
    if plan and connections[using].vendor == "sqlite":
        analyze(using)


def optimize_after_request(sender, **kwargs) -> None:
    """request_finished: PRAGMA optimize on the open SQLite connections, when it is due."""
    global next_optimize
    every = settings.SQLITE_OPTIMIZE_EVERY
    if every is None or time.monotonic() < next_optimize:
        return
    next_optimize = time.monotonic() + every
    for connection in connections.all(initialized_only=True):
        # A connection just closed (it reached DB_CONN_MAX_AGE) is not opened again for this.
        if connection.vendor == "sqlite" and connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA optimize")
