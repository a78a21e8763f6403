"""DataVisualization: the numbers, charts, JSON, CSV and HTML of one report, at a fixed `now`."""

import csv
import io
import json
from datetime import date

import pytest
from plotly.offline import get_plotlyjs

from accounts.models import User
from reports.periods import Period
from reports.visualization import DataVisualization, neutralise_csv_cell

from .conftest import BUSY_METRICS, NOW, PERIOD, H, utc

CHART_IDS = [
    "created-closed",
    "backlog",
    "first-response",
    "resolution",
    "age",
    "workload",
    "by-status",
    "by-priority",
    "by-category",
    "registrations",
]
NO_DATA_KEYS = ["frt_median", "frt_p90", "resolution_median", "resolution_p90", "reopen_rate"]


@pytest.fixture
def report(busy) -> DataVisualization:
    return DataVisualization(PERIOD, now=NOW).fetch_all()


def parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_metrics_and_the_period_before(report):
    numbers = {key: (m["value"], m["previous"]) for key, m in report.metrics.items()}
    assert numbers == {**BUSY_METRICS, "reopen_rate": (pytest.approx(2 / 3), 0.0)}
    assert list(report.metrics) == list(BUSY_METRICS)


def test_metric_displays(report):
    displays = {key: (m["display"], m["previous_display"]) for key, m in report.metrics.items()}
    assert displays == {
        "created": ("5", "2"),
        "closed": ("4", "1"),
        "backlog": ("3", "1"),
        "frt_median": ("1h 00m", "30m"),
        "frt_p90": ("10h 00m", "30m"),
        "resolution_median": ("2d 0h", "2d 0h"),
        "resolution_p90": ("3d 0h", "2d 0h"),
        "reopen_rate": ("66.7%", "0.0%"),
        "awaiting_first_response": ("2", "—"),
    }


def test_tickets_data(report, busy):
    data = report.tickets_data
    assert [n for _, n in data["created"]] == [1, 1, 1, 1, 1, 0, 0]
    assert [n for _, n in data["closed"]] == [0, 1, 1, 0, 1, 0, 1]
    assert [(row["open"], row["active"]) for row in data["backlog"]] == [
        (2, 0),  # 6th: p2, t1 (closed on the 7th)
        (2, 0),  # 7th: t1 closed, t2 created
        (1, 1),  # 8th: t2 closed; t3 created and assigned (active)
        (3, 1),  # 9th: t2 reopened, t4 created
        (3, 1),  # 10th: t2 closed, t5 created
        (3, 1),
        (2, 1),  # 12th: t5 closed
    ]
    assert data["first_response"] == {
        "count": 4,
        "median": H,
        "p90": 10 * H,
        "awaiting": 1,
        "histogram": data["first_response_histogram"],
    }
    assert data["reopen"] == {"closed": 3, "reopened": 2, "rate": pytest.approx(2 / 3)}
    assert data["workload"] == [("agent", 1), ("other_agent", 0), ("(unassigned)", 3)]
    assert data["by_status"] == [("open", 2), ("active", 1), ("closed", 2)]
    assert data["by_priority"] == [("low", 0), ("normal", 3), ("high", 1), ("urgent", 1)]
    awaiting = data["awaiting_first_response"]
    assert awaiting["count"] == 2
    assert [row["id"] for row in awaiting["oldest"]] == [busy["p2"].pk, busy["t4"].pk]
    assert awaiting["oldest"][1]["age"] == NOW - utc(2025, 1, 9, 12)


def test_users_data(report):
    assert report.users_data == {
        "registrations": [
            (start, n)
            for start, n in zip(PERIOD.bucket_starts(), [1, 0, 1, 0, 0, 0, 0], strict=True)
        ],
        "active_reporters": 2,
        "users": 4,
        "staff": 2,
    }


