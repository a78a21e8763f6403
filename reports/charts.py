"""Plotly figures from plain data: no database, no Django, so each can be tested alone.

Text that came from users (usernames, titles) is HTML-escaped before it reaches a figure:
Plotly renders a few tags in labels (<b>, <br>, <a>), and a username is not markup.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go

COLORS = {
    "created": "#0d6efd",
    "closed": "#198754",
    "open": "#0b5ed7",
    "active": "#20c997",
    "bar": "#6f42c1",
}


def _layout(fig: go.Figure, title: str, *, x_title: str = "", y_title: str = "") -> go.Figure:
    fig.update_layout(
        template="none",
        title={"text": html.escape(title), "x": 0, "xanchor": "left"},
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        height=340,
        legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13},
        xaxis={"title": {"text": x_title}, "automargin": True},
        yaxis={"title": {"text": y_title}, "rangemode": "tozero", "automargin": True},
    )
    return fig


def escape_labels(labels: Sequence[str]) -> list[str]:
    return [html.escape(str(label)) for label in labels]


def created_vs_closed(labels: Sequence[str], created: Sequence[int], closed: Sequence[int]):
    fig = go.Figure(
        [
            go.Bar(name="Created", x=list(labels), y=list(created), marker_color=COLORS["created"]),
            go.Bar(name="Closed", x=list(labels), y=list(closed), marker_color=COLORS["closed"]),
        ]
    )
    fig.update_layout(barmode="group")
    return _layout(fig, "Tickets created and closed", y_title="tickets")


def backlog_over_time(labels: Sequence[str], open_: Sequence[int], active: Sequence[int]):
    fig = go.Figure(
        [
            go.Scatter(
                name="Open",
                x=list(labels),
                y=list(open_),
                stackgroup="backlog",
                line={"color": COLORS["open"]},
            ),
            go.Scatter(
                name="Active",
                x=list(labels),
                y=list(active),
                stackgroup="backlog",
                line={"color": COLORS["active"]},
            ),
        ]
    )
    return _layout(fig, "Backlog at the end of each period (open and active)", y_title="tickets")


def distribution(
    title: str, bins: Sequence[tuple[str, int]], *, x_title: str = "", y_title: str = "tickets"
):
    fig = go.Figure(
        go.Bar(
            x=[label for label, _ in bins],
            y=[count for _, count in bins],
            marker_color=COLORS["bar"],
        )
    )
    return _layout(fig, title, x_title=x_title, y_title=y_title)


def workload(rows: Sequence[tuple[str, int]]):
    names = escape_labels([name for name, _ in rows])
    fig = go.Figure(
        go.Bar(
            x=[count for _, count in rows],
            y=names,
            orientation="h",
            marker_color=COLORS["bar"],
        )
    )
    fig = _layout(fig, "Open tickets per assignee", x_title="tickets not closed")
    fig.update_layout(yaxis={"autorange": "reversed", "rangemode": "normal"})
    fig.update_layout(height=max(240, 60 + 28 * len(rows)))
    return fig


def counts(title: str, rows: Sequence[tuple[str, int]], *, y_title: str = "tickets"):
    return distribution(
        title, [(html.escape(str(label)), count) for label, count in rows], y_title=y_title
    )
