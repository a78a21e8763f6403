"""Django's PostgreSQL backend, reading timestamps with psycopg's optimised parser.

Django 5.2 reads every `timestamptz` through a loader built on psycopg's pure-Python one (it
pins the result's time zone to the connection wrapper's): about 7 microseconds a value, which a
page pays for each time it reads (the admin's list of 50 tickets with their people reads some
450). The loader registered here gives exactly what Django's gives (psycopg's reading of the
text in the connection's time zone, then its tzinfo replaced by the wrapper's), but has the text
parsed by the optimised loader that psycopg-binary provides, in C (Django ticket #36960; the C
class cannot be subclassed, so it is called). Without psycopg-binary it is psycopg's Python one
again, as in Django.

Used as ENGINE when DATABASE_URL is a PostgreSQL URL (helpdesk_site/settings.py); everything
else is Django's backend.
"""

from __future__ import annotations

import psycopg
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg.pq import Format

TIMESTAMPTZ_OID = psycopg.postgres.types["timestamptz"].oid
# psycopg's loader for timestamptz text as its default adapters hold it: the optimised class
# when psycopg-binary is installed (its Python TimestamptzLoader otherwise).
PARSER = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)


class FastTzLoader(BaseTzLoader):
    """Django's timestamptz loader (`timezone` is the one its results get), parsing with PARSER."""

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        self._parse = PARSER(oid, context).load

    def load(self, data):
        value = self._parse(data)
        return value if value.tzinfo is self.timezone else value.replace(tzinfo=self.timezone)


def loader_for(timezone) -> type[FastTzLoader]:
    return type("FastTzLoader", (FastTzLoader,), {"timezone": timezone})


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        # On the connection, for every cursor: Django replaces it on a cursor only when the
        # wrapper's time zone differs from the loader's `timezone` (create_cursor).
        connection.adapters.register_loader("timestamptz", loader_for(self.timezone))
        return connection