def test_charts_carry_the_same_numbers_as_the_data(report):
    charts = report.charts()
    assert [chart["id"] for chart in charts] == CHART_IDS
    by_id = {chart["id"]: chart for chart in charts}
    created_closed = by_id["created-closed"]
    assert created_closed["columns"] == ["day", "created", "closed"]
    assert created_closed["rows"][:2] == [["2025-01-06", 1, 0], ["2025-01-07", 1, 1]]
    assert created_closed["figure"]["data"][0]["y"] == [1, 1, 1, 1, 1, 0, 0]
    assert by_id["backlog"]["rows"][-1] == ["2025-01-12", 2, 1]
    assert by_id["workload"]["rows"] == [["agent", 1], ["other_agent", 0], ["(unassigned)", 3]]
    assert by_id["resolution"]["rows"] == [
        ["<1d", 0],
        ["1-3d", 2],
        ["3-7d", 1],
        ["7-30d", 0],
        [">30d", 0],
    ]
    for chart in charts:
        assert chart["title"] == chart["figure"]["layout"]["title"]["text"]
        assert all(len(row) == len(chart["columns"]) for row in chart["rows"])


def test_weekly_report_labels_buckets_by_their_monday(busy):
    period = Period.from_dates(date(2025, 1, 1), date(2025, 1, 12), "week")
    chart = DataVisualization(period, now=NOW).charts()[0]
    assert chart["columns"] == ["week starting", "created", "closed"]
    # The first week is counted from the period's first day: p2 created, p1 closed.
    assert chart["rows"] == [["2024-12-30", 1, 1], ["2025-01-06", 5, 4]]


def test_monthly_report_labels_buckets_by_month(busy):
    period = Period.from_dates(date(2024, 12, 1), date(2025, 1, 31), "month")
    chart = DataVisualization(period, now=NOW).charts()[0]
    assert chart["rows"] == [["2024-12", 1, 0], ["2025-01", 6, 5]]


def test_labels_are_days_in_the_site_time_zone(settings, history, customer):
    settings.TIME_ZONE = "Europe/Paris"
    history.ticket(customer, utc(2025, 1, 6, 23, 30))  # the 7th in Paris
    period = Period.from_dates(date(2025, 1, 6), date(2025, 1, 7))
    chart = DataVisualization(period, now=NOW).charts()[0]
    assert chart["rows"] == [["2025-01-06", 0, 0], ["2025-01-07", 1, 0]]


def test_default_period_is_the_last_30_days(db):
    viz = DataVisualization(now=NOW)
    assert (viz.period.first_day, viz.period.last_day) == (date(2024, 12, 22), date(2025, 1, 20))
    viz = DataVisualization(start=date(2025, 1, 6), end=date(2025, 1, 12), bucket="week", now=NOW)
    assert viz.period == Period.from_dates(date(2025, 1, 6), date(2025, 1, 12), "week")


@pytest.fixture(params=["empty database", "tickets elsewhere"])
def empty_report(request, db) -> DataVisualization:
    # `db` is named here, not fetched on the fly, so pytest-django orders these tests with the
    # other database tests (before the transactional ones, which empty the database).
    if request.param == "tickets elsewhere":
        request.getfixturevalue("busy")
    period = Period.from_dates(date(2024, 3, 1), date(2024, 3, 7))
    return DataVisualization(period, now=NOW).fetch_all()


def test_an_empty_period_shows_no_data_not_zero(empty_report):
    metrics = empty_report.metrics
    assert (metrics["created"]["value"], metrics["created"]["display"]) == (0, "0")
    assert (metrics["closed"]["value"], metrics["closed"]["display"]) == (0, "0")
    for key in NO_DATA_KEYS:
        assert metrics[key]["value"] is None, key
        assert metrics[key]["display"] == "no data", key
        assert metrics[key]["previous_display"] == "no data", key


def test_an_empty_period_renders_everywhere(empty_report):
    assert len(empty_report.charts()) == len(CHART_IDS)
    json.dumps(empty_report.as_dict())
    rows = parse_csv(empty_report.to_csv())
    assert ["metric", "frt_median", "no data", "no data"] in rows
    assert "no data" in empty_report.generate_report()
    assert "median first response no data, reopen rate no data" in empty_report.summary()


def test_as_dict_is_json_ready(report):
    data = json.loads(json.dumps(report.as_dict()))
    assert data["period"] == {
        "from": "2025-01-06",
        "to": "2025-01-12",
        "bucket": "day",
        "time_zone": "UTC",
    }
    assert data["metrics"]["frt_p90"]["value"] == 36000.0
    assert data["metrics"]["frt_median"]["previous"] == 1800.0
    assert data["metrics"]["created"] == {
        "label": "Tickets created",
        "value": 5,
        "previous": 2,
        "display": "5",
        "previous_display": "2",
    }
    assert data["users"] == {"active_reporters": 2, "users": 4, "staff": 2}
    assert [chart["id"] for chart in data["charts"]] == CHART_IDS
    assert data["charts"][0]["title"] == "Tickets created and closed"
    assert [row["age_hours"] for row in data["awaiting_first_response"]] == [
        (NOW - utc(2025, 1, 3, 9)) / H,
        (NOW - utc(2025, 1, 9, 12)) / H,
    ]


