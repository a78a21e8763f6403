"""Fifty wrong passwords sent at once check no more passwords than the lock-out allows.

The lock-out's count and its check must be one step: a failed login is counted after its
password was checked, so fifty logins sent together all passed the check "fewer than 5 failures
so far" before the first failure was counted, and a review saw 8 wrong passwords tried (and then
a right one let in) against a limit of 5. A login now takes its place among the logins being
checked for that name and address before its password is checked (accounts/lockout.py).

This starts gunicorn as `make serve` does (2 workers with 25 threads each, so the fifty run
at once in two processes) on a SQLite file, and, where they answer, on PostgreSQL with the
lock-out's counts in Redis. Its hasher is bcrypt, as in production, counted
(tests/settings_counting_password_checks.py): how many passwords were checked is what the
lock-out limits, and a refused attempt looks like a wrong password from outside.
"""

from __future__ import annotations

import http.client
import re
import secrets
import threading
import urllib.parse
from contextlib import ExitStack

import pytest

from .servers import (
    REDIS_HOST,
    REDIS_PORT,
    free_port,
    run,
    server_environment,
    start_gunicorn,
    stop,
    wait_until_healthy,
)

LIMIT = 5
ATTEMPTS = 50
PASSWORD = "the-right-passphrase-7"
CREATE_VICTIM = (
    "from accounts.models import User; "
    f"User.objects.create_user('victim', 'victim@example.com', {PASSWORD!r})"
)


@pytest.fixture(params=["sqlite", "postgresql-redis"])
def deployment(request, tmp_path) -> dict[str, str]:
    """The settings of one deployment: a SQLite file (axes' counts in the database), or a new
    PostgreSQL database with Redis (axes' counts in the cache)."""
    if request.param == "sqlite":
        return {"DATABASE_URL": f"sqlite:///{tmp_path / 'race.sqlite3'}"}
    _client, number = request.getfixturevalue("redis_db")
    return {
        "DATABASE_URL": request.getfixturevalue("temporary_postgres_database"),
        "REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{number}",
        "CACHE_KEY_PREFIX": f"race-{secrets.token_hex(4)}",
    }


@pytest.fixture
def server(deployment, tmp_path):
    """(URL, file of password checks) of a running server with the user `victim`."""
    checks = tmp_path / "password-checks.txt"
    checks.touch()
    env = server_environment(
        **deployment,
        DJANGO_SETTINGS_MODULE="tests.settings_counting_password_checks",
        PASSWORD_CHECKS_FILE=str(checks),
        # DEBUG on: static files need no collectstatic; the lock-out works the same.
        DEBUG="true",
        ALLOWED_HOSTS="127.0.0.1",
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS=str(ATTEMPTS // 2),
        AXES_FAILURE_LIMIT=str(LIMIT),
    )
    run(["manage.py", "migrate", "--no-input", "-v0"], env)
    run(["manage.py", "shell", "-c", CREATE_VICTIM], env)
    port, log = free_port(), tmp_path / "gunicorn.log"
    with ExitStack() as cleanup:
        process = start_gunicorn(env, port, log)
        cleanup.callback(stop, process)
        url = f"http://127.0.0.1:{port}"
        assert wait_until_healthy(url, process, log)["http_status"] == 200
        yield url, checks


def csrf_pair(url: str) -> tuple[str, str]:
    """(cookie, form token) from the login page: every attempt below sends the same pair."""
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=30)
    connection.request("GET", "/accounts/login/")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie")).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    connection.close()
    return cookie, token


def log_in(url: str, password: str, csrf: tuple[str, str]) -> int:
    cookie, token = csrf
    body = urllib.parse.urlencode(
        {"username": "victim", "password": password, "csrfmiddlewaretoken": token}
    )
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=60)
    connection.request(
        "POST",
        "/accounts/login/",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookie}",
        },
    )
    status = connection.getresponse().status
    connection.close()
    return status


def test_fifty_wrong_passwords_at_once_check_no_more_than_the_limit(server):
    url, checks = server
    csrf = csrf_pair(url)
    start = threading.Barrier(ATTEMPTS, timeout=30)
    statuses: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def attempt(number: int) -> None:
        try:
            start.wait()
            status = log_in(url, f"wrong-password-{number}", csrf)
            with lock:
                statuses.append(status)
        except BaseException as exc:  # reported below, with the others
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not any(thread.is_alive() for thread in threads), "an attempt is stuck"
    assert errors == []
    checked = len(checks.read_text().splitlines())
    # Never more than the limit (41 were, before the count and the check were one step). Fewer
    # is right too: refusals count as failures, so on a slow machine the limit can be reached
    # before every place taken has had its password checked.
    assert 1 <= checked <= LIMIT, f"{checked} passwords were checked against a limit of {LIMIT}"
    # A wrong password is told so while fewer than five failures are counted; refusals count
    # too, so the five checked may all find the limit reached by the time they are answered.
    # Everyone else gets the lock-out page.
    assert len(statuses) == ATTEMPTS
    assert set(statuses) <= {400, 429}
    assert statuses.count(400) <= LIMIT - 1

    # And the right password is refused now, unchecked.
    assert log_in(url, PASSWORD, csrf) == 429
    assert len(checks.read_text().splitlines()) == checked
