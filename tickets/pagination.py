"""A paginator that counts a list only up to a limit.

Counting every ticket a list holds is a pass over them: at a million tickets, the staff's
"open work" (hundreds of thousands not closed) costs 30 ms of counting for a page that renders
in ten. Nobody pages past the ten thousandth ticket of a list sorted by recent activity: they
filter it. So a list counts at most `limit + 1` rows (a LIMIT in the count: the index stops
there), shows its first `limit` tickets in pages, and says when there are more.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    def __init__(self, object_list, per_page, *, limit: int, **kwargs) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.limit = limit

    @cached_property
    def _counted(self) -> int:
        """How many rows the list holds, counted up to limit + 1."""
        # Unordered: a count needs no order, and "the first limit + 1 rows found" stops early.
        return self.object_list.order_by()[: self.limit + 1].count()

    @cached_property
    def count(self) -> int:
        """The rows the pages hold: all of them, or the first `limit`."""
        return min(self._counted, self.limit)

    @property
    def capped(self) -> bool:
        """Whether the list holds more than the pages show."""
        return self._counted > self.limit
