from importlib.metadata import version

import pytest
from rest_framework.test import APIClient

from accounts.services import api_token_create


@pytest.fixture
def api():
    """A client for the API as a program: a token (`api.as_(user)`) or nothing."""

    class Api(APIClient):
        def as_(self, user):
            _token, raw = api_token_create(user=user, name="tests")
            self.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
            return self

    return Api()


# The schemathesis run's summary (api/tests/test_fuzz.py records, per operation and actor, the
# cases and requests it made), printed at the end of any run that fuzzed: `make fuzz-api`, and
# the suite.
FUZZ_PROPERTY = "api_fuzz"


def pytest_terminal_summary(terminalreporter):
    runs = [
        (report, dict(value))
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == FUZZ_PROPERTY
    ]
    if not runs:
        return
    write = terminalreporter.write_line
    terminalreporter.section("API fuzzing (schemathesis) summary")
    examples = ", ".join(sorted({str(counts["examples"]) for _, counts in runs}))
    write(
        f"schemathesis {version('schemathesis')}: its coverage phase, then {examples} random "
        "examples per operation and actor, each also sent to the actor's pinned ids"
    )
    write(f"{'actor':<16}{'operations':>12}{'cases':>10}{'requests':>10}{'failures':>10}")
    actors = dict.fromkeys(counts["actor"] for _, counts in runs)
    for actor in [*actors, None]:
        mine = [(report, counts) for report, counts in runs if actor in (None, counts["actor"])]
        write(
            f"{actor or 'all':<16}"
            f"{len({counts['operation'] for _, counts in mine if counts['cases']}):>12}"
            f"{sum(counts['cases'] for _, counts in mine):>10}"
            f"{sum(counts['requests'] for _, counts in mine):>10}"
            f"{sum(report.failed for report, _ in mine):>10}"
        )
    for report, counts in runs:
        if report.failed:
            write(f"FAILED {counts['operation'] or report.nodeid} as {counts['actor']}")
