"""Cursor pagination on a unique, indexed order (the primary key): no page counts, no gaps or
repeats when rows are added while a program walks the pages."""

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 100

    def decode_cursor(self, request):
        # A cursor that is not one of ours is a bad parameter (400), not a missing page.
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError(
                {
                    "cursor": [
                        "That is not a cursor of this list: follow its next and previous links."
                    ]
                }
            ) from None


class OldestFirst(NewestFirst):
    ordering = "id"
