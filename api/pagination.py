"""Cursor pagination on a unique, indexed order (the primary key): no page counts, no gaps or
repeats when rows are added while a program walks the pages."""

from rest_framework.pagination import CursorPagination


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 100


class OldestFirst(NewestFirst):
    ordering = "id"
