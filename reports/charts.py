"""Plotly figures from plain data: no database, no Django, so each can be tested alone.

Text that came from users (usernames, titles) is HTML-escaped before it reaches a figure:
Plotly renders a few tags in labels (<b>, <br>, <a>), and a username is not markup.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from django.utils.translation import gettext as _

COLORS = {
    "created": "#0d6efd",
    "closed": "#198754",
    "open": "#0b5ed7",
    "active": "#20c997",
    "bar": "#6f42c1",
}
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13}

# Figures are plain dicts in Plotly's JSON schema ({"data": [...], "layout": {...}}), which
# plotly.js draws as they are: building plotly.graph_objects would validate every property on
# every request (bench/RESULTS.md). The tests validate each one through plotly.graph_objects.


def _figure(
    traces: list[dict], title: str, *, x_title: str = "", y_title: str = "", **layout
) -> dict:
    return {
        "data": traces,
        "layout": {
            "title": {"text": html.escape(title), "x": 0, "xanchor": "left"},
            "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
            "height": 340,
            "legend": {
                "orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"
            },
            "font": FONT,
            "xaxis": {"title": {"text": x_title}, "automargin": True},
            "yaxis": {"title": {"text": y_title}, "rangemode": "tozero", "automargin": True},
            **layout,
        },
    }  # fmt: skip


# Up to this many, a count axis has a tick at every whole number; above it, Plotly's own steps
# (1, 2 or 5 times a power of ten) are whole numbers already.
EVERY_UNIT_UP_TO = 10


def count_axis(*series: Sequence[int | float]) -> dict:
    """An axis of counts: whole numbers only (never "0.5 tickets"). `series`: what the axis
    shows, summed across them where the chart stacks them."""
    largest = max((sum(values) for values in zip(*series, strict=False)), default=0)
    axis = {"tickformat": ",d", "rangemode": "tozero"}
    if largest <= EVERY_UNIT_UP_TO:
        axis.update(tick0=0, dtick=1)
    return axis


def escape_labels(labels: Sequence[str]) -> list[str]:
    return [html.escape(str(label)) for label in labels]


def _bar(x: Sequence, y: Sequence, **trace) -> dict:
    return {"type": "bar", "x": list(x), "y": list(y), **trace}


def created_vs_closed(labels: Sequence[str], created: Sequence[int], closed: Sequence[int]):
    traces = [
        _bar(labels, created, name=_("Created"), marker={"color": COLORS["created"]}),
        _bar(labels, closed, name=_("Closed"), marker={"color": COLORS["closed"]}),
    ]
    figure = _figure(traces, _("Tickets created and closed"), y_title=_("tickets"), barmode="group")
    tallest = [max(pair) for pair in zip(created, closed, strict=True)]
    figure["layout"]["yaxis"].update(count_axis(tallest))
    return figure


def backlog_over_time(labels: Sequence[str], open_: Sequence[int], active: Sequence[int]):
    traces = [
        {
            "type": "scatter",
            "name": name,
            "x": list(labels),
            "y": list(values),
            "stackgroup": "backlog",
            "line": {"color": COLORS[key]},
        }
        for name, key, values in ((_("Open"), "open", open_), (_("Active"), "active", active))
    ]
    figure = _figure(
        traces, _("Backlog at the end of each period (open and active)"), y_title=_("tickets")
    )
    figure["layout"]["yaxis"].update(count_axis(open_, active))  # stacked: their sums
    return figure


def distribution(
    title: str, bins: Sequence[tuple[str, int]], *, x_title: str = "", y_title: str | None = None
):
    trace = _bar(
        [label for label, _ in bins],
        [count for _, count in bins],
        marker={"color": COLORS["bar"]},
    )
    figure = _figure([trace], title, x_title=x_title, y_title=y_title or _("tickets"))
    figure["layout"]["yaxis"].update(count_axis([count for _, count in bins]))
    return figure


def workload(rows: Sequence[tuple[str, int]]):
    names = escape_labels([name for name, _ in rows])
    trace = _bar(
        [count for _, count in rows], names, orientation="h", marker={"color": COLORS["bar"]}
    )
    fig = _figure(
        [trace],
        _("Open tickets per assignee"),
        x_title=_("tickets not closed"),
        height=max(240, 60 + 28 * len(rows)),
    )
    fig["layout"]["yaxis"].update(autorange="reversed", rangemode="normal")
    fig["layout"]["xaxis"].update(count_axis([count for _, count in rows]))
    return fig


def counts(title: str, rows: Sequence[tuple[str, int]], *, y_title: str | None = None):
    return distribution(
        title, [(html.escape(str(label)), count) for label, count in rows], y_title=y_title
    )


def without_title(figure: dict) -> dict:
    """The figure for a page whose own heading carries the title."""
    layout = {key: value for key, value in figure["layout"].items() if key != "title"}
    return {**figure, "layout": layout}
