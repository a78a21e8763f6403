"""Cursor pagination on a unique, indexed order: no page counts, no gaps or repeats when rows are
added while a program walks the pages.

NewestFirst and OldestFirst are DRF's CursorPagination on the primary key. SortedTickets pages
the ticket list in the order the client chooses (`ordering`), by keyset: its cursor holds the
whole sort key of the row it stops at (the columns of the order, the id last, so the key is
unique), and the next page is the rows after that key, found through the index of the order.
"""

from __future__ import annotations

import json
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import GeneratedField, Q, QuerySet
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination

BAD_CURSOR = "That is not a cursor of this list: follow its next and previous links."


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 100

    def decode_cursor(self, request):
        # A cursor that is not one of ours is a bad parameter (400), not a missing page.
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": [BAD_CURSOR]}) from None


class OldestFirst(NewestFirst):
    ordering = "id"


def _flip(key: str) -> str:
    return key[1:] if key.startswith("-") else f"-{key}"


# The ticket list's orders (?ordering=), each ending in the id, so that every ticket has its own
# place. Each is served, forwards or backwards, by one index of tickets.models.Ticket: "-x" is
# exactly "x" reversed, so both walk the same index.
TICKET_ORDERS: dict[str, tuple[str, ...]] = {
    "-created": ("-created_at", "-id"),  # ticket_created (then the id among equal times)
    "-activity": ("-last_activity_at", "-id"),  # ticket_recent
    # Most urgent first, then the newest activity (the list page's order): ticket_priority_sort.
    "priority": ("priority_rank", "-last_activity_at", "-id"),
    # Open, then active, then closed, newest activity first: ticket_status_sort.
    "status": ("status_rank", "-last_activity_at", "-id"),
}
TICKET_ORDERS.update(
    {_flip(name): tuple(map(_flip, keys)) for name, keys in list(TICKET_ORDERS.items())}
)
DEFAULT_TICKET_ORDER = "-created"


def _after(keys: tuple[str, ...], values: list) -> Q:
    """The rows after `values` in the order `keys` (all in one direction), written so that the
    database bounds its index scan by the first key: `a <= x AND (a < x OR (a = x AND ...))`;
    only rows tied with the cursor on that key are read and dropped."""
    name, value = keys[0].lstrip("-"), values[0]
    descending = keys[0].startswith("-")
    beyond = Q(**{f"{name}__{'lt' if descending else 'gt'}": value})
    if len(keys) > 1:
        beyond |= Q(**{name: value}) & _after(keys[1:], values[1:])
    return Q(**{f"{name}__{'lte' if descending else 'gte'}": value}) & beyond


class SortedTickets(NewestFirst):
    """Keyset pages in one of TICKET_ORDERS.

    An order whose keys all run one way (created, activity) is one range of its index: the rows
    after the cursor are one query. One that turns (a rank ascending, then the newest activity)
    is read in two ranges, each a plain index range: the rest of the cursor's rank, then the
    ranks after it. So a page costs one query, or two where it crosses from one rank to the
    next, however deep into the list it is.
    """

    ordering_query_param = "ordering"

    def get_page_size(self, request):
        # As many tickets as a list page shows (TICKETS_PER_PAGE), unless the client asks.
        self.page_size = settings.TICKETS_PER_PAGE
        return super().get_page_size(request)

    def get_ordering(self, request, queryset, view) -> tuple[str, ...]:
        name = request.query_params.get(self.ordering_query_param, DEFAULT_TICKET_ORDER)
        if name not in TICKET_ORDERS:
            raise ValidationError(
                {"ordering": [f"Choose one of: {', '.join(sorted(TICKET_ORDERS))}."]}
            )
        self.ordering_name = name
        return TICKET_ORDERS[name]

    def paginate_queryset(self, queryset: QuerySet, request, view=None):
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        self.cursor = self.decode_cursor(request)
        self.fields = {}
        for key in self.ordering:
            field = queryset.model._meta.get_field(key.lstrip("-"))
            # A generated column converts values as the field it computes (its output_field).
            self.fields[key.lstrip("-")] = (
                field.output_field if isinstance(field, GeneratedField) else field
            )
        position = self.position_of(self.cursor)
        reverse = bool(self.cursor and self.cursor.reverse)
        keys = tuple(map(_flip, self.ordering)) if reverse else self.ordering
        rows = self.rows_after(queryset, keys, position, self.page_size + 1)
        more = len(rows) > self.page_size
        self.page = rows[: self.page_size]
        if reverse:
            self.page.reverse()
            self.has_previous, self.has_next = more, True
        else:
            self.has_previous, self.has_next = position is not None, more
        return self.page

    def rows_after(self, queryset: QuerySet, keys: tuple[str, ...], position, limit: int):
        if position is None:
            return list(queryset.order_by(*keys)[:limit])
        # The leading keys that do not run the tail's way (the rank), then the tail.
        turn = next(
            i
            for i in range(len(keys))
            if all(k.startswith("-") == keys[-1].startswith("-") for k in keys[i:])
        )
        rows: list = []
        # The deepest range first: the cursor's own group (same leading keys), then, for each
        # leading key from the last, the groups after the cursor's on it.
        ranges = [
            Q(**{k.lstrip("-"): v for k, v in zip(keys[:turn], position, strict=False)})
            & _after(keys[turn:], position[turn:])
        ]
        for i in reversed(range(turn)):
            same = {k.lstrip("-"): v for k, v in zip(keys[:i], position, strict=False)}
            ranges.append(Q(**same) & _after(keys[i : i + 1], position[i : i + 1]))
        for condition in ranges:
            rows += queryset.filter(condition).order_by(*keys)[: limit - len(rows)]
            if len(rows) >= limit:
                break
        return rows

    def position_of(self, cursor: Cursor | None) -> list | None:
        if cursor is None or cursor.position is None:
            return None
        try:
            name, values = json.loads(cursor.position)
            if name != self.ordering_name or len(values) != len(self.ordering):
                raise ValueError
            return [
                self.fields[key.lstrip("-")].to_python(value)
                for key, value in zip(self.ordering, values, strict=True)
            ]
        except (ValueError, TypeError, DjangoValidationError):  # whatever a client sends
            raise ValidationError({"cursor": [BAD_CURSOR]}) from None

    def _key_of(self, ticket) -> str:
        values = []
        for key in self.ordering:
            value = getattr(ticket, key.lstrip("-"))
            values.append(value.isoformat() if isinstance(value, datetime) else value)
        return json.dumps([self.ordering_name, values], separators=(",", ":"))

    def get_next_link(self) -> str | None:
        if not self.has_next or not self.page:
            return None
        return self.encode_cursor(Cursor(0, False, self._key_of(self.page[-1])))

    def get_previous_link(self) -> str | None:
        if not self.has_previous or not self.page:
            return None
        return self.encode_cursor(Cursor(0, True, self._key_of(self.page[0])))

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.ordering_query_param,
                "required": False,
                "in": "query",
                "description": (
                    "The order: -created (newest first, the default) or created; -activity "
                    "(latest message or status change first) or activity; priority (most "
                    "urgent first, then the latest activity) or -priority (its reverse); "
                    "status (open, active, closed, then the latest activity) or -status. "
                    "The cursor links keep the order."
                ),
                "schema": {"type": "string", "enum": sorted(TICKET_ORDERS)},
            },
        ]
