"""The search columns' expression: a `tsvector` on PostgreSQL, nothing elsewhere.

Used by the `search_vector` GeneratedFields of tickets and messages. On PostgreSQL the column is
the weighted `to_tsvector` of the text columns in settings.SEARCH_CONFIG (read when the column is
made); on SQLite it is NULL, and the search reads the FTS5 tables that migrations make beside the
tables instead (tickets/search.py).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db.models import F, Func


class SearchDocument(Func):
    """`SearchDocument(("title", "A"), ("description", "B"))`: each column's words with its
    weight (None: no weight), concatenated."""

    def __init__(self, *weighted: tuple[str, str | None]) -> None:
        self.weights = [weight for _, weight in weighted]
        super().__init__(*[F(column) for column, _ in weighted], output_field=SearchVectorField())

    def as_sql(self, compiler, connection, **extra_context):
        return "NULL", []

    def as_postgresql(self, compiler, connection, **extra_context):
        # Literals, not parameters: a generated column's expression is DDL. SEARCH_CONFIG is
        # checked to be a plain name in settings; the weights are the letters written here.
        config = settings.SEARCH_CONFIG
        parts, params = [], []
        for expression, weight in zip(self.get_source_expressions(), self.weights, strict=True):
            sql, sql_params = compiler.compile(expression)
            params.extend(sql_params)
            vector = f"to_tsvector('{config}'::regconfig, coalesce({sql}, ''))"
            if weight:
                if weight not in "ABCD" or len(weight) != 1:
                    raise ValueError(f"Not a text search weight: {weight!r}")
                vector = f"setweight({vector}, '{weight}')"
            parts.append(vector)
        return " || ".join(parts), params
