"""The tables beside the report's charts (templates/reports/_table_rows.html): each cell as a
template variable shows it, user text escaped by autoescape, and "no data" for an empty table."""

from django.template.loader import render_to_string

from reports.visualization import DataVisualization

from .conftest import NOW, PERIOD, utc

HOSTILE = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
PAGE = "/reports/?preset=custom&start=2025-01-06&end=2025-01-12"


def table(html: str, chart_id: str) -> str:
    """The markup of one chart's table on the page."""
    start = html.index(f'<div id="table-{chart_id}"')
    return html[start : html.index("</table>", start)]


def test_the_page_shows_each_row_of_a_chart_as_a_table_row(login, agent, busy):
    html = login(agent).get(PAGE).content.decode()
    created_closed = table(html, "created-closed")
    assert "<thead><tr><th scope=" in created_closed
    assert "<tr><td>2025-01-06</td><td>1</td><td>0</td></tr>" in created_closed
    assert "<tr><td>2025-01-12</td><td>0</td><td>1</td></tr>" in created_closed
    assert "<tr><td>(unassigned)</td><td>3</td></tr>" in table(html, "workload")
    assert created_closed.count("<tr><td>") == 7  # a row per day


def test_a_hostile_username_in_the_workload_table_is_text(
    login, agent, busy, history, make_user, customer
):
    evil = make_user(HOSTILE, staff=True)
    history.assign(history.ticket(customer, utc(2025, 1, 9)), evil, utc(2025, 1, 9, 1))
    html = login(agent).get(PAGE).content.decode()
    assert f"<tr><td>{ESCAPED}</td><td>1</td></tr>" in table(html, "workload")
    assert HOSTILE not in html


def test_the_offline_document_escapes_its_tables_too(busy, history, make_user, customer):
    evil = make_user(HOSTILE, staff=True)
    history.assign(history.ticket(customer, utc(2025, 1, 9)), evil, utc(2025, 1, 9, 1))
    document = DataVisualization(PERIOD, now=NOW).generate_report()
    assert f"<tr><td>{ESCAPED}</td><td>1</td></tr>" in document
    assert HOSTILE not in document


def test_an_empty_table_says_so_across_its_columns():
    html = render_to_string(
        "reports/_table_rows.html", {"rows": [], "columns": ["day", "created", "closed"]}
    )
    assert html.strip() == '<tr><td colspan="3">no data</td></tr>'


def test_cells_are_localized_and_escaped_as_template_variables_are():
    html = render_to_string(
        "reports/_table_rows.html",
        {"rows": [[HOSTILE, 2.5, None]], "columns": ["who", "n", "extra"]},
    )
    assert html.strip() == f"<tr><td>{ESCAPED}</td><td>2.5</td><td>None</td></tr>"
