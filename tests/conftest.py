"""What the tests that start real servers need: a PostgreSQL that may create databases, an
empty Redis database. Each fixture skips, saying why, where the service does not answer."""

import secrets
import time
import urllib.parse
from pathlib import Path

import pytest

from .servers import ADMIN_URL, REDIS_HOST, REDIS_PORT, port_answers

# tests/test_accessibility.py writes its axe summary (pages x roles) here; the end of the run
# shows it, from whichever worker ran that test.
AXE_SUMMARY = Path(__file__).resolve().parent.parent / "test-artifacts" / "axe" / "summary.txt"
_session_started = time.time()


def pytest_sessionstart(session):
    global _session_started
    _session_started = time.time()


def pytest_terminal_summary(terminalreporter):
    if AXE_SUMMARY.exists() and AXE_SUMMARY.stat().st_mtime >= _session_started:
        terminalreporter.section("accessibility (axe-core)")
        terminalreporter.write(AXE_SUMMARY.read_text())


@pytest.fixture
def postgres_admin():
    """A connection (autocommit) that may create and drop databases, or a skip saying why."""
    psycopg = pytest.importorskip("psycopg")
    if not port_answers("127.0.0.1", 5432):
        pytest.skip("needs PostgreSQL at 127.0.0.1:5432 (nothing answers there)")
    try:
        connection = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        pytest.skip(f"needs PostgreSQL at {ADMIN_URL} (set SCALE_OUT_POSTGRES_URL): {exc}")
    with connection:
        yield connection


@pytest.fixture
def redis_db():
    """The number of an empty Redis database among 10-15, flushed before and after."""
    redis = pytest.importorskip("redis")
    if not port_answers(REDIS_HOST, REDIS_PORT):
        pytest.skip(f"needs Redis at {REDIS_HOST}:{REDIS_PORT} (nothing answers there)")
    chosen = None
    for number in range(10, 16):
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=number, socket_timeout=5)
        try:
            if client.dbsize() == 0:
                chosen = client
                break
        except redis.RedisError as exc:
            pytest.skip(f"needs Redis at {REDIS_HOST}:{REDIS_PORT}: {exc}")
        client.close()
    if chosen is None:
        pytest.skip("needs an empty Redis database among 10-15 (all are in use)")
    number = chosen.connection_pool.connection_kwargs["db"]
    chosen.flushdb()
    try:
        yield chosen, number
    finally:
        chosen.flushdb()
        chosen.close()


@pytest.fixture
def temporary_postgres_database(postgres_admin):
    """A new, empty PostgreSQL database; dropped afterwards, even if servers still hold it."""
    name = f"helpdesk_servers_{secrets.token_hex(6)}"
    postgres_admin.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(ADMIN_URL)
    url = urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    try:
        yield url
    finally:
        postgres_admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
