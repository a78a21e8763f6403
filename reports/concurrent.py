"""A second database connection for a report's independent queries.

A report is some twenty queries, each reading what is committed when it runs (autocommit), none
depending on another's result. On PostgreSQL a worker thread with its own connection takes the
queued queries from one end while the caller works through them in the order it needs them;
whichever comes to a query first runs it (the caller runs a query the worker has not started),
so on a machine with two cores a report takes about half the time of its queries.

The worker only runs when the caller's connection is in autocommit mode: inside a transaction
(a test case, an atomic block), the queries must see that transaction's own writes, which no
other connection can, so everything runs in the caller's thread, in order, when asked for.
Either way the same functions give the same numbers. The worker's connection carries the
caller's execute wrappers (query counting, tracing) and is closed when the report is done.

While the two connections work, neither asks PostgreSQL for parallel workers of its own
(max_parallel_workers_per_gather = 0 for the report, reset on the caller's connection after it):
the two connections already keep the machine's cores busy, and a query's extra workers would
only take turns with them (a 90-day report at a million tickets: 267 ms against 289 ms).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, suppress
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections


def _serial_plans(connection, serial: bool) -> None:
    """Ask PostgreSQL for no parallel workers on `connection` (an alias or a connection),
    or for its configured number again."""
    if isinstance(connection, str):
        connection = connections[connection]
    with connection.cursor() as cursor:
        if serial:
            cursor.execute("SET max_parallel_workers_per_gather = 0")
        else:
            cursor.execute("RESET max_parallel_workers_per_gather")


class Job:
    """A query queued for the worker: `result()` waits for it if the worker has started it,
    and otherwise takes it back and runs it in the caller's thread.

    While it waits, the caller does not sit idle: it takes queued jobs the worker has not
    started, from the end of the queue (those the caller needs next), and runs them itself."""

    def __init__(
        self,
        future: Future | None,
        fn: Callable[..., Any],
        args: tuple,
        kwargs: dict,
        worker: QueryWorker | None = None,
    ):
        self.future = future
        self._call = (fn, args, kwargs)
        self._worker = worker
        self._outcome: tuple[bool, Any] | None = None  # (succeeded, value or exception)

    def result(self) -> Any:
        if self._outcome is None and (self.future is None or self.future.cancel()):
            self.run_here()
        if self._outcome is not None:
            succeeded, value = self._outcome
            if succeeded:
                return value
            raise value
        if self._worker is not None:
            self._worker.help_while(self.future)
        return self.future.result()

    def run_here(self) -> None:
        """Run the job in the caller's thread (the worker will not: its future is cancelled),
        keeping what it returns or raises for result()."""
        fn, args, kwargs = self._call
        try:
            self._outcome = (True, fn(*args, **kwargs))
        except Exception as exc:  # Raised where its result is asked for, as the worker's.
            self._outcome = (False, exc)

    def pending(self) -> bool:
        """Queued for the worker, not started, not run here."""
        return (
            self._outcome is None
            and self.future is not None
            and not (self.future.running() or self.future.done())
        )

    def taken_back(self) -> bool:
        """Whether the caller may run this job: queued, and now never to be run by the worker."""
        return self._outcome is None and self.future is not None and self.future.cancel()


class QueryWorker:
    """`submit(fn, *args)` queues a query and returns its Job; `close()` ends the worker (after
    the query it is running, if any) and closes its connection. Use it as a context manager."""

    def __init__(self, using: str = DEFAULT_DB_ALIAS) -> None:
        self.using = using
        connection = connections[using]
        self.parallel = (
            settings.REPORT_PARALLEL_QUERIES
            and connection.vendor == "postgresql"
            and not connection.in_atomic_block
        )
        self._wrappers = list(connection.execute_wrappers)
        self._futures: list[Future] = []
        self._jobs: list[Job] = []
        self._executor = None
        if self.parallel:
            _serial_plans(connection, True)
            self._executor = ThreadPoolExecutor(
                max_workers=1,
                thread_name_prefix="report-queries",
                initializer=_serial_plans,
                initargs=(using, True),
            )

    def submit(self, fn: Callable[..., Any], /, *args, **kwargs) -> Job:
        future = None
        if self._executor is not None:
            future = self._executor.submit(self._run, fn, args, kwargs)
            self._futures.append(future)
        job = Job(future, fn, args, kwargs, worker=self)
        self._jobs.append(job)
        return job

    def help_while(self, future: Future) -> None:
        """Until `future` (running in the worker) is done, run queued jobs the worker has not
        started here, the last queued first, as long as that leaves the worker another job to
        go on with (otherwise the worker, soon done, would wait while the caller works)."""
        while not future.done():
            queued = [job for job in self._jobs if job.pending()]
            if len(queued) < 2 or not queued[-1].taken_back():
                return
            queued[-1].run_here()

    def _run(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        connection = connections[self.using]
        with ExitStack() as stack:
            for wrapper in self._wrappers:
                stack.enter_context(connection.execute_wrapper(wrapper))
            return fn(*args, **kwargs)

    def close(self) -> None:
        if self._executor is None:
            return
        self.cancel_pending()
        # Queued after everything else: runs in the worker's thread, on its connection.
        self._executor.submit(self._close_connection)
        self._executor.shutdown(wait=True)
        self._executor = None
        # If the connection broke (the report's own error says why), there is nothing to reset.
        with suppress(DatabaseError):
            _serial_plans(connections[self.using], False)

    def cancel_pending(self) -> None:
        """Drop the queued jobs the worker has not started (nobody asked for them: the caller
        stopped early, on an error)."""
        for future in self._futures:
            future.cancel()

    def _close_connection(self) -> None:
        connections[self.using].close()

    def __enter__(self) -> QueryWorker:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
