"""DataVisualization: the help desk's numbers for a period, as data, charts, CSV and HTML.

The report page, the CSV and JSON downloads and the `generate_report` command all build one of
these, so they show the same numbers (METRICS.md defines them; reports/selectors.py computes
them in SQL; reports/charts.py draws them).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from tickets.models import Ticket

from . import charts, formatting, selectors, summaries
from .periods import Period, site_tz

# What the report page (and the HTML file) shows in the reader's language. The CSV and the JSON
# keep the English words as they are: chart["columns"], and the row labels such as
# "(unassigned)" or a status's value, are keys a program that reads the download may rely on,
# and must not change with the language of the person who downloaded it.
BUCKET_WORDS = {
    "day": pgettext_lazy("report grouped by", "day"),
    "week": pgettext_lazy("report grouped by", "week"),
    "month": pgettext_lazy("report grouped by", "month"),
}
COLUMN_HEADERS = {
    "day": pgettext_lazy("report column", "day"),
    "week starting": pgettext_lazy("report column", "week starting"),
    "month": pgettext_lazy("report column", "month"),
    "end of day": pgettext_lazy("report column", "end of day"),
    "end of week": pgettext_lazy("report column", "end of week"),
    "end of month": pgettext_lazy("report column", "end of month"),
    "created": pgettext_lazy("report column", "created"),
    "closed": pgettext_lazy("report column", "closed"),
    "open": pgettext_lazy("report column", "open"),
    "active": pgettext_lazy("report column", "active"),
    "time to first response": pgettext_lazy("report column", "time to first response"),
    "time to resolution": pgettext_lazy("report column", "time to resolution"),
    "age": pgettext_lazy("report column", "age"),
    "tickets": pgettext_lazy("report column", "tickets"),
    "assignee": pgettext_lazy("report column", "assignee"),
    "tickets not closed": pgettext_lazy("report column", "tickets not closed"),
    "status": pgettext_lazy("report column", "status"),
    "priority": pgettext_lazy("report column", "priority"),
    "category": pgettext_lazy("report column", "category"),
    "new users": pgettext_lazy("report column", "new users"),
}
ROW_LABELS = {
    selectors.UNASSIGNED: gettext_lazy("(unassigned)"),
    selectors.NO_CATEGORY: gettext_lazy("(no category)"),
}


def _shown(rows: list, labels: dict = ROW_LABELS) -> list[list]:
    """The rows as the page shows them: the label (first cell) in the reader's language."""
    return [[str(labels.get(row[0], row[0])), *row[1:]] for row in rows]


def _label(moment: datetime, bucket: str) -> str:
    local = timezone.localtime(moment, site_tz())
    if bucket == "month":
        return local.strftime("%Y-%m")
    return local.date().isoformat()


