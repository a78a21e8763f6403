"""The report's second database connection (reports/concurrent.py): the same numbers either
way, the worker only outside transactions, on its own connection, closed afterwards."""

import threading

import pytest
from django.db import connection, connections
from django.test.utils import override_settings

from reports.concurrent import QueryWorker
from reports.visualization import DataVisualization

from .conftest import BUSY_METRICS, NOW, PERIOD

on_postgresql = pytest.mark.skipif("connection.vendor != 'postgresql'")
# Threads use their own connections, so these tests commit; serialized_rollback restores the
# content types the next tests load.
committed = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def hold(worker: QueryWorker):
    """Queue a job that keeps the worker busy until `release` is set; `taken` is set when the
    worker starts it. Returns (job, taken, release)."""
    taken, release = threading.Event(), threading.Event()
    job = worker.submit(lambda: taken.set() or release.wait(10))
    return job, taken, release


def test_inside_a_transaction_each_job_runs_in_the_caller_thread_when_asked(db):
    calls = []
    with QueryWorker() as worker:
        assert worker.parallel is False
        job = worker.submit(lambda: calls.append(threading.get_ident()) or 42)
        assert calls == []
        assert job.result() == 42
    assert calls == [threading.get_ident()]


def test_a_failing_job_raises_where_its_result_is_asked(db):
    with QueryWorker() as worker:
        job = worker.submit(lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            job.result()


@committed
@on_postgresql
def test_the_setting_turns_the_worker_off():
    with override_settings(REPORT_PARALLEL_QUERIES=False), QueryWorker() as worker:
        assert worker.parallel is False
    with QueryWorker() as worker:
        assert worker.parallel is True


@committed
@on_postgresql
def test_the_worker_has_its_own_connection_and_closes_it():
    def probe():
        own = connections["default"]
        with own.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return own, cursor.fetchone()[0], threading.current_thread().name

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        caller_pid = cursor.fetchone()[0]
    started = threading.Event()
    with QueryWorker() as worker:
        job = worker.submit(lambda: started.set() or probe())
        assert started.wait(10)  # Taken by the worker (not run here by result()).
        own, pid, thread = job.result()
        assert own is not connection
        assert pid != caller_pid
        assert thread.startswith("report-queries")
    assert own.connection is None


@committed
@on_postgresql
def test_a_job_the_worker_has_not_started_runs_in_the_caller_thread():
    release = threading.Event()
    with QueryWorker() as worker:
        busy = worker.submit(release.wait, 10)
        waiting = worker.submit(threading.get_ident)
        try:
            assert waiting.result() == threading.get_ident()
        finally:
            release.set()
        assert busy.result() is True


@committed
@on_postgresql
def test_the_report_is_the_same_with_and_without_the_worker(busy):
    threads = set()

    def note(execute, sql, params, many, context):
        threads.add(threading.current_thread().name)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note):
        both = DataVisualization(PERIOD, now=NOW).fetch_all()
    # The worker ran queries, and the caller's execute wrapper saw them.
    assert any(name.startswith("report-queries") for name in threads)
    with override_settings(REPORT_PARALLEL_QUERIES=False):
        one = DataVisualization(PERIOD, now=NOW).fetch_all()
    assert both.metrics == one.metrics
    assert both.tickets_data == one.tickets_data
    assert both.users_data == one.users_data
    numbers = {key: (m["value"], m["previous"]) for key, m in both.metrics.items()}
    assert numbers == {**BUSY_METRICS, "reopen_rate": (pytest.approx(2 / 3), 0.0)}


@committed
@on_postgresql
def test_jobs_nobody_asked_for_are_not_run():
    ran = []
    with QueryWorker() as worker:
        busy, taken, release = hold(worker)
        queued = worker.submit(ran.append, "never asked for")
        assert taken.wait(10)
        # The worker is held by the first job: the second has not started and is dropped.
        worker.cancel_pending()
        release.set()
        assert busy.future.result() is True
        assert queued.future.cancelled()
    assert ran == []


@committed
@on_postgresql
def test_while_the_two_connections_work_neither_asks_for_parallel_workers():
    def workers():
        with connections["default"].cursor() as cursor:
            cursor.execute("SHOW max_parallel_workers_per_gather")
            return cursor.fetchone()[0]

    configured = workers()
    assert configured != "0"  # PostgreSQL's default is 2.
    started = threading.Event()
    with QueryWorker() as worker:
        job = worker.submit(lambda: started.set() or workers())
        assert workers() == "0"
        assert started.wait(10)  # Taken by the worker, on its own connection.
        assert job.result() == "0"
    assert workers() == configured


@committed
@on_postgresql
def test_while_waiting_the_caller_runs_the_last_queued_job_if_the_worker_has_others():
    with QueryWorker() as worker:
        busy, taken, release = hold(worker)
        worker.submit(threading.get_ident)  # Left for the worker.
        last = worker.submit(lambda: release.set() or threading.get_ident())
        failing = worker.submit(lambda: 1 / 0)
        assert taken.wait(10)
        # Waiting for busy, the caller runs the failing job, then the last one, which lets
        # busy finish.
        assert busy.result() is True
        assert last.result() == threading.get_ident()
        with pytest.raises(ZeroDivisionError):
            failing.result()


@committed
@on_postgresql
def test_while_waiting_the_caller_leaves_the_workers_last_job_to_it():
    with QueryWorker() as worker:
        busy, taken, release = hold(worker)
        only = worker.submit(threading.get_ident)
        assert taken.wait(10)
        threading.Thread(target=release.set).start()
        assert busy.result() is True
        assert only.future.cancelled() is False  # Not taken back while waiting.
        only.result()
