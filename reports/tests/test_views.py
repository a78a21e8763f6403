"""The report page, its CSV and JSON downloads: who may see them, what they show, what they cost."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from tickets.models import Ticket
from tickets.services import ticket_assign

PAGE, CSV, JSON = "/reports/", "/reports/export.csv", "/reports/data.json"
PERIOD_QUERY = "preset=custom&start=2025-01-06&end=2025-01-12"
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
HOSTILE = "<script>alert(1)</script>"


def scripts(html: str) -> list[str]:
    """The opening tag of every <script> element in the page."""
    return re.findall(r"<script\b[^>]*>", html, flags=re.IGNORECASE)


# --- who may see the reports ------------------------------------------------------------------


@pytest.mark.parametrize("path", [PAGE, CSV, JSON])
def test_customers_get_a_404(login, customer, path):
    assert login(customer).get(path).status_code == 404


@pytest.mark.parametrize("path", [PAGE, CSV, JSON])
def test_anonymous_visitors_are_sent_to_log_in(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login") + "?next=")


def test_a_staff_member_deactivated_after_logging_in_is_sent_to_log_in(login, agent):
    client = login(agent)
    User.objects.filter(pk=agent.pk).update(is_active=False)
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("who", ["agent", "admin_user"])
def test_staff_see_every_chart(request, login, who, busy):
    response = login(request.getfixturevalue(who)).get(f"{PAGE}?{PERIOD_QUERY}")
    assert response.status_code == 200
    html = response.content.decode()
    for chart_id in CHART_IDS:
        assert f'data-figure="figure-{chart_id}"' in html
        assert f'<script id="figure-{chart_id}" type="application/json">' in html
    assert len([tag for tag in scripts(html) if "application/json" in tag]) == len(CHART_IDS)


def test_each_chart_has_a_text_summary_for_screen_readers(login, agent, busy):
    """Beside each chart, its key figures in words (from its table's rows), which the chart
    names as its description; the "Show table" button stays."""
    response = login(agent).get(f"{PAGE}?{PERIOD_QUERY}")
    html = response.content.decode()
    summaries = {chart["id"]: chart["summary"] for chart in response.context["charts"]}
    assert set(summaries) == set(CHART_IDS)
    for chart_id in CHART_IDS:
        assert f'aria-describedby="summary-{chart_id}"' in html
        assert f'data-toggle-table="table-{chart_id}"' in html
    assert summaries["created-closed"].startswith(
        "Created: 5 from 2025-01-06 to 2025-01-12, the most in "
    )
    assert '<p class="visually-hidden" id="summary-by-priority">' in html
    assert summaries["by-priority"].startswith("5 tickets in all. The most: ")


def test_the_page_runs_no_inline_javascript_and_loads_plotly_locally(login, agent, busy):
    html = login(agent).get(f"{PAGE}?{PERIOD_QUERY}").content.decode()
    for tag in scripts(html):
        assert " src=" in tag or 'type="application/json"' in tag, tag
    assert '<script src="/static/plotly/plotly.min.js"></script>' in html
    assert '<script src="/static/js/reports.js"></script>' in html
    assert "cdn" not in " ".join(scripts(html))
    assert finders.find("plotly/plotly.min.js") is not None
    assert finders.find("js/reports.js") is not None


def test_the_page_shows_the_metrics_of_the_period(login, agent, busy):
    response = login(agent).get(f"{PAGE}?{PERIOD_QUERY}")
    metrics = response.context["metrics"]
    assert metrics["created"]["value"] == 5
    assert metrics["reopen_rate"]["display"] == "66.7%"
    html = response.content.decode()
    assert '<div class="fs-4 fw-semibold">66.7%</div>' in html
    assert "6 Jan 2025 to 12 Jan 2025, by day" in html
    # The figures on the page carry no title: the card's heading does.
    assert response.context["charts"][0]["figure"]["layout"].get("title") in (None, {})


@pytest.mark.parametrize(
    ("query", "days"),
    [
        ("", 30),
        ("preset=7d", 7),
        ("preset=30d", 30),
        ("preset=90d", 90),
        ("preset=month", None),
        ("preset=all", None),
        ("preset=custom&start=2025-01-06&end=2025-01-12", 7),
        ("start=2025-01-06&end=2025-01-12&bucket=week", 7),
        ("preset=7d&bucket=month", 7),
    ],
)
def test_every_preset_works(login, agent, busy, query, days):
    response = login(agent).get(f"{PAGE}?{query}")
    assert response.status_code == 200
    period = response.context["period"]
    today = timezone.localdate()
    if days is not None:
        assert (period.last_day - period.first_day).days + 1 == days
    if "preset=month" in query:
        assert (period.first_day, period.last_day) == (today.replace(day=1), today)
    if "preset=all" in query:
        # From the oldest ticket, by month.
        assert period.first_day == busy["p1"].created_at.date()
        assert (period.last_day, period.bucket) == (today, "month")


def test_all_time_without_tickets_is_today(login, agent):
    response = login(agent).get(f"{PAGE}?preset=all")
    assert response.status_code == 200
    assert response.context["period"].first_day == timezone.localdate()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "preset=custom&start=2025-01-12&end=2025-01-06",
            "The range is empty: 2025-01-06 is before 2025-01-12.",
        ),
        ("preset=custom&start=2025-02-30", "Enter a valid date."),
        ("preset=custom&start=yesterday", "Enter a valid date."),
        ("preset=custom", "Choose the first day of a custom range."),
        ("preset=custom&start=2015-01-01&end=2024-12-31", "more than 1000 days"),
        ("preset=decade", "Select a valid choice."),
        ("preset=7d&bucket=year", "Select a valid choice."),
        # At the calendar's ends, no day or period before it can be computed.
        ("preset=custom&start=9999-12-30&end=9999-12-31", "must lie between"),
        ("preset=custom&start=0001-01-01&end=0001-01-07&bucket=week", "must lie between"),
    ],
)
def test_a_bad_range_is_a_400_with_a_clear_message(login, agent, query, message):
    client = login(agent)
    response = client.get(f"{PAGE}?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()
    for path in (CSV, JSON):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400
        assert message in str(response.json()["errors"])


@pytest.mark.parametrize(
    "query",
    ["start=0001-03-15&end=0001-03-21", "start=9999-11-01&end=9999-11-30&bucket=month"],
)
@pytest.mark.parametrize("time_zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])  # +14, -11
def test_days_near_the_ends_of_the_calendar_still_work(
    settings, login, agent, ticket, query, time_zone
):
    settings.TIME_ZONE = time_zone
    client = login(agent)
    for path in (PAGE, CSV, JSON):
        assert client.get(f"{path}?preset=custom&{query}").status_code == 200


def test_ten_years_by_week_is_fine(login, agent):
    response = login(agent).get(f"{PAGE}?preset=custom&start=2015-01-01&end=2024-12-31&bucket=week")
    assert response.status_code == 200


# --- an empty period --------------------------------------------------------------------------


def test_an_empty_period_shows_no_data(login, agent, busy):
    response = login(agent).get(f"{PAGE}?preset=custom&start=2024-03-01&end=2024-03-07")
    assert response.status_code == 200
    metrics = response.context["metrics"]
    assert metrics["created"]["display"] == "0"
    for key in ["frt_median", "frt_p90", "resolution_median", "resolution_p90", "reopen_rate"]:
        assert metrics[key]["display"] == "no data"
        assert f'id="metric-{key}"' in response.content.decode()
    assert response.content.decode().count("no data") >= 5


# --- CSV and JSON -----------------------------------------------------------------------------


def test_the_csv_is_a_download_that_starts_with_its_header(login, agent, busy):
    response = login(agent).get(f"{CSV}?{PERIOD_QUERY}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="helpdesk-report-2025-01-06-2025-01-12.csv"'
    )
    text = response.content.decode()
    assert text.startswith("section,key,value,previous period\r\n")
    assert ["metric", "created", "5", "2"] in list(csv.reader(io.StringIO(text)))


def test_the_json_endpoint_returns_the_page_metrics(login, agent, busy):
    client = login(agent)
    page = client.get(f"{PAGE}?{PERIOD_QUERY}").context["metrics"]
    data = client.get(f"{JSON}?{PERIOD_QUERY}").json()
    assert data["period"]["from"] == "2025-01-06"
    assert set(data["metrics"]) == set(page)
    for key, metric in page.items():
        value = metric["value"]
        if isinstance(value, timedelta):
            value = value.total_seconds()
        assert data["metrics"][key]["value"] == pytest.approx(value), key
        assert data["metrics"][key]["display"] == metric["display"], key


# --- user data is data, never markup or a formula -------------------------------------------


@pytest.fixture
def hostile(history, customer, agent):
    """A ticket titled with a script, awaiting a response, held by a staff member whose
    username is a script (such a name can only come from outside the forms)."""
    evil = User.objects.create_user(HOSTILE, "evil@example.com", "pw", is_staff=True)
    titled = history.ticket(customer, timezone.now() - timedelta(hours=2), title=HOSTILE)
    held = history.ticket(customer, timezone.now() - timedelta(hours=1))
    ticket_assign(ticket=held, assignee=evil, by=agent)
    return titled


def test_titles_and_usernames_are_escaped_on_the_page(login, agent, hostile):
    response = login(agent).get(PAGE)
    html = response.content.decode()
    assert hostile.pk in [row["id"] for row in response.context["awaiting"]["oldest"]]
    assert HOSTILE not in html
    assert "alert(1)" in html  # it is there, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_titles_and_usernames_are_escaped_in_the_json(login, agent, hostile):
    response = login(agent).get(JSON)
    # JSON is data: the title is there as it was typed, and the response is not HTML.
    assert response["Content-Type"] == "application/json"
    assert HOSTILE in [row["title"] for row in response.json()["awaiting_first_response"]]


def test_usernames_that_look_like_formulas_are_neutralised_in_the_csv(
    login, make_user, history, customer, agent
):
    for username in ["-evil", "+evil"]:
        ticket_assign(
            ticket=history.ticket(customer, timezone.now()),
            assignee=make_user(username, staff=True),
            by=agent,
        )
    rows = list(csv.reader(io.StringIO(login(agent).get(CSV).content.decode())))
    assert ["workload", "'-evil", "1"] in rows
    assert ["workload", "'+evil", "1"] in rows


def test_ticket_titles_do_not_reach_the_csv(login, history, customer, agent):
    history.ticket(customer, timezone.now(), title='=HYPERLINK("http://evil.example","x")')
    client = login(agent)
    assert "HYPERLINK" in client.get(PAGE).content.decode()  # on the page, as text
    text = client.get(CSV).content.decode()
    assert "HYPERLINK" not in text
    for row in csv.reader(io.StringIO(text)):
        assert not any(cell[:1] in ("=", "+", "-", "@") for cell in row), row


# --- cost -------------------------------------------------------------------------------------


def add_tickets(history, count, customer, other_customer, agent, other_agent):
    now = timezone.now()
    for number in range(count):
        item = history.ticket(
            (customer, other_customer)[number % 2],
            now - timedelta(hours=5 * number + 1),
            priority=Ticket.Priority.values[number % 4],
        )
        if number % 3 == 0:
            ticket_assign(ticket=item, assignee=(agent, other_agent)[number % 2], by=agent)
        if number % 2 == 0:
            history.respond(item, agent, timedelta(minutes=20))
        if number % 5 == 0:
            history.close(item, now - timedelta(minutes=number + 1))


def test_the_page_costs_the_same_number_of_queries_for_5_and_50_tickets(
    login, history, customer, other_customer, agent, other_agent
):
    client = login(agent)
    client.get(PAGE)  # the first request after logging in also saves the session
    counts = []
    for size in (5, 45):  # 5, then 50 in all
        add_tickets(history, size, customer, other_customer, agent, other_agent)
        cache.clear()  # the report computed anew, not the one kept a minute
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{PAGE}?preset=30d")
        assert response.status_code == 200
        counts.append(len(queries))
    assert Ticket.objects.count() == 50
    assert counts[0] == counts[1]


# --- languages: the page in the reader's, the downloads' keys in English ----------------------


def test_the_page_in_german_shows_german_headers_and_labels(login, agent, busy):
    cache.clear()
    # First computed (and cached) for an English reader: a German one still reads German.
    english = login(agent).get(f"{PAGE}?{PERIOD_QUERY}").content.decode()
    assert '<th scope="col">tickets not closed</th>' in english
    User.objects.filter(pk=agent.pk).update(language="de")
    html = login(agent).get(f"{PAGE}?{PERIOD_QUERY}").content.decode()
    for header in ["Tag", "Ende des Tages", "nicht geschlossene Tickets", "Zuständig", "Tickets"]:
        assert f'<th scope="col">{header}</th>' in html
    assert '<th scope="col">tickets not closed</th>' not in html
    assert "<tr><td>(nicht zugewiesen)</td><td>" in html
    assert "<tr><td>(keine Kategorie)</td><td>" in html
    assert "<tr><td>Geschlossen</td><td>" in html  # the status chart's rows
    assert ", nach Tag (" in html
    assert "Erstellte Tickets" in html  # a key number's label, from the cached report
    assert "(unassigned)" not in html
    # The words reports.js puts on the chart/table button come from the page.
    assert 'data-label-table="Tabelle anzeigen" data-label-chart="Diagramm anzeigen"' in html


def test_the_csv_and_json_keep_english_keys_in_german(login, agent, busy):
    User.objects.filter(pk=agent.pk).update(language="de")
    client = login(agent)
    rows = list(csv.reader(io.StringIO(client.get(f"{CSV}?{PERIOD_QUERY}").content.decode())))
    assert rows[0] == ["section", "key", "value", "previous period"]
    assert ["workload", "assignee", "tickets not closed"] in rows
    assert any(row[:2] == ["by-status", "closed"] for row in rows)
    assert any(row[:2] == ["workload", "(unassigned)"] for row in rows)
    assert any(row[:3] == ["metric", "awaiting_first_response", "2"] for row in rows)
    charts = {chart["id"]: chart for chart in client.get(f"{JSON}?{PERIOD_QUERY}").json()["charts"]}
    assert charts["workload"]["columns"] == ["assignee", "tickets not closed"]
    assert any(row[0] == "(no category)" for row in charts["by-category"]["rows"])
    assert charts["by-status"]["rows"][0][0] == "open"
