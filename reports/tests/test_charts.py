"""reports/charts.py: pure functions from plain data to Plotly figures, tested without a database
(no test here asks for `db`, so pytest-django refuses any query they would make)."""

import json

import plotly.graph_objects as go
import pytest

from reports import charts

HOSTILE = "<b>x</b><script>alert(1)</script>"
ESCAPED = "&lt;b&gt;x&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt;"


def figure(raw: dict) -> go.Figure:
    """A chart is a plain dict; plotly.graph_objects checks every property of it (and raises
    on a misspelt one) and gives the tests attribute access."""
    assert isinstance(raw, dict) and set(raw) == {"data", "layout"}
    return go.Figure(raw)


def test_created_vs_closed():
    fig = figure(charts.created_vs_closed(["2025-01-06", "2025-01-07"], [3, 0], [1, 2]))

    assert fig.layout.title.text == "Tickets created and closed"
    assert fig.layout.barmode == "group"
    assert [(t.type, t.name, list(t.x), list(t.y)) for t in fig.data] == [
        ("bar", "Created", ["2025-01-06", "2025-01-07"], [3, 0]),
        ("bar", "Closed", ["2025-01-06", "2025-01-07"], [1, 2]),
    ]


def test_backlog_over_time_stacks_open_and_active():
    fig = figure(charts.backlog_over_time(["a", "b", "c"], [5, 4, 6], [1, 2, 0]))

    assert fig.layout.title.text == "Backlog at the end of each period (open and active)"
    assert [(t.type, t.name, list(t.y)) for t in fig.data] == [
        ("scatter", "Open", [5, 4, 6]),
        ("scatter", "Active", [1, 2, 0]),
    ]
    assert {t.stackgroup for t in fig.data} == {"backlog"}
    assert all(list(t.x) == ["a", "b", "c"] for t in fig.data)


def test_distribution():
    bins = [("<1h", 4), ("1-4h", 0), (">3d", 7)]
    fig = figure(charts.distribution("First response time", bins, x_title="time to first response"))

    assert fig.layout.title.text == "First response time"
    assert fig.layout.xaxis.title.text == "time to first response"
    assert fig.layout.yaxis.title.text == "tickets"
    (trace,) = fig.data
    assert (trace.type, list(trace.x), list(trace.y)) == ("bar", ["<1h", "1-4h", ">3d"], [4, 0, 7])


def test_distribution_of_nothing_is_an_empty_bar_chart():
    fig = figure(charts.distribution("Nothing", []))
    (trace,) = fig.data
    assert (list(trace.x), list(trace.y)) == ([], [])


def test_workload_is_a_horizontal_bar_per_assignee():
    rows = [("agent", 3), ("other_agent", 0), ("(unassigned)", 2)]
    fig = figure(charts.workload(rows))

    assert fig.layout.title.text == "Open tickets per assignee"
    (trace,) = fig.data
    assert trace.orientation == "h"
    assert list(trace.y) == ["agent", "other_agent", "(unassigned)"]
    assert list(trace.x) == [3, 0, 2]
    assert fig.layout.yaxis.autorange == "reversed"


def test_workload_grows_with_the_number_of_assignees():
    few = figure(charts.workload([("a", 1)]))
    many = figure(charts.workload([(f"agent{n}", n) for n in range(30)]))
    assert few.layout.height == 240
    assert many.layout.height == 60 + 28 * 30


def test_workload_escapes_usernames():
    fig = figure(charts.workload([(HOSTILE, 1), ("agent", 2)]))

    assert list(fig.data[0].y) == [ESCAPED, "agent"]
    assert "<script>" not in json.dumps(charts.workload([(HOSTILE, 1)]))


def test_counts_escapes_labels_and_keeps_the_order():
    fig = figure(charts.counts("By status", [("open", 2), (HOSTILE, 1), ("closed", 0)]))

    assert fig.layout.title.text == "By status"
    (trace,) = fig.data
    assert list(trace.x) == ["open", ESCAPED, "closed"]
    assert list(trace.y) == [2, 1, 0]


def test_counts_names_what_it_counts():
    # The "New users" chart once said its bars were tickets.
    assert figure(charts.counts("By status", [("open", 2)])).layout.yaxis.title.text == "tickets"
    fig = figure(charts.counts("New users", [("2026-11-28", 4)], y_title="users"))
    assert fig.layout.yaxis.title.text == "users"


def test_titles_are_escaped():
    fig = figure(charts.distribution("<i>title</i>", [("a", 1)]))
    assert fig.layout.title.text == "&lt;i&gt;title&lt;/i&gt;"


@pytest.mark.parametrize(
    "raw",
    [
        charts.created_vs_closed(["d"], [1], [1]),
        charts.backlog_over_time(["d"], [1], [0]),
        charts.distribution("t", [("a", 1)]),
        charts.workload([("a", 1)]),
        charts.counts("t", [("a", 1)]),
    ],
    ids=["created_vs_closed", "backlog_over_time", "distribution", "workload", "counts"],
)
def test_every_figure_is_valid_plotly_json_for_the_page(raw):
    data = json.loads(json.dumps(raw))
    assert data["data"] and data["layout"]["title"]["text"]
    figure(raw)  # every property is one Plotly knows
    untitled = charts.without_title(raw)
    assert "title" not in untitled["layout"] and "title" in raw["layout"]


@pytest.mark.parametrize(
    ("build", "axis"),
    [
        (lambda: charts.created_vs_closed(["Mon", "Tue"], [1, 0], [0, 1]), "yaxis"),
        (lambda: charts.backlog_over_time(["Mon", "Tue"], [1, 2], [1, 0]), "yaxis"),
        (lambda: charts.distribution("Ages", [("<1d", 1), ("1-3d", 0)]), "yaxis"),
        (lambda: charts.counts("By status", [("open", 1)]), "yaxis"),
        (lambda: charts.workload([("agent", 1), ("(unassigned)", 0)]), "xaxis"),
        (lambda: charts.distribution("Nothing", []), "yaxis"),
    ],
)
def test_small_counts_are_ticked_at_whole_numbers(build, axis):
    """No "0.5 tickets": a tick at each whole number while there are few."""
    layout = figure(build()).layout[axis]

    assert (layout.tick0, layout.dtick, layout.tickformat) == (0, 1, ",d")


def test_large_counts_keep_plotlys_steps_in_whole_numbers():
    fig = figure(charts.created_vs_closed(["Mon", "Tue"], [400, 7], [3, 250]))

    assert fig.layout.yaxis.dtick is None and fig.layout.yaxis.tickformat == ",d"


def test_a_stacked_chart_counts_the_stack():
    # 6 + 6 = 12 stacked: more than one tick per unit would crowd the axis.
    fig = figure(charts.backlog_over_time(["Mon"], [6], [6]))

    assert fig.layout.yaxis.dtick is None
