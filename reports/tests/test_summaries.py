"""reports/summaries.py: each chart's key figures as sentences for screen readers, from the rows
of its table (no database)."""

import pytest

from reports.summaries import text_summary


def test_a_flow_says_each_series_total_and_its_busiest_period():
    rows = [["1 Dec", 3, 1], ["2 Dec", 5, 0], ["3 Dec", 0, 5]]

    summary = text_summary(["day", "created", "closed"], rows, kind="flow")

    assert summary == (
        "Created: 8 from 1 Dec to 3 Dec, the most in 2 Dec (5). "
        "Closed: 6 from 1 Dec to 3 Dec, the most in 3 Dec (5)."
    )


def test_a_level_says_the_last_value_and_the_highest():
    rows = [["1 Dec", 4, 1], ["2 Dec", 7, 2], ["3 Dec", 2, 2]]

    summary = text_summary(["end of day", "open", "active"], rows, kind="level")

    assert summary == (
        "Open: 2 at 3 Dec, the highest 7 at 2 Dec. Active: 2 at 3 Dec, the highest 2 at 2 Dec."
    )


def test_categories_say_the_total_and_the_three_largest_largest_first():
    rows = [["low", 1], ["medium", 0], ["high", 6], ["urgent", 2], ["other", 1]]

    summary = text_summary(["priority", "tickets"], rows, kind="categories")

    assert summary == "10 tickets in all. The most: high: 6; urgent: 2; low: 1."


def test_fractions_keep_one_decimal_and_thousands_are_grouped():
    rows = [["erin", 1234], ["sam", 2.5]]

    assert text_summary(["assignee", "hours"], rows, kind="categories") == (
        "1,236.5 hours in all. The most: erin: 1,234; sam: 2.5."
    )


@pytest.mark.parametrize("rows", [[], [["1 Dec", 0, 0], ["2 Dec", 0, 0]]])
def test_no_data_says_so(rows):
    assert text_summary(["day", "created", "closed"], rows, kind="flow") == (
        "No data for this period."
    )


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be one of"):
        text_summary(["day", "created"], [["1 Dec", 1]], kind="pie")
