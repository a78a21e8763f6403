"""A chart's key figures in one or two sentences, for screen readers (the report page reads
them out beside each chart; "Show table" gives every number). Computed from the rows of the
chart's table, the same data the chart draws; no database.

Three kinds of chart: `flow` (counts per period: created, closed, new users) says each series'
total and its busiest period; `level` (a value at the end of each period: the backlog) says the
last value and the highest; `categories` (counts per label: status, priority, assignee, a
histogram's bins) says the total and the largest labels, largest first.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.text import capfirst
from django.utils.translation import gettext as _

KINDS = ("flow", "level", "categories")
# How many labels a categories summary names: the rest is in the table.
TOP = 3


def _number(value) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _peak(rows: Sequence[Sequence], column: int) -> Sequence:
    """The first row with the largest value in the column."""
    return max(rows, key=lambda row: row[column])


def text_summary(columns: Sequence[str], rows: Sequence[Sequence], *, kind: str) -> str:
    """The chart's key figures as plain sentences. `columns` is the table's header (the label
    column first), `rows` its rows: a label, then one number per remaining column."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if not rows or not any(value for row in rows for value in row[1:]):
        return _("No data for this period.")
    if kind == "categories":
        total = sum(row[1] for row in rows)
        largest = sorted((row for row in rows if row[1]), key=lambda row: -row[1])[:TOP]
        named = "; ".join(
            _("%(label)s: %(value)s") % {"label": row[0], "value": _number(row[1])}
            for row in largest
        )
        return _("%(total)s %(unit)s in all. The most: %(named)s.") % {
            "total": _number(total),
            "unit": columns[1],
            "named": named,
        }
    first, last = rows[0][0], rows[-1][0]
    sentences = []
    for index, column in enumerate(columns[1:], start=1):
        peak = _peak(rows, index)
        if kind == "flow":
            sentences.append(
                _(
                    "%(series)s: %(total)s from %(first)s to %(last)s, the most in "
                    "%(peak_label)s (%(peak)s)."
                )
                % {
                    "series": capfirst(column),
                    "total": _number(sum(row[index] for row in rows)),
                    "first": first,
                    "last": last,
                    "peak_label": peak[0],
                    "peak": _number(peak[index]),
                }
            )
        else:
            sentences.append(
                _("%(series)s: %(value)s at %(last)s, the highest %(peak)s at %(peak_label)s.")
                % {
                    "series": capfirst(column),
                    "value": _number(rows[-1][index]),
                    "last": last,
                    "peak": _number(peak[index]),
                    "peak_label": peak[0],
                }
            )
    return " ".join(sentences)
