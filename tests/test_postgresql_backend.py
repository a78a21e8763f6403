"""The PostgreSQL backend (helpdesk_site/postgresql): timestamps read exactly as Django's own
backend reads them, by psycopg's optimised parser."""

import datetime

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader

from helpdesk_site.postgresql.base import PARSER, TIMESTAMPTZ_OID, FastTzLoader

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's backend"),
]

VALUES = [
    "2026-11-29 05:30:00+00",
    "2026-11-29 05:30:00.000001+00",
    "2026-03-29 01:59:59.999999+00",  # a daylight-saving change in Europe
    "2020-06-01 12:00:00.5+05:30",
    "1900-01-01 00:00:00-03:00",
    "1969-12-31 23:59:59.123456-09:30",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
]


def read(cursor, values: list[str]) -> list:
    sql = ", ".join(f"'{value}'::timestamptz" for value in values)
    cursor.execute(f"SELECT {sql}, NULL::timestamptz")
    return list(cursor.fetchone())


def read_both(values: list[str] = VALUES) -> tuple[list, list]:
    """The values read by this backend's cursor and by one with Django's own loader."""
    with connection.cursor() as ours:
        mine = read(ours, values)
    with connection.cursor() as djangos:
        register_tzloader(connection.timezone, djangos.cursor)
        assert not isinstance(
            djangos.cursor.adapters.get_loader(TIMESTAMPTZ_OID, 0)(TIMESTAMPTZ_OID), FastTzLoader
        )
        theirs = read(djangos, values)
    return mine, theirs


def test_the_connection_reads_timestamps_with_the_fast_loader():
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, 0)
    assert issubclass(loader, FastTzLoader)
    assert loader.timezone is connection.timezone is datetime.UTC
    # psycopg-binary is pinned in requirements.txt: the parser is its C one.
    assert PARSER.__module__.startswith("psycopg_binary")


def test_timestamps_are_the_same_as_djangos_own_backend_reads():
    mine, theirs = read_both()

    assert mine == theirs
    assert [value.tzinfo if value else None for value in mine] == [
        value.tzinfo if value else None for value in theirs
    ]
    assert all(value.tzinfo is datetime.UTC for value in mine[:-1])
    assert mine[-1] is None
    assert mine[1] == datetime.datetime(2026, 11, 29, 5, 30, 0, 1, tzinfo=datetime.UTC)
    assert mine[3] == datetime.datetime(2020, 6, 1, 6, 30, 0, 500000, tzinfo=datetime.UTC)


def test_even_in_another_session_time_zone_they_are_the_same():
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'Asia/Kolkata'")
    try:
        # Not the year 9999's last second: in India it is already the year 10000 (which
        # neither loader reads).
        mine, theirs = read_both(VALUES[:-1])
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
    assert mine == theirs


def test_a_saved_time_reads_back_the_same(customer, make_ticket):
    ticket = make_ticket(customer)
    moment = datetime.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=datetime.UTC)
    type(ticket).objects.filter(pk=ticket.pk).update(created_at=moment)

    ticket.refresh_from_db()

    assert ticket.created_at == moment
    assert ticket.created_at.tzinfo is datetime.UTC