def test_csv_has_the_key_numbers_and_every_chart_table(report):
    rows = parse_csv(report.to_csv())
    assert rows[:4] == [
        ["section", "key", "value", "previous period"],
        ["period", "from", "2025-01-06", ""],
        ["period", "to", "2025-01-12", ""],
        ["period", "bucket", "day", ""],
    ]
    metrics = {row[1]: row[2:] for row in rows if row and row[0] == "metric"}
    assert metrics == {
        "created": ["5", "2"],
        "closed": ["4", "1"],
        "backlog": ["3", "1"],
        "frt_median": ["3600s", "1800s"],
        "frt_p90": ["36000s", "1800s"],
        "resolution_median": ["172800s", "172800s"],
        "resolution_p90": ["259200s", "172800s"],
        "reopen_rate": ["0.6667", "0.0000"],
        "awaiting_first_response": ["2", "no data"],
    }
    assert ["users", "active_reporters", "2", ""] in rows
    for chart in report.charts():  # each table starts with its header row
        assert next(row for row in rows if row and row[0] == chart["id"]) == [
            chart["id"],
            *chart["columns"],
        ]
    assert ["created-closed", "2025-01-06", "1", "0"] in rows
    assert ["workload", "(unassigned)", "3"] in rows


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+evil", "'+evil"),
        ("-evil", "'-evil"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("agent", "agent"),
        (3, "3"),
        (None, ""),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(value, cell):
    assert neutralise_csv_cell(value) == cell


def test_csv_neutralises_usernames(busy, history, make_user, customer):
    evil = make_user("-evil", staff=True)
    history.assign(history.ticket(customer, utc(2025, 1, 9)), evil, utc(2025, 1, 9, 1))
    rows = parse_csv(DataVisualization(PERIOD, now=NOW).to_csv())
    assert ["workload", "'-evil", "1"] in rows
    assert not any(cell.startswith("-evil") for row in rows for cell in row)


def test_generate_report_is_a_complete_offline_document(report):
    document = report.generate_report()
    assert document.startswith("<!doctype html>")
    assert document.rstrip().endswith("</html>")
    assert get_plotlyjs()[:500] in document  # plotly.js itself, not a link to it
    assert "<script src=" not in document  # nothing to fetch
    for chart_id in CHART_IDS:
        assert f'id="chart-{chart_id}"' in document
    assert '<div class="value">66.7%</div>' in document
    assert "6 Jan 2025 to 12 Jan 2025, by day" in document


def test_generate_report_escapes_user_data(busy, history, customer):
    hostile = "<b>x</b><script>alert(1)</script>"
    evil = User.objects.create_user(hostile, "evil@example.com", "pw", is_staff=True)
    history.assign(history.ticket(customer, utc(2025, 1, 9)), evil, utc(2025, 1, 9, 1))
    document = DataVisualization(PERIOD, now=NOW).generate_report()
    assert "<script>alert(1)" not in document
    assert "&lt;b&gt;x&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in document


def test_summary_is_one_line(report):
    assert report.summary() == (
        "2025-01-06 to 2025-01-12 by day: 5 created, 4 closed, backlog 3, "
        "median first response 1h 00m, reopen rate 66.7%"
    )


def test_a_report_for_the_current_period_counts_up_to_now(history, customer, agent):
    now = utc(2025, 1, 12, 18)  # the period's last day is today
    item = history.ticket(customer, utc(2025, 1, 12, 9))
    history.respond(item, agent, 2 * H)
    viz = DataVisualization(Period.from_dates(date(2025, 1, 6), date(2025, 1, 12)), now=now)
    viz.fetch_all()
    assert viz.metrics["backlog"]["value"] == 1
    assert viz.metrics["frt_median"]["value"] == 2 * H
    assert viz.tickets_data["age_of_open_work"][0] == ("<1d", 1)
    assert viz.tickets_data["backlog"][-1] == {
        "bucket": PERIOD.bucket_starts()[-1],
        "open": 1,
        "active": 0,
    }
