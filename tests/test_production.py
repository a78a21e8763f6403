"""What running in production relies on: settings from the environment, the health check, the
request log, the error pages, the Content Security Policy and the session idle timeout.

Settings are read once, when the process starts, so the tests of how the environment shapes them
start `manage.py` in a subprocess with that environment; everything else uses the test client.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.management.utils import get_random_secret_key
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET = "a-very-distinctive-password-7031"

# Variables that shape the settings; a subprocess starts without them unless a test sets them.
SETTINGS_VARIABLES = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CACHE_KEY_PREFIX",
    "SESSION_IDLE_TIMEOUT",
    "FORWARDED_ALLOW_IPS",
    "REGISTRATION_EMAIL_VERIFICATION",
    "ACCOUNT_EMAILS_PER_ADDRESS",
    "ACCOUNT_REQUESTS_PER_CLIENT",
    "SESSION_EXPIRE_AT_BROWSER_CLOSE",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "STATIC_ROOT",
    "DB_CONN_MAX_AGE",
    "SITE_URL",
    "HOST",
    "PORT",
}
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": get_random_secret_key(),  # 50 random characters, as check --deploy wants
    "ALLOWED_HOSTS": "help.example.com",
}


def manage(*args: str, **environment: str) -> subprocess.CompletedProcess:
    """Run manage.py in a fresh process with only the given settings variables set."""
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARIABLES}
    env.update(environment)
    return subprocess.run(  # noqa: S603 (a fixed argument list, no shell)
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def settings_from(names: list[str], **environment: str) -> dict:
    """The named settings as a fresh process with this environment sees them."""
    code = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name, None) for name in {names!r}}}, "
        "default=str))"
    )
    result = manage("shell", "-c", code, **environment)
    assert result.returncode == 0, result.stderr
    # `shell` may first say how many objects it imported: the JSON is the last line.
    return json.loads(result.stdout.strip().splitlines()[-1])


def last_error_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    return lines[-1] if lines else ""


# --- Settings from the environment ---------------------------------------------------------------


def test_deploy_check_passes_with_debug_off():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("server", ["wsgi", "asgi"])
def test_the_loaded_site_is_frozen_out_of_full_garbage_collections(server):
    """What a server's worker has loaded (Django and the apps) is left out of the garbage
    collector's full collections, which then look at the requests' objects alone."""
    code = (
        f"import gc; import helpdesk_site.{server}; "
        "print(gc.get_freeze_count(), sum(gc.get_count()))"
    )
    result = manage("shell", "-c", code, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    frozen, collectable = map(int, result.stdout.strip().splitlines()[-1].split())
    assert frozen > 50_000  # Django, the apps and their modules
    assert collectable < 1_000


@pytest.mark.parametrize(
    ("environment", "site_url", "allowed"),
    [
        ({}, "http://127.0.0.1:8000", "127.0.0.1"),
        ({"PORT": "8123"}, "http://127.0.0.1:8123", "127.0.0.1"),
        ({"HOST": "192.168.1.20", "PORT": "9000"}, "http://192.168.1.20:9000", "192.168.1.20"),
        ({"HOST": "0.0.0.0", "PORT": "8080"}, "http://127.0.0.1:8080", "127.0.0.1"),  # noqa: S104
        (
            {"PORT": "8123", "SITE_URL": "https://desk.example.com/"},
            "https://desk.example.com",
            "localhost",
        ),
    ],
)
def test_in_development_site_url_follows_make_runs_host_and_port(environment, site_url, allowed):
    """`make run HOST=... PORT=...`: the demo's emails link to the server it started."""
    found = settings_from(["SITE_URL", "ALLOWED_HOSTS"], DEBUG="true", **environment)

    assert found["SITE_URL"] == site_url
    assert allowed in found["ALLOWED_HOSTS"]


def test_in_production_site_url_does_not_follow_a_port_variable():
    found = settings_from(["SITE_URL"], **PRODUCTION, PORT="9999", HOST="10.0.0.1")

    assert found["SITE_URL"] == "http://127.0.0.1:8000"


