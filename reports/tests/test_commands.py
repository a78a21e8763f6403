"""generate_report: an offline HTML file or CSV for a period, a one-line summary, exit code 2
on a bad period."""

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from plotly.offline import get_plotlyjs

from .test_visualization import CHART_IDS

ARGS = ["generate_report", "--from", "2025-01-06", "--to", "2025-01-12"]


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_writes_a_complete_html_document_to_the_output_file(busy, tmp_path):
    target = tmp_path / "report.html"
    out, err = run(*ARGS, "--output", str(target))

    document = target.read_text(encoding="utf-8")
    assert document.startswith("<!doctype html>")
    assert document.rstrip().endswith("</html>")
    assert get_plotlyjs()[:500] in document  # opens offline: plotly.js is inside
    assert "<script src=" not in document
    for chart_id in CHART_IDS:
        assert f'id="chart-{chart_id}"' in document
    assert "6 Jan 2025 to 12 Jan 2025, by week" in document  # the default bucket
    # Each chart's key figures in words, beside it (reports/summaries.py).
    assert '<p class="muted">Created: 5 from ' in document
    assert out == ""
    assert str(target) in err


def test_it_writes_csv_to_standard_output_without_output(busy):
    out, _ = run(*ARGS, "--format", "csv", "--bucket", "day")

    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["section", "key", "value", "previous period"]
    assert ["period", "bucket", "day", ""] in rows
    assert ["metric", "created", "5", "2"] in rows
    assert ["metric", "reopen_rate", "0.6667", "0.0000"] in rows


def test_it_writes_csv_to_a_file(busy, tmp_path):
    target = tmp_path / "report.csv"
    out, _ = run(*ARGS, "--format", "csv", "--output", str(target))
    assert out == ""
    assert target.read_text(encoding="utf-8").startswith("section,key,value,previous period")


def test_it_prints_a_one_line_summary_on_stderr(busy):
    _, err = run(*ARGS, "--format", "csv", "--bucket", "day")
    assert err.endswith("\n") and err.count("\n") == 1
    assert err.startswith(
        "Report 2025-01-06 to 2025-01-12 by day: 5 created, 4 closed, backlog 3, "
        "median first response 1h 00m, reopen rate 66.7% (csv, "
    )
    assert err.rstrip().endswith("bytes to standard output).")


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        (["--from", "2025-02-30", "--to", "2025-03-01"], "'2025-02-30' is not a date"),
        (["--from", "2025-01-06", "--to", "next week"], "'next week' is not a date"),
        (["--from", "2025-01-12", "--to", "2025-01-06"], "the period is empty"),
        (["--from", "9999-12-30", "--to", "9999-12-31"], "must lie between"),
        (["--from", "0001-01-01", "--to", "0001-01-02"], "must lie between"),
    ],
)
def test_a_bad_period_exits_with_code_2(db, dates, message, tmp_path):
    target = tmp_path / "report.html"
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("generate_report", *dates, "--output", str(target), stderr=err)
    assert exit_info.value.code == 2
    assert message in err.getvalue()
    assert not target.exists()


def test_an_unknown_bucket_is_refused(db):
    with pytest.raises(CommandError, match="invalid choice: 'year'"):
        call_command(*ARGS, "--bucket", "year")


@pytest.mark.parametrize(
    "args",
    [
        ["--from", "2025-13-01", "--to", "2025-12-31"],
        ["--from", "2025-01-12", "--to", "2025-01-06"],
        ["--from", "2025-01-06", "--to", "2025-01-12", "--bucket", "year"],
    ],
    ids=["bad date", "empty range", "unknown bucket"],
)
def test_from_the_command_line_the_exit_code_is_2(args):
    # These fail before the database is touched, so the project's own settings are fine.
    result = subprocess.run(  # noqa: S603 (a fixed argument list, no shell)
        [sys.executable, "manage.py", "generate_report", *args],
        cwd=Path(settings.BASE_DIR),
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "helpdesk_site.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
