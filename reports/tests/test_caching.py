"""A computed report is kept for a minute (reports/caching.py): the page, the CSV and the JSON
read it, say when it was computed, and staff can refresh it, once every few seconds."""

import csv
import io
import logging
import time
from datetime import datetime

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports import caching
from reports.periods import Period

from .conftest import utc

QUERY = "preset=custom&start=2025-01-06&end=2025-01-12"
PAGE, CSV, JSON = (
    f"{path}?{QUERY}" for path in ("/reports/", "/reports/export.csv", "/reports/data.json")
)
REFRESH = f"/reports/refresh/?{QUERY}"
REFUSED = "/reports/?preset=decade"  # a 400: the page's own queries, and no report's


def created(client) -> int:
    return client.get(JSON).json()["metrics"]["created"]["value"]


def signed_in_queries(client) -> int:
    """The queries of a report page that computes nothing (the session, the user)."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(REFUSED).status_code == 400
    return len(queries)


@pytest.fixture
def later(settings, monkeypatch):
    """Move the clock of the in-process cache (whatever REDIS_URL says) forward by some
    seconds."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    start = time.time()

    def move(seconds: float) -> None:
        monkeypatch.setattr(time, "time", lambda: start + seconds)

    return move


def test_the_page_csv_and_json_read_a_computed_report_from_the_cache(
    login, agent, busy, django_assert_num_queries
):
    client = login(agent)
    assert client.get(PAGE).status_code == 200
    signed_in = signed_in_queries(client)
    for path in (PAGE, CSV, JSON):
        with django_assert_num_queries(signed_in):  # no report query
            assert client.get(path).status_code == 200


def test_within_the_minute_the_numbers_stay_those_computed(login, agent, busy, history, customer):
    client = login(agent)
    assert created(client) == 5
    history.ticket(customer, utc(2025, 1, 8))
    assert created(client) == 5
    assert client.get(PAGE).context["metrics"]["created"]["value"] == 5


def test_after_a_minute_the_report_is_computed_again(login, agent, busy, history, customer, later):
    client = login(agent)
    assert created(client) == 5
    history.ticket(customer, utc(2025, 1, 8))
    later(caching.SECONDS - 1)
    assert created(client) == 5
    later(caching.SECONDS + 1)
    assert created(client) == 6


def test_each_period_bucket_and_time_zone_has_its_own_report(
    settings, login, agent, busy, history, customer
):
    client = login(agent)
    assert created(client) == 5
    history.ticket(customer, utc(2025, 1, 8))
    by_week = client.get(f"/reports/data.json?{QUERY}&bucket=week").json()
    assert by_week["metrics"]["created"]["value"] == 6
    settings.TIME_ZONE = "Europe/Paris"
    assert created(client) == 6


def test_refresh_recomputes_the_report_and_goes_back_to_it(login, agent, busy, history, customer):
    client = login(agent)
    assert created(client) == 5
    history.ticket(customer, utc(2025, 1, 8))
    response = client.post(REFRESH)
    assert response.status_code == 302
    assert response["Location"] == PAGE
    assert created(client) == 6


def test_the_page_offers_the_refresh_as_a_form_with_its_csrf_token(login, agent, busy):
    html = login(agent).get(PAGE).content.decode()
    action = reverse("reports:refresh") + "?" + QUERY.replace("&", "&amp;")
    form = html[html.index(f'<form method="post" action="{action}">') :]
    form = form[: form.index("</form>")]
    assert 'name="csrfmiddlewaretoken"' in form
    assert '<button type="submit" class="btn btn-sm btn-outline-secondary">Refresh</button>' in form


def test_the_refresh_is_refused_with_csrf_checks_on_and_no_token(agent, busy):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent, backend="accounts.backends.UsernameOrEmailBackend")
    assert client.post(REFRESH).status_code == 403


def test_a_second_refresh_within_seconds_is_refused_and_recomputes_nothing(
    login, agent, busy, history, customer, later, django_assert_num_queries
):
    client = login(agent)
    assert client.post(REFRESH).status_code == 302
    history.ticket(customer, utc(2025, 1, 8))
    with django_assert_num_queries(signed_in_queries(client)):
        response = client.post(REFRESH)
    assert response.status_code == 429
    html = response.content.decode()
    assert "You refreshed a report less than 10 seconds ago" in html
    assert f'href="/reports/?{QUERY.replace("&", "&amp;")}"' in html
    assert created(client) == 5
    later(caching.REFRESH_SECONDS + 1)
    assert client.post(REFRESH).status_code == 302
    assert created(client) == 6


