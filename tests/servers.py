"""Real servers for the tests that need them: gunicorn processes with settings of their own.

The scale-out test (two servers, PostgreSQL and Redis) and the lock-out race (many logins at
once) start gunicorn the way `make serve` does, on free ports of 127.0.0.1, with an environment
that shares nothing with the test process's settings. The PostgreSQL and Redis they use come
from the fixtures in tests/conftest.py, which skip (saying why) where those do not answer.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("SCALE_OUT_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# Variables of the test process that must not leak into the servers' settings.
SETTINGS_VARIABLES = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "CACHE_KEY_PREFIX",
    "SESSION_IDLE_TIMEOUT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "STATIC_ROOT",
    "BIND",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "AXES_FAILURE_LIMIT",
    "FORWARDED_ALLOW_IPS",
    "REGISTRATION_EMAIL_VERIFICATION",
    "ACCOUNT_EMAILS_PER_ADDRESS",
    "ACCOUNT_REQUESTS_PER_CLIENT",
    "ATTACHMENT_ROOT",
    "ATTACHMENT_STORAGE_URL",
    "ATTACHMENT_REDIRECT",
    "DJANGO_SETTINGS_MODULE",
}
STARTUP_SECONDS = 30


def port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(**settings: str) -> dict[str, str]:
    """This process's environment without the variables that shape the settings, plus `settings`
    (and DJANGO_SETTINGS_MODULE back to the project's, unless given)."""
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARIABLES}
    env.update(DJANGO_SETTINGS_MODULE="helpdesk_site.settings", PYTHONUNBUFFERED="1")
    env.update(settings)
    return env


def run(args: list[str], env: dict[str, str]) -> None:
    """`python args...` in the project directory (manage.py commands); fails the test on error."""
    result = subprocess.run(  # noqa: S603 (a fixed argument list, no shell)
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


def start_gunicorn(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    """gunicorn with the project's gunicorn.conf.py on 127.0.0.1:`port`, its output to `log`."""
    with log.open("w") as log_file:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "gunicorn.conf.py",
                "helpdesk_site.wsgi:application",
            ],
            cwd=BASE_DIR,
            env={**env, "BIND": f"127.0.0.1:{port}"},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a stuck one can be killed
        )


def stop(process: subprocess.Popen) -> None:
    """Ask gunicorn to stop (SIGTERM, graceful); kill its process group if it does not."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=25)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_until_healthy(url: str, process: subprocess.Popen, log: Path) -> dict:
    deadline = time.monotonic() + STARTUP_SECONDS
    last_error = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
                return {"http_status": response.status, **json.loads(response.read())}
        except urllib.error.HTTPError as exc:
            return {"http_status": exc.code, **json.loads(exc.read())}
        except OSError as exc:  # not listening yet
            last_error = exc
            time.sleep(0.1)  # polling for start-up, not waiting for a result
    pytest.fail(
        f"{url} did not answer in {STARTUP_SECONDS}s ({last_error}):\n{log.read_text()[-3000:]}"
    )
