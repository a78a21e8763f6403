"""One definition per metric (METRICS.md): the page, the CSV download, the JSON endpoint and the
generate_report command give the same numbers for the same period."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.management import call_command

from .conftest import BUSY_METRICS


def canonical(value) -> str:
    """A metric's value as the CSV writes it, from any of the four sources."""
    if value is None or value == "no data":
        return "no data"
    if isinstance(value, timedelta):
        value = value.total_seconds()
        return f"{value:.0f}s"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def csv_metrics(text: str) -> dict[str, tuple[str, str]]:
    return {
        row[1]: (row[2], row[3])
        for row in csv.reader(io.StringIO(text))
        if row and row[0] == "metric"
    }


@pytest.mark.parametrize(
    ("start", "end", "bucket"),
    [
        ("2025-01-06", "2025-01-12", "day"),
        ("2025-01-06", "2025-01-12", "week"),
        ("2024-12-30", "2025-01-19", "day"),
        ("2024-03-01", "2024-03-07", "day"),  # nothing happened: "no data" everywhere
    ],
)
def test_page_csv_json_and_command_agree(login, agent, busy, start, end, bucket):
    client = login(agent)
    query = f"preset=custom&start={start}&end={end}&bucket={bucket}"

    page = {
        key: (canonical(m["value"]), canonical(m["previous"]))
        for key, m in client.get(f"/reports/?{query}").context["metrics"].items()
    }
    downloaded = csv_metrics(client.get(f"/reports/export.csv?{query}").content.decode())
    data = client.get(f"/reports/data.json?{query}").json()["metrics"]
    out = io.StringIO()
    call_command(
        "generate_report",
        "--from",
        start,
        "--to",
        end,
        "--bucket",
        bucket,
        "--format",
        "csv",
        stdout=out,
        stderr=io.StringIO(),
    )
    command = csv_metrics(out.getvalue())

    assert list(page) == list(BUSY_METRICS)
    assert downloaded == page
    assert command == page
    for key, (value, previous) in page.items():
        json_value = data[key]["value"]
        json_previous = data[key]["previous"]
        if value.endswith("s"):  # durations are seconds in JSON
            json_value = timedelta(seconds=json_value)
        if previous.endswith("s"):
            json_previous = timedelta(seconds=json_previous)
        assert (canonical(json_value), canonical(json_previous)) == (value, previous), key


def test_the_numbers_they_agree_on_are_the_defined_ones(login, agent, busy):
    query = "preset=custom&start=2025-01-06&end=2025-01-12"
    downloaded = csv_metrics(login(agent).get(f"/reports/export.csv?{query}").content.decode())
    assert downloaded == {
        key: (canonical(value), canonical(previous))
        for key, (value, previous) in BUSY_METRICS.items()
    }