def neutralise_csv_cell(value) -> str:
    """A cell that a spreadsheet would read as a formula is prefixed with a quote."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


class DataVisualization:
    """The original design's report object, on a period and a bucket.

    `fetch_tickets()` and `fetch_users()` fill `tickets_data` and `users_data`; `metrics` holds
    the key numbers with the previous period beside each; `generate_report()` returns a
    complete, self-contained HTML document.
    """

    def __init__(
        self,
        period: Period | None = None,
        *,
        start: date | None = None,
        end: date | None = None,
        bucket: str = "day",
        now: datetime | None = None,
    ) -> None:
        self.now = now or timezone.now()
        if period is None:
            today = timezone.localtime(self.now, site_tz()).date()
            period = Period.from_dates(start or today - timedelta(days=29), end or today, bucket)
        self.period = period
        self.tickets_data: dict = {}
        self.users_data: dict = {}
        self.metrics: dict = {}

    # --- the numbers ---------------------------------------------------------------------

    def fetch_tickets(self) -> dict:
        period, now = self.period, self.now
        # Fetched once, used by several metrics: today's open and active counts, and what was
        # created and what changed status since the period's start, per bucket.
        open_work = selectors.open_work_now(now)
        self._status_counts = open_work["counts"]
        self._created = selectors.created_flows(period, now)
        self._flows = selectors.status_flows(period, now)
        summary = selectors.created_summary(period)
        first_response = selectors.first_response(period, with_awaiting=False)
        first_response["awaiting"] = summary["awaiting"]
        resolution = selectors.resolution(period, now)
        self.tickets_data = {
            "created": selectors.created_per_bucket(period, self._created),
            "closed": selectors.closed_per_bucket(period, self._flows),
            "backlog": selectors.backlog_series(
                period, now, self._flows, self._status_counts, self._created
            ),
            "first_response": first_response,
            "first_response_histogram": first_response["histogram"],
            "resolution": resolution,
            "resolution_histogram": resolution["histogram"],
            "reopen": selectors.reopen_rate(period),
            "age_of_open_work": open_work["age"],
            "awaiting_first_response": selectors.awaiting_first_response(
                now, count=open_work["awaiting"]
            ),
            "workload": selectors.workload(selectors.open_work_per_assignee()),
            "by_status": summary["by_status"],
            "by_priority": summary["by_priority"],
            "by_category": selectors.created_by_category(period),
        }
        return self.tickets_data

    def fetch_users(self) -> dict:
        self.users_data = {
            "registrations": selectors.registrations_per_bucket(self.period),
            "active_reporters": selectors.active_reporters(self.period),
            **selectors.user_totals(),
        }
        return self.users_data

    def fetch_metrics(self) -> dict:
        """The key numbers, each with the same number for the period just before."""
        if not self.tickets_data:
            self.fetch_tickets()
        data, period, now = self.tickets_data, self.period, self.now
        previous = period.previous()
        prev_frt = selectors.first_response(previous, with_awaiting=False)
        prev_resolution = selectors.resolution(previous, now)
        prev_reopen = selectors.reopen_rate(previous)
        counts = self._status_counts
        backlog_end = selectors.backlog_at(min(period.end, now), now, counts)
        backlog_start = selectors.backlog_before(counts, self._flows, self._created)
        frt, resolution = data["first_response"], data["resolution"]
        # Lazy labels: the computed report is cached (reports.caching) for every reader, and
        # each sees them in their own language.
        _ = gettext_lazy
        rows = [
            ("created", _("Tickets created"), sum(n for _, n in data["created"]),
             selectors.created_count(previous), formatting.count),
            ("closed", _("Tickets closed"), sum(n for _, n in data["closed"]),
             selectors.closed_count(previous), formatting.count),
            ("backlog", _("Backlog at the end"), backlog_end["open"] + backlog_end["active"],
             backlog_start["open"] + backlog_start["active"], formatting.count),
            ("frt_median", _("First response, median"), frt["median"], prev_frt["median"],
             formatting.duration),
            ("frt_p90", _("First response, 90th percentile"), frt["p90"], prev_frt["p90"],
             formatting.duration),
            ("resolution_median", _("Resolution, median"), resolution["median"],
             prev_resolution["median"], formatting.duration),
            ("resolution_p90", _("Resolution, 90th percentile"), resolution["p90"],
             prev_resolution["p90"], formatting.duration),
            ("reopen_rate", _("Reopen rate"), data["reopen"]["rate"], prev_reopen["rate"],
             formatting.rate),
            ("awaiting_first_response", _("Awaiting first response (now)"),
             data["awaiting_first_response"]["count"], None, formatting.count),
        ]  # fmt: skip
        self.metrics = {
            key: {
                "label": label,
                "value": value,
                "previous": prev,
                "display": fmt(value),
                # "Awaiting first response" is a now-only metric: nothing to compare with.
                "previous_display": "—" if key == "awaiting_first_response" else fmt(prev),
            }
            for key, label, value, prev, fmt in rows
        }
        return self.metrics

    def fetch_all(self) -> DataVisualization:
        """Every number, on the request's own connection, one query after another."""
        self.fetch_tickets()
        self.fetch_users()
        self.fetch_metrics()
        return self

    def to_data(self) -> dict:
        """Every number fetch_all() fetched, as plain data (what reports.caching keeps):
        from_data() reads it back."""
        return {
            "now": self.now,
            "tickets_data": self.tickets_data,
            "users_data": self.users_data,
            "metrics": self.metrics,
        }

    @classmethod
    def from_data(cls, period: Period, data: dict) -> DataVisualization:
        viz = cls(period, now=data["now"])
        viz.tickets_data, viz.users_data = data["tickets_data"], data["users_data"]
        viz.metrics = data["metrics"]
        return viz

    @property
    def computed_at(self) -> datetime:
        """When the numbers were computed, in the site's time zone."""
        return timezone.localtime(self.now, site_tz())

    @property
    def as_of(self) -> str:
        """When the numbers were computed: "14:05", in the site's time zone."""
        return self.computed_at.strftime("%H:%M")

    # --- charts and tables ------------------------------------------------------------------

    def charts(self) -> list[dict]:
        """Every chart with its title, Plotly figure and the table that shows the same data:
        `columns` and `rows` as the CSV and the JSON give them (English keys), `headers` and
        `shown_rows` as the page shows them (in the reader's language)."""
        if not self.metrics:
            self.fetch_all()
        t, u, bucket = self.tickets_data, self.users_data, self.period.bucket
        bucket_column = "week starting" if bucket == "week" else bucket
        labels = [_label(start, bucket) for start, _ in t["created"]]
        created = [n for _, n in t["created"]]
        closed = [n for _, n in t["closed"]]
        backlog_labels = [_label(row["bucket"], bucket) for row in t["backlog"]]
        backlog_open = [row["open"] for row in t["backlog"]]
        backlog_active = [row["active"] for row in t["backlog"]]
        registrations = [n for _, n in u["registrations"]]
        workload = _shown(t["workload"])
        by_status = _shown(t["by_status"], dict(Ticket.Status.choices))
        by_priority = _shown(t["by_priority"], dict(Ticket.Priority.choices))
        by_category = _shown(t["by_category"])
        chart_list = [
            {
                "id": "created-closed",
                "figure": charts.created_vs_closed(labels, created, closed),
                "columns": [bucket_column, "created", "closed"],
                "rows": [list(row) for row in zip(labels, created, closed, strict=True)],
                "kind": "flow",
            },
            {
                "id": "backlog",
                "figure": charts.backlog_over_time(backlog_labels, backlog_open, backlog_active),
                "columns": [f"end of {bucket}", "open", "active"],
                "rows": [
                    list(row)
                    for row in zip(backlog_labels, backlog_open, backlog_active, strict=True)
                ],
                "kind": "level",
            },
            {
                "id": "first-response",
                "figure": charts.distribution(
                    _("First response time (tickets created in the period)"),
                    t["first_response_histogram"],
                    x_title=_("time to first response"),
                ),
                "columns": ["time to first response", "tickets"],
                "rows": [list(row) for row in t["first_response_histogram"]],
            },
            {
                "id": "resolution",
                "figure": charts.distribution(
                    _("Resolution time (tickets closed in the period)"),
                    t["resolution_histogram"],
                    x_title=_("time to resolution"),
                ),
                "columns": ["time to resolution", "tickets"],
                "rows": [list(row) for row in t["resolution_histogram"]],
            },
            {
                "id": "age",
                "figure": charts.distribution(
                    _("Age of open work (now)"), t["age_of_open_work"], x_title=_("age")
                ),
                "columns": ["age", "tickets"],
                "rows": [list(row) for row in t["age_of_open_work"]],
            },
            {
                "id": "workload",
                "figure": charts.workload(workload),
                "columns": ["assignee", "tickets not closed"],
                "rows": [list(row) for row in t["workload"]],
                "shown_rows": workload,
            },
            {
                "id": "by-status",
                "figure": charts.counts(
                    _("Tickets created in the period, by status now"), by_status
                ),
                "columns": ["status", "tickets"],
                "rows": [list(row) for row in t["by_status"]],
                "shown_rows": by_status,
            },
            {
                "id": "by-priority",
                "figure": charts.counts(
                    _("Tickets created in the period, by priority"), by_priority
                ),
                "columns": ["priority", "tickets"],
                "rows": [list(row) for row in t["by_priority"]],
                "shown_rows": by_priority,
            },
            {
                "id": "by-category",
                "figure": charts.counts(
                    _("Tickets created in the period, by category"), by_category
                ),
                "columns": ["category", "tickets"],
                "rows": [list(row) for row in t["by_category"]],
                "shown_rows": by_category,
            },
            {
                "id": "registrations",
                "figure": charts.counts(
                    _("New users"),
                    list(zip(labels, registrations, strict=True)),
                    y_title=_("users"),
                ),
                "columns": [bucket_column, "new users"],
                "rows": [list(row) for row in zip(labels, registrations, strict=True)],
                "kind": "flow",
            },
        ]
        for chart in chart_list:
            chart["title"] = chart["figure"]["layout"]["title"]["text"]
            chart["headers"] = [str(COLUMN_HEADERS.get(c, c)) for c in chart["columns"]]
            chart.setdefault("shown_rows", chart["rows"])
            # For screen readers, beside the chart: its key figures, from its table's rows.
            chart["summary"] = summaries.text_summary(
                chart["headers"], chart["shown_rows"], kind=chart.pop("kind", "categories")
            )
        return chart_list

    def as_dict(self) -> dict:
        """Everything, as JSON-ready data (the JSON endpoint)."""
        chart_list = self.charts()
        return {
            "period": {
                "from": self.period.first_day.isoformat(),
                "to": self.period.last_day.isoformat(),
                "bucket": self.period.bucket,
                "time_zone": str(site_tz()),
            },
            "as_of": self.as_of,
            "computed_at": self.computed_at.isoformat(),
            "metrics": {
                key: {
                    # Words for people, in the reader's language (the keys stay English).
                    "label": str(m["label"]),
                    "value": _plain(m["value"]),
                    "previous": _plain(m["previous"]),
                    "display": str(m["display"]),
                    "previous_display": str(m["previous_display"]),
                }
                for key, m in self.metrics.items()
            },
            "users": {
                "active_reporters": self.users_data["active_reporters"],
                "users": self.users_data["users"],
                "staff": self.users_data["staff"],
            },
            "awaiting_first_response": [
                {"id": row["id"], "title": row["title"], "age_hours": formatting.hours(row["age"])}
                for row in self.tickets_data["awaiting_first_response"]["oldest"]
            ],
            "charts": [
                {
                    "id": chart["id"],
                    "title": chart["title"],
                    "columns": chart["columns"],
                    "rows": chart["rows"],
                }
                for chart in chart_list
            ],
        }

    def to_csv(self) -> str:
        """The key numbers and every chart's table, one CSV: section, label, value columns."""
        chart_list = self.charts()
        rows: list[list] = [
            ["section", "key", "value", "previous period"],
            ["period", "from", self.period.first_day.isoformat(), ""],
            ["period", "to", self.period.last_day.isoformat(), ""],
            ["period", "bucket", self.period.bucket, ""],
            ["report", "as_of", self.as_of, ""],
            ["report", "computed_at", self.computed_at.isoformat(), ""],
        ]
        for key, metric in self.metrics.items():
            rows.append(
                ["metric", key, _csv_value(metric["value"]), _csv_value(metric["previous"])]
            )
        rows.append(["users", "active_reporters", self.users_data["active_reporters"], ""])
        for chart in chart_list:
            rows.append([])
            rows.append([chart["id"], *chart["columns"]])
            rows.extend([chart["id"], *row] for row in chart["rows"])
        out = io.StringIO()
        # Every cell is neutralised: usernames and labels come from users.
        csv.writer(out).writerows([neutralise_csv_cell(cell) for cell in row] for row in rows)
        return out.getvalue()

    def generate_report(self) -> str:
        """A complete HTML document with plotly.js embedded, so the file opens offline."""
        import plotly.io
        from plotly.offline import get_plotlyjs

        chart_list = self.charts()
        figures = [
            {
                "id": chart["id"],
                "title": chart["title"],
                "html": plotly.io.to_html(
                    chart["figure"],
                    full_html=False,
                    include_plotlyjs=False,
                    div_id=f"chart-{chart['id']}",
                    validate=False,
                ),
                "headers": chart["headers"],
                "shown_rows": chart["shown_rows"],
                "summary": chart["summary"],
            }
            for chart in chart_list
        ]
        return render_to_string(
            "reports/standalone.html",
            {
                "viz": self,
                "period": self.period,
                "bucket_word": BUCKET_WORDS[self.period.bucket],
                "metrics": self.metrics,
                "figures": figures,
                "plotlyjs": get_plotlyjs(),
                "generated_at": self.now,
            },
        )

    def summary(self) -> str:
        m = self.metrics
        return (
            f"{self.period.first_day} to {self.period.last_day} by {self.period.bucket}: "
            f"{m['created']['display']} created, {m['closed']['display']} closed, "
            f"backlog {m['backlog']['display']}, median first response "
            f"{m['frt_median']['display']}, reopen rate {m['reopen_rate']['display']}"
        )


def _plain(value):
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


def _csv_value(value):
    if value is None:
        return formatting.NO_DATA_KEY
    if isinstance(value, timedelta):
        return f"{value.total_seconds():.0f}s"
    if isinstance(value, float):
        return f"{value:.4f}"
    return value