def test_the_refresh_limit_is_per_person(login, agent, other_agent, busy):
    assert login(agent).post(REFRESH).status_code == 302
    assert login(other_agent).post(REFRESH).status_code == 302


def test_refresh_is_a_post_for_staff(client, login, customer, agent, busy):
    assert client.post(REFRESH).status_code == 302  # to log in
    assert client.post(REFRESH)["Location"].startswith(reverse("accounts:login"))
    customer_client = login(customer)
    assert customer_client.post(REFRESH).status_code == 404  # as for the report page
    assert customer_client.get("/reports/").status_code == 404
    assert login(agent).get(REFRESH).status_code == 405


def test_a_refresh_of_a_bad_range_is_a_400_with_the_reason(login, agent):
    response = login(agent).post("/reports/refresh/?preset=custom")
    assert response.status_code == 400
    assert "Choose the first day of a custom range." in response.content.decode()


def test_the_page_csv_and_json_say_when_the_numbers_were_computed(settings, login, agent, busy):
    settings.TIME_ZONE = "Europe/Paris"
    client = login(agent)
    data = client.get(JSON).json()
    computed_at = datetime.fromisoformat(data["computed_at"])
    assert computed_at.utcoffset() is not None and computed_at.tzname() in (
        "UTC+01:00",
        "UTC+02:00",
    )
    as_of = computed_at.strftime("%H:%M")
    assert data["as_of"] == as_of
    rows = list(csv.reader(io.StringIO(client.get(CSV).content.decode())))
    assert ["report", "as_of", as_of, ""] in rows
    assert ["report", "computed_at", data["computed_at"], ""] in rows
    html = client.get(PAGE).content.decode()
    assert f'as of <time datetime="{data["computed_at"]}">{as_of}</time> (Europe/Paris)' in html


def test_the_command_neither_reads_nor_writes_the_cache(login, agent, busy, history, customer):
    client = login(agent)
    assert created(client) == 5
    history.ticket(customer, utc(2025, 1, 8))
    out = io.StringIO()
    call_command(
        "generate_report", "--from", "2025-01-06", "--to", "2025-01-12", "--bucket", "day",
        "--format", "csv", stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    assert ["metric", "created", "6", "2"] in list(csv.reader(io.StringIO(out.getvalue())))
    assert created(client) == 5  # what the page computed, still


def test_the_command_runs_without_a_cache(settings, busy):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    out = io.StringIO()
    call_command(
        "generate_report", "--from", "2025-01-06", "--to", "2025-01-12", "--format", "csv",
        stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    assert ["metric", "created", "5", "2"] in list(csv.reader(io.StringIO(out.getvalue())))


@pytest.fixture
def cache_down(settings):
    """A Redis cache on a port where nothing listens (sessions in the database)."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
        }
    }


def test_without_a_cache_server_the_report_is_computed_and_the_failure_logged(
    cache_down, login, agent, busy, caplog
):
    client = login(agent)
    with caplog.at_level(logging.WARNING, logger="reports.caching"):
        for path in (PAGE, CSV, JSON):
            assert client.get(path).status_code == 200
        assert created(client) == 5
        response = client.post(REFRESH)
    assert response.status_code == 302
    messages = [record.getMessage() for record in caplog.records]
    assert "Report cache: cannot read (ConnectionError); computing." in messages
    assert "Report cache: cannot store (ConnectionError)." in messages
    assert "Report cache: cannot count refreshes (ConnectionError)." in messages


def test_the_cached_data_is_plain_data(busy):
    period = Period.from_dates(datetime(2025, 1, 6).date(), datetime(2025, 1, 12).date())
    caching.fresh_report(period)
    data = cache.get(caching.report_key(period))
    assert set(data) == {"now", "tickets_data", "users_data", "metrics"}
    assert data["metrics"]["created"]["value"] == 5
    assert caching.cached_report(period).charts()[0]["rows"][0] == ["2025-01-06", 1, 0]
