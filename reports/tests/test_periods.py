"""A report's period refuses what it cannot mean, with a reason."""

from datetime import UTC, datetime, timedelta

import pytest

from reports import formatting
from reports.periods import Period

START = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "bucket", "reason"),
    [
        (START, START + timedelta(days=1), "hour", "bucket must be one of"),
        (START.replace(tzinfo=None), START + timedelta(days=1), "day", "aware"),
        (START, START, "day", "the period is empty"),
    ],
)
def test_a_period_it_cannot_mean_is_refused(start, end, bucket, reason):
    with pytest.raises(ValueError, match=reason):
        Period(start, end, bucket)


def test_a_negative_duration_reads_with_a_minus():
    assert formatting.duration(timedelta(hours=-3)) == "-" + formatting.duration(timedelta(hours=3))