def test_make_run_passes_host_and_port_on():
    result = subprocess.run(  # noqa: S603 (a fixed argument list, no shell)
        [shutil.which("make"), "-n", "run", "HOST=0.0.0.0", "PORT=8123"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "runserver 0.0.0.0:8123" in result.stdout
    make = (BASE_DIR / "Makefile").read_text()
    assert "run: export HOST := $(HOST)" in make and "run: export PORT := $(PORT)" in make


@pytest.mark.parametrize("value", [None, ""], ids=["missing", "empty"])
def test_debug_off_without_a_secret_key_fails_naming_it(value):
    environment = {**PRODUCTION}
    if value is None:
        del environment["SECRET_KEY"]
    else:
        environment["SECRET_KEY"] = value

    result = manage("check", **environment)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in last_error_line(result)


@pytest.mark.parametrize("value", [None, "", " , "], ids=["missing", "empty", "only-commas"])
def test_debug_off_without_allowed_hosts_fails_naming_it(value):
    environment = {**PRODUCTION}
    if value is None:
        del environment["ALLOWED_HOSTS"]
    else:
        environment["ALLOWED_HOSTS"] = value

    result = manage("check", **environment)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "ALLOWED_HOSTS" in last_error_line(result)


def test_debug_off_serves_static_files_with_whitenoise_and_secure_cookies():
    seen = settings_from(
        ["MIDDLEWARE", "STORAGES", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"], **PRODUCTION
    )

    middleware = seen["MIDDLEWARE"]
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in middleware
    # WhiteNoise must come right after SecurityMiddleware (whitenoise docs).
    assert middleware.index("whitenoise.middleware.WhiteNoiseMiddleware") == (
        middleware.index("django.middleware.security.SecurityMiddleware") + 1
    )
    assert seen["STORAGES"]["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    assert seen["SESSION_COOKIE_SECURE"] is True
    assert seen["CSRF_COOKIE_SECURE"] is True


def test_debug_on_does_not_use_whitenoise():
    seen = settings_from(["MIDDLEWARE"], DEBUG="true")

    assert "whitenoise.middleware.WhiteNoiseMiddleware" not in seen["MIDDLEWARE"]


def test_proxy_ssl_header_and_trusted_origins_come_from_the_environment():
    seen = settings_from(
        ["SECURE_PROXY_SSL_HEADER", "CSRF_TRUSTED_ORIGINS"],
        **PRODUCTION,
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        CSRF_TRUSTED_ORIGINS="https://help.example.com, https://support.example.com",
    )

    assert seen["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert seen["CSRF_TRUSTED_ORIGINS"] == [
        "https://help.example.com",
        "https://support.example.com",
    ]


def test_redis_url_puts_the_cache_axes_and_sessions_on_redis():
    seen = settings_from(
        ["CACHES", "AXES_HANDLER", "SESSION_ENGINE"], REDIS_URL="redis://127.0.0.1:6379/9"
    )

    cache = seen["CACHES"]["default"]
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["LOCATION"] == "redis://127.0.0.1:6379/9"
    assert seen["AXES_HANDLER"] == "accounts.lockout.CacheHandler"
    # Sessions stay in the database (they survive a Redis restart), read through the cache.
    assert seen["SESSION_ENGINE"] == "django.contrib.sessions.backends.cached_db"


def test_without_redis_url_the_cache_is_local_and_axes_uses_the_database():
    seen = settings_from(["CACHES", "AXES_HANDLER", "SESSION_ENGINE"])

    assert seen["CACHES"]["default"]["BACKEND"] == ("django.core.cache.backends.locmem.LocMemCache")
    # axes' database handler (accounts/lockout.py), which every app server shares.
    assert seen["AXES_HANDLER"] == "accounts.lockout.DatabaseHandler"
    assert seen["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"


CELERY_SETTINGS = ["CELERY_TASK_ALWAYS_EAGER", "CELERY_BROKER_URL"]


def test_without_a_broker_tasks_run_eagerly_in_the_process():
    # `make run`: neither CELERY_BROKER_URL nor REDIS_URL. Tasks run in the web process, and
    # the producer they take is in-process, never a guessed AMQP server on localhost.
    seen = settings_from(CELERY_SETTINGS)

    assert seen == {"CELERY_TASK_ALWAYS_EAGER": True, "CELERY_BROKER_URL": "memory://"}


@pytest.mark.parametrize(
    ("environment", "broker"),
    [
        ({"REDIS_URL": "redis://127.0.0.1:6379/9"}, "redis://127.0.0.1:6379/9"),
        ({"CELERY_BROKER_URL": "redis://10.0.0.7:6379/2"}, "redis://10.0.0.7:6379/2"),
        (
            {"REDIS_URL": "redis://127.0.0.1:6379/9", "CELERY_BROKER_URL": "redis://b:6379/1"},
            "redis://b:6379/1",
        ),
    ],
)
def test_with_a_broker_tasks_go_to_the_workers(environment, broker):
    seen = settings_from(CELERY_SETTINGS, **environment)

    assert seen == {"CELERY_TASK_ALWAYS_EAGER": False, "CELERY_BROKER_URL": broker}


def test_the_trusted_proxies_come_from_the_environment_and_a_bad_one_stops_start_up():
    seen = settings_from(["FORWARDED_ALLOW_IPS"], FORWARDED_ALLOW_IPS="10.0.0.5, 10.1.0.0/16")
    assert seen["FORWARDED_ALLOW_IPS"] == ["10.0.0.5", "10.1.0.0/16"]
    assert settings_from(["FORWARDED_ALLOW_IPS"])["FORWARDED_ALLOW_IPS"] == ["127.0.0.1", "::1"]

    result = manage("check", FORWARDED_ALLOW_IPS="10.0.0.5,the-proxy")

    assert result.returncode != 0
    assert "FORWARDED_ALLOW_IPS: 'the-proxy' is not an address" in last_error_line(result)


def test_email_confirmation_and_its_limits_come_from_the_environment():
    names = [
        "REGISTRATION_EMAIL_VERIFICATION",
        "ACCOUNT_EMAILS_PER_ADDRESS",
        "ACCOUNT_REQUESTS_PER_CLIENT",
    ]
    assert settings_from(names) == {
        "REGISTRATION_EMAIL_VERIFICATION": "mandatory",
        "ACCOUNT_EMAILS_PER_ADDRESS": 3,
        "ACCOUNT_REQUESTS_PER_CLIENT": 20,
    }
    seen = settings_from(
        names,
        REGISTRATION_EMAIL_VERIFICATION="Optional",
        ACCOUNT_EMAILS_PER_ADDRESS="5",
        ACCOUNT_REQUESTS_PER_CLIENT="100",
    )
    assert list(seen.values()) == ["optional", 5, 100]

    result = manage("check", REGISTRATION_EMAIL_VERIFICATION="sometimes")

    assert result.returncode != 0
    assert "REGISTRATION_EMAIL_VERIFICATION must be mandatory or optional" in last_error_line(
        result
    )


def test_session_idle_timeout_comes_from_the_environment():
    assert settings_from(["SESSION_COOKIE_AGE"], SESSION_IDLE_TIMEOUT="900") == {
        "SESSION_COOKIE_AGE": 900
    }
    assert settings_from(["SESSION_COOKIE_AGE"])["SESSION_COOKIE_AGE"] == 8 * 60 * 60


def test_database_connections_are_kept_and_checked_unless_told_otherwise():
    kept = settings_from(["DATABASES"])["DATABASES"]["default"]
    assert (kept["CONN_MAX_AGE"], kept["CONN_HEALTH_CHECKS"]) == (60, True)
    per_request = settings_from(["DATABASES"], DB_CONN_MAX_AGE="0")["DATABASES"]["default"]
    assert per_request["CONN_MAX_AGE"] == 0


# --- Health check -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_says_ok_anonymously_without_cookies_or_personal_data(client, customer):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["database"] == "ok"
    assert body["cache"] == "ok"
    assert body["status"] == "ok"
    assert not response.cookies
    text = response.content.decode()
    assert customer.username not in text
    assert "@" not in text
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_does_not_answer(client, caplog):
    def database_down(execute, sql, params, many, context):
        if sql.strip().upper() == "SELECT 1":
            raise OperationalError("connection refused (test double of the database)")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(database_down):
        response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "error"
    assert body["cache"] == "ok"
    assert body["status"] == "error"
    # The reason is logged for the operator, not shown to the caller.
    assert "connection refused" not in response.content.decode()
    assert any(
        record.levelno == logging.ERROR and "database does not answer" in record.getMessage()
        for record in caplog.records
    )


@pytest.mark.django_db
def test_healthz_says_there_is_no_broker_when_tasks_run_in_the_web_process(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True

    assert client.get("/healthz").json()["broker"] == "none"


@pytest.mark.django_db
def test_healthz_reports_a_broker_that_does_not_answer_as_degraded_not_down(
    client, settings, caplog
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"

    response = client.get("/healthz")

    # Pages still work and mail waits in the outbox: the load balancer keeps the server.
    assert response.status_code == 200
    assert response.json() == {
        "database": "ok",
        "cache": "ok",
        "broker": "error",
        "status": "degraded",
    }
    assert any("broker does not answer" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db
def test_healthz_says_ok_when_the_broker_answers(client, settings):
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 6379)) != 0:
            pytest.skip("needs Redis at 127.0.0.1:6379 (nothing answers there)")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["broker"] == "ok"
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
def test_healthz_rejects_post(client):
    response = client.post("/healthz")

    assert response.status_code == 405


@pytest.mark.django_db
def test_healthz_is_not_redirected_to_https_while_pages_are(client, settings):
    # A load balancer probes over plain HTTP; pages still go to HTTPS.
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    page = client.get("/accounts/login/")
    assert page.status_code == 301
    assert page["Location"].startswith("https://")


@pytest.mark.django_db
def test_a_host_refused_by_the_https_redirect_still_gets_the_protective_headers(settings):
    """With SECURE_SSL_REDIRECT the host is read (and refused) by SecurityMiddleware itself,
    the first middleware that looks at a request."""
    settings.SECURE_SSL_REDIRECT = True
    client = Client(raise_request_exception=False)

    response = client.get("/accounts/login/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


# --- Request log and security log ----------------------------------------------------------------


def request_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "helpdesk.requests"]


@pytest.mark.django_db
def test_each_request_is_logged_once_with_method_path_status_duration_and_user(
    client, customer, login, caplog
):
    login(customer)
    caplog.set_level(logging.DEBUG)

    response = client.get("/tickets/?status=all&token=query-string-secret-4411")

    assert response.status_code == 200
    [record] = request_records(caplog)
    assert record.method == "GET"
    assert record.path == "/tickets/"
    assert record.status == 200
    assert record.user_id == customer.pk
    assert isinstance(record.duration_ms, float)
    assert re.fullmatch(rf"GET /tickets/ 200 \d+\.\dms user={customer.pk}", record.getMessage()), (
        record.getMessage()
    )
    assert "query-string-secret-4411" not in caplog.text
    assert "status=all" not in caplog.text


@pytest.mark.django_db
def test_anonymous_requests_are_logged_without_a_user_id(client, caplog):
    caplog.set_level(logging.INFO)

    client.get("/accounts/login/")

    [record] = request_records(caplog)
    assert record.user_id == "-"
    assert record.getMessage().endswith("user=-")


@pytest.mark.django_db
def test_login_is_logged_without_the_password(client, customer, caplog):
    customer.set_password(SECRET)
    customer.save()
    caplog.set_level(logging.DEBUG)

    response = client.post("/accounts/login/", {"username": customer.username, "password": SECRET})

    assert response.status_code == 302
    [record] = request_records(caplog)
    assert (record.method, record.path, record.status) == ("POST", "/accounts/login/", 302)
    # The request that signs in is already the user's.
    assert record.user_id == customer.pk
    auth = [r for r in caplog.records if r.name == "helpdesk.auth"]
    assert [r.getMessage().split(" from ")[0] for r in auth] == [f"login user={customer.pk}"]
    assert SECRET not in caplog.text


@pytest.mark.django_db
def test_failed_login_is_logged_with_the_username_but_not_the_password(client, customer, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-password-that-must-not-be-logged"

    response = client.post("/accounts/login/", {"username": customer.username, "password": wrong})

    assert response.status_code == 400
    [failure] = [r for r in caplog.records if r.name == "helpdesk.auth"]
    assert failure.levelno == logging.WARNING
    assert "failed login" in failure.getMessage()
    assert customer.username in failure.getMessage()
    assert wrong not in caplog.text
    [record] = request_records(caplog)
    assert (record.status, record.user_id) == (400, "-")


@pytest.mark.django_db
def test_request_bodies_are_not_logged(client, customer, ticket, login, caplog):
    login(customer)
    caplog.set_level(logging.DEBUG)
    content = "reply-body-that-must-not-be-logged-5521"

    page = client.get(f"/tickets/{ticket.pk}/")
    token = page.context["reply_form"].initial["client_token"]
    response = client.post(
        f"/tickets/{ticket.pk}/reply/", {"content": content, "client_token": token}
    )

    assert response.status_code == 302
    assert ticket.messages.filter(content=content).exists()
    assert [(r.method, r.status) for r in request_records(caplog)] == [
        ("GET", 200),
        ("POST", 302),
    ]
    assert content not in caplog.text


@pytest.mark.django_db
def test_refused_ticket_access_is_logged(
    client, customer, other_customer, make_ticket, login, caplog
):
    ticket = make_ticket(customer)
    login(other_customer)
    caplog.set_level(logging.INFO)

    response = client.get(f"/tickets/{ticket.pk}/")

    assert response.status_code == 404
    [refusal] = [r for r in caplog.records if r.name == "helpdesk.access"]
    assert f"ticket {ticket.pk}" in refusal.getMessage()
    assert f"user={other_customer.pk}" in refusal.getMessage()
    [record] = request_records(caplog)
    assert (record.status, record.user_id) == (404, other_customer.pk)


def log_lines(caplog) -> list[str]:
    """The captured records as the site's stdout handler writes them (its formatter)."""
    [handler] = [h for h in logging.getLogger().handlers if h.get_name() == "stdout"]
    return [handler.format(record) for record in caplog.records]


@pytest.mark.django_db
def test_a_password_reset_link_is_logged_without_its_token(
    client, customer, caplog, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # sent through the outbox
        client.post("/accounts/password_reset/", {"email": customer.email})
    [link] = re.findall(r"https?://testserver(/accounts/reset/\S+/)", mailoutbox[0].body)
    uidb64, token = link.split("/")[3:5]
    caplog.clear()
    caplog.set_level(logging.INFO)

    opened = client.get(link)
    form = client.get(opened["Location"])
    # A mail program that adds a character to the link: nothing answers it, and the token that
    # is still in it is not logged either.
    mangled = client.get(f"{link}.")
    refused = Client(enforce_csrf_checks=True).post(link, {"new_password1": "x"})

    assert (opened.status_code, form.status_code, mangled.status_code) == (302, 200, 404)
    assert refused.status_code == 403  # its "CSRF check failed" line names the route too
    paths = [record.path for record in request_records(caplog)]
    assert paths == [
        "/accounts/reset/<uidb64>/<token>/",
        "/accounts/reset/<uidb64>/<token>/",
        "/accounts/reset/…",
        "/accounts/reset/<uidb64>/<token>/",
    ]
    lines = log_lines(caplog)
    assert any("CSRF check failed for POST /accounts/reset/<uidb64>/<token>/" in x for x in lines)
    # Django's own record of the refusal names the path as the request log does.
    assert any("django.security.csrf Forbidden" in line for line in lines)
    for line in lines:
        assert token not in line
        assert f"/{uidb64}/" not in line


@pytest.mark.django_db
def test_paths_with_ids_are_logged_as_they_are(client, customer, ticket, login, caplog):
    login(customer)
    caplog.set_level(logging.INFO)

    client.get(f"/tickets/{ticket.pk}/")
    client.get("/no-such-page/")

    assert [record.path for record in request_records(caplog)] == [
        f"/tickets/{ticket.pk}/",
        "/no-such-page/",
    ]


FORGED = "2026-12-04 10:00:00,000 INFO helpdesk.auth login user=6 from 10.0.0.1"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sent", "logged"),
    [
        ("/nope%0A" + FORGED.replace(" ", "%20"), "/nope\\n" + FORGED),
        ("/nope%0D%0A" + FORGED.replace(" ", "%20"), "/nope\\r\\n" + FORGED),
        ("/nope%1B%5B2K%0D", "/nope\\x1b[2K\\r"),
        ("/nope%C2%85%E2%80%A8x", "/nope\\x85\\u2028x"),  # NEL, LINE SEPARATOR
        ("/nope%E2%80%AEtxt.exe", "/nope\\u202etxt.exe"),  # RIGHT-TO-LEFT OVERRIDE
        ("/nope%5Cn", "/nope\\\\n"),  # a typed backslash stays told apart from an escape
    ],
)
def test_control_characters_in_a_path_cannot_forge_a_log_line(client, caplog, sent, logged):
    caplog.set_level(logging.INFO)

    assert client.get(sent).status_code == 404

    [line] = [line for line in log_lines(caplog) if "helpdesk.requests" in line]
    assert "\n" not in line and "\r" not in line
    assert line.isprintable(), line
    assert f"helpdesk.requests GET {logged} 404 " in line


@pytest.mark.django_db
def test_a_username_with_a_line_break_cannot_forge_a_log_line(client, caplog):
    caplog.set_level(logging.INFO)

    client.post("/accounts/login/", {"username": f"ghost\n{FORGED}", "password": "x"})

    lines = log_lines(caplog)
    assert lines
    for line in lines:
        assert "\n" not in line and line.isprintable(), line
    assert not any(line.startswith(FORGED) for line in "\n".join(lines).splitlines())


def test_a_traceback_is_indented_under_its_line_and_escaped():
    [handler] = [h for h in logging.getLogger().handlers if h.get_name() == "stdout"]
    try:
        raise ValueError(f"bad input\n{FORGED}\x1b[2K")
    except ValueError:
        record = logging.getLogger("django.request").makeRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error: %s",
            ("/x\ny",),
            sys.exc_info(),
        )

    first, *rest = handler.format(record).split("\n")

    assert first.endswith("ERROR django.request Internal Server Error: /x\\ny")
    assert rest and all(line.startswith("    ") and line.isprintable() for line in rest), rest
    assert any(FORGED in line and "\\x1b[2K" in line for line in rest)


# --- Error pages (pytest-django runs with DEBUG off) ---------------------------------------------


def assert_no_debug_output(text: str) -> None:
    for leak in (
        "Traceback",
        "Django Version",
        "Using the URLconf",
        "Exception Value",
        "settings.py",
    ):
        assert leak not in text


@pytest.mark.django_db
def test_missing_page_shows_our_404_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    text = response.content.decode()
    assert "Not found" in text
    assert "Back to the help desk" in text
    assert_no_debug_output(text)


@pytest.mark.django_db
def test_someone_elses_ticket_shows_the_same_404_page(
    client, customer, other_customer, login, make_ticket
):
    ticket = make_ticket(customer, title="Private matter of the customer")
    login(other_customer)

    response = client.get(f"/tickets/{ticket.pk}/")

    assert response.status_code == 404
    text = response.content.decode()
    assert "Not found" in text
    assert "Private matter" not in text


@pytest.mark.django_db
def test_forbidden_action_shows_our_403_page(client, agent, login):
    login(agent)

    # Agents may not add tickets in the admin (tickets come from the help desk's own page).
    response = client.get("/admin/tickets/ticket/add/")

    assert response.status_code == 403
    text = response.content.decode()
    assert "You may not do that" in text
    assert_no_debug_output(text)


@pytest.mark.django_db
def test_csrf_failure_shows_the_form_expired_page(customer, caplog):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/accounts/login/", {"username": customer.username, "password": "x"})

    assert response.status_code == 403
    text = response.content.decode()
    assert "This form has expired" in text
    assert "CSRF verification failed" not in text
    assert "_auth_user_id" not in client.session
    assert any("CSRF check failed" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_server_error_shows_our_500_page_without_a_stack_trace(settings, caplog):
    settings.ROOT_URLCONF = "tests.urls_boom"
    client = Client(raise_request_exception=False)

    response = client.get("/boom/")

    assert response.status_code == 500
    text = response.content.decode()
    assert "Something went wrong on our side" in text
    assert_no_debug_output(text)
    assert "RuntimeError" not in text
    assert "deliberate failure" not in text
    [record] = request_records(caplog)
    assert (record.status, record.levelno) == (500, logging.ERROR)


# --- Content Security Policy ---------------------------------------------------------------------


def csp_directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


class ScriptFinder(HTMLParser):
    """Collects <script> tags, inline event handlers and javascript: links of a page."""

    def __init__(self):
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []
        self.javascript_urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.javascript_urls.append(f"<{tag} {name}={value}>")


def assert_csp_safe_page(response) -> ScriptFinder:
    assert response.status_code == 200
    directives = csp_directives(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    finder = ScriptFinder()
    finder.feed(response.content.decode())
    inline = [
        attributes
        for attributes in finder.scripts
        if not attributes.get("src") and attributes.get("type") != "application/json"
    ]
    assert inline == [], "inline scripts are blocked by the CSP"
    assert finder.handlers == [], "inline event handlers are blocked by the CSP"
    assert finder.javascript_urls == [], "javascript: URLs are blocked by the CSP"
    assert any(attributes.get("src") for attributes in finder.scripts)
    return finder


@pytest.mark.django_db
def test_login_page_has_a_strict_csp_and_no_inline_script(client):
    assert_csp_safe_page(client.get("/accounts/login/"))


@pytest.mark.django_db
def test_customer_pages_have_a_strict_csp_and_no_inline_script(
    client, customer, agent, login, make_ticket, make_message
):
    ticket = make_ticket(customer)
    make_message(ticket, agent, "We are on it.")
    login(customer)

    for url in ("/tickets/", f"/tickets/{ticket.pk}/", "/tickets/new/", "/accounts/profile/"):
        assert_csp_safe_page(client.get(url))


@pytest.mark.django_db
def test_staff_pages_have_a_strict_csp_and_no_inline_script(
    client, customer, agent, login, make_ticket, make_message
):
    ticket = make_ticket(customer)
    make_message(ticket, agent, "Internal: check the toner.", is_internal=True)
    login(agent)

    for url in ("/tickets/", f"/tickets/{ticket.pk}/"):
        assert_csp_safe_page(client.get(url))


@pytest.mark.django_db
def test_reports_page_has_a_strict_csp_and_only_json_script_blocks(
    client, customer, agent, login, make_ticket, make_message
):
    make_message(make_ticket(customer), agent, "On it.")
    login(agent)

    finder = assert_csp_safe_page(client.get("/reports/"))

    # The figures reach the page as data, for the one static script to draw.
    assert any(attributes.get("type") == "application/json" for attributes in finder.scripts)


# --- Private pages are never kept by a browser or a proxy cache ---------------------------------


def cache_directives(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


@pytest.mark.django_db
def test_pages_for_a_signed_in_person_are_private_and_not_stored(
    client, customer, agent, login, make_ticket, make_message
):
    ticket = make_ticket(customer)
    make_message(ticket, agent, "We are on it.")
    pages = {
        customer: ["/tickets/", f"/tickets/{ticket.pk}/", "/tickets/new/", "/accounts/profile/"],
        agent: [
            "/tickets/?assignee=me",
            f"/tickets/{ticket.pk}/",
            "/reports/",
            "/reports/export.csv",
            "/reports/data.json",
            "/admin/tickets/ticket/",
        ],
    }
    for user, urls in pages.items():
        login(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            assert {"private", "no-store"} <= cache_directives(response), (url, response.headers)
        # A refusal shows a person's page too (their name in the menu).
        response = client.get("/tickets/999999/")
        assert response.status_code == 404
        assert {"private", "no-store"} <= cache_directives(response)


# --- Sessions ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_session_cookie_is_httponly_and_sessions_are_stored_where_every_server_sees_them(
    client, customer
):
    customer.set_password(SECRET)
    customer.save()

    response = client.post("/accounts/login/", {"username": customer.username, "password": SECRET})

    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert settings.SESSION_ENGINE in {
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cached_db",
    }


@pytest.mark.django_db
def test_using_the_site_pushes_the_session_expiry_back(client, customer):
    customer.set_password(SECRET)
    customer.save()
    client.post("/accounts/login/", {"username": customer.username, "password": SECRET})
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    session = client.session
    # Login stamped the session; pretend that was two minutes ago and the expiry is near.
    assert abs(session["_refreshed_at"] - time.time()) < 30
    session["_refreshed_at"] = int(time.time()) - 120
    session.save()
    near = timezone.now() + timedelta(seconds=100)
    Session.objects.filter(session_key=key).update(expire_date=near)

    before = timezone.now()
    response = client.get("/tickets/")

    assert response.status_code == 200
    expiry = Session.objects.get(session_key=key).expire_date
    assert expiry >= before + timedelta(seconds=settings.SESSION_COOKIE_AGE - 5)
    assert client.session["_refreshed_at"] >= int(before.timestamp())


@pytest.mark.django_db
def test_a_recently_refreshed_session_is_not_saved_on_every_request(client, customer):
    customer.set_password(SECRET)
    customer.save()
    client.post("/accounts/login/", {"username": customer.username, "password": SECRET})
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    near = timezone.now() + timedelta(seconds=100)
    Session.objects.filter(session_key=key).update(expire_date=near)

    response = client.get("/tickets/")

    assert response.status_code == 200
    # Stamped at login, less than a minute ago: no write, the expiry stays where it was.
    assert Session.objects.get(session_key=key).expire_date == near
