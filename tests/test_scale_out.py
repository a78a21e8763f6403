"""Two app servers behind one address share sessions, data and login lock-outs.

Production runs more than one gunicorn server behind a load balancer, and any request may land
on any of them. This starts two real gunicorn servers (DEBUG off, whitenoise, PostgreSQL, Redis)
on two ports of 127.0.0.1 and drives them with one cookie jar: browsers do not tell cookies apart
by port, so every request carries the same session, exactly as behind a load balancer. A user
signs in and opens a ticket on server A, then reads and answers it on server B; an agent answers
through B and the user reads the answer through A. Attachments are in S3-compatible object
storage (SeaweedFS on loopback, tests/seaweedfs.py): a screenshot sent with a reply through
server A downloads through server B, and neither server keeps a file of its own.

It needs PostgreSQL at 127.0.0.1:5432 (a temporary database is created and dropped; the URL of
the database to connect to for that is SCALE_OUT_POSTGRES_URL, default
postgres://postgres@127.0.0.1:5432/postgres) and Redis at 127.0.0.1:6379 (one empty database
among 10-15, flushed afterwards); without them it is skipped. It ignores DATABASE_URL and
REDIS_URL, so it runs the same in the SQLite and the PostgreSQL test runs. To run it alone:

    .venv/bin/python -m pytest tests/test_scale_out.py -v -rs
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import ExitStack
from html.parser import HTMLParser
from pathlib import Path

import pytest

from accounts.models import User
from messaging.models import Message
from messaging.sample_files import error_dialog_png
from tickets.demo import DEMO_USERS
from tickets.models import Ticket

from .seaweedfs import seaweedfs
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

PASSWORDS = {username: password for username, _email, password, _role in DEMO_USERS}


# --- A small browser: one cookie jar, no automatic redirects, form fields from the HTML ----------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the test looks at the 302 itself


class _FormFields(HTMLParser):
    """Every <input>'s name and value (the first of each name) and <select>s' first options."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and attributes.get("name"):
            self.fields.setdefault(attributes["name"], attributes.get("value") or "")


def form_fields(html: str) -> dict[str, str]:
    parser = _FormFields()
    parser.feed(html)
    return parser.fields


class Browser:
    def __init__(self, jar: http.cookiejar.CookieJar):
        self.jar = jar
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), _NoRedirect
        )

    def request(
        self, url: str, data: dict | None = None, files: dict[str, tuple[str, bytes]] | None = None
    ) -> tuple[int, dict, str]:
        status, headers, body = self.fetch(url, data, files)
        return status, headers, body.decode(errors="replace")

    def fetch(
        self, url: str, data: dict | None = None, files: dict[str, tuple[str, bytes]] | None = None
    ) -> tuple[int, dict, bytes]:
        """GET, or POST `data` (urlencoded; multipart with `files`: field -> (name, bytes))."""
        request = urllib.request.Request(url)  # noqa: S310 (loopback, the test's own servers)
        if files:
            boundary = secrets.token_hex(16)
            parts = [
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
                for name, value in (data or {}).items()
            ]
            for field_name, (filename, content) in files.items():
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; '
                    f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                    + content
                    + b"\r\n"
                )
            request.data = b"".join(parts) + f"--{boundary}--\r\n".encode()
            request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
        elif data is not None:
            request.data = urllib.parse.urlencode(data).encode()
        try:
            with self.opener.open(request, timeout=20) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, dict(exc.headers), exc.read()

    def log_in(self, server: str, username: str) -> None:
        status, _headers, page = self.request(f"{server}/accounts/login/")
        assert status == 200, page
        assert any(cookie.name == "csrftoken" for cookie in self.jar)
        status, headers, page = self.request(
            f"{server}/accounts/login/",
            {
                "username": username,
                "password": PASSWORDS[username],
                "csrfmiddlewaretoken": form_fields(page)["csrfmiddlewaretoken"],
            },
        )
        assert status == 302, page
        assert headers["Location"] == "/tickets/"
        assert any(cookie.name == "sessionid" for cookie in self.jar)

    def reply(
        self,
        server: str,
        ticket_id: int,
        content: str,
        files: dict[str, tuple[str, bytes]] | None = None,
    ) -> None:
        status, _headers, page = self.request(f"{server}/tickets/{ticket_id}/")
        assert status == 200, page
        fields = form_fields(page)
        status, headers, page = self.request(
            f"{server}/tickets/{ticket_id}/reply/",
            {
                "content": content,
                "client_token": fields["client_token"],
                "csrfmiddlewaretoken": fields["csrfmiddlewaretoken"],
            },
            files,
        )
        assert status == 302, page
        assert headers["Location"] == f"/tickets/{ticket_id}/"


def _ticket_messages(database_url: str, ticket_id: int) -> list[tuple[str, str]]:
    import psycopg

    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            f"SELECT u.username, m.content FROM {Message._meta.db_table} m "  # noqa: S608
            f"JOIN {User._meta.db_table} u ON u.id = m.sender_id "
            f"JOIN {Ticket._meta.db_table} t ON t.id = m.ticket_id "
            "WHERE t.id = %s ORDER BY m.created_at, m.id",
            [ticket_id],
        ).fetchall()
    return [tuple(row) for row in rows]


def _count_rows(database_url: str, table: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as connection:
        return connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608


@pytest.fixture
def object_storage(tmp_path_factory):
    """SeaweedFS on loopback: the S3 server both app servers keep attachments in."""
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


def test_two_servers_share_sessions_tickets_and_lockouts(
    temporary_postgres_database, redis_db, object_storage, tmp_path
):
    started = time.monotonic()
    redis_client, redis_number = redis_db
    prefix = f"scaleout-{secrets.token_hex(4)}"
    env = server_environment(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(48)[:50],
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        DATABASE_URL=temporary_postgres_database,
        REDIS_URL=f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_number}",
        CACHE_KEY_PREFIX=prefix,
        STATIC_ROOT=str(tmp_path / "static"),
        WEB_CONCURRENCY="2",
        AXES_FAILURE_LIMIT="2",
        ATTACHMENT_STORAGE_URL=object_storage.storage_url,
        # Where a server would keep files if it did not use S3: nothing may land there.
        ATTACHMENT_ROOT=str(tmp_path / "local-attachments"),
    )
    run(["manage.py", "migrate", "--no-input", "-v0"], env)
    run(["manage.py", "seed_demo", "--quiet-logins"], env)
    run(["manage.py", "collectstatic", "--no-input", "-v0"], env)
    prepared = time.monotonic()

    servers: dict[str, str] = {}
    processes: dict[str, subprocess.Popen] = {}
    logs: dict[str, Path] = {}
    health: dict[str, dict] = {}
    with ExitStack() as cleanup:
        for name in ("A", "B"):
            port = free_port()
            logs[name] = tmp_path / f"gunicorn-{name}.log"
            processes[name] = start_gunicorn(env, port, logs[name])
            cleanup.callback(stop, processes[name])
            servers[name] = f"http://127.0.0.1:{port}"
        for name in servers:
            health[name] = wait_until_healthy(servers[name], processes[name], logs[name])
        a, b = servers["A"], servers["B"]
        serving = time.monotonic()

        # One cookie jar for both servers: cookies do not depend on the port.
        alice = Browser(http.cookiejar.CookieJar())
        alice.log_in(a, "alice")

        status, _headers, page = alice.request(f"{a}/tickets/new/")
        assert status == 200, page
        fields = form_fields(page)
        title = f"Scale-out check {secrets.token_hex(3)}"
        status, headers, page = alice.request(
            f"{a}/tickets/new/",
            {
                "title": title,
                "description": "Opened on server A, answered on server B.",
                "priority": Ticket.Priority.HIGH,
                "client_token": fields["client_token"],
                "csrfmiddlewaretoken": fields["csrfmiddlewaretoken"],
            },
        )
        assert status == 302, page
        match = re.fullmatch(r"/tickets/(\d+)/", headers["Location"])
        assert match, headers["Location"]
        ticket_id = int(match[1])

        # Server B knows the session server A started, and the ticket A stored.
        status, _headers, page = alice.request(f"{b}/tickets/{ticket_id}/")
        assert status == 200, page
        assert title in page
        alice_reply = "Written through server B with the session from server A."
        alice.reply(b, ticket_id, alice_reply)

        agent = Browser(http.cookiejar.CookieJar())
        agent.log_in(b, "agent")
        agent_reply = "Answered by the agent through server B."
        agent.reply(b, ticket_id, agent_reply)

        # A screenshot sent through server A downloads through server B (both use S3).
        screenshot = error_dialog_png()
        objects_before = object_storage.object_keys()
        alice.reply(a, ticket_id, "The screenshot.", {"files": ("screenshot.png", screenshot)})
        status, _headers, page = alice.request(f"{b}/tickets/{ticket_id}/")
        assert status == 200, page
        link = re.search(rf'href="(/tickets/{ticket_id}/files/\d+/screenshot\.png)"', page)
        assert link, "server B shows the file server A stored"
        status, headers, downloaded = agent.fetch(f"{b}{link[1]}")
        assert status == 200
        assert downloaded == screenshot
        assert headers["Content-Type"] == "image/png"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        new_objects = object_storage.object_keys() - objects_before
        assert len(new_objects) == 1 and next(iter(new_objects)).startswith("attachments/")
        assert not (tmp_path / "local-attachments").exists()

        status, _headers, page = alice.request(f"{a}/tickets/{ticket_id}/")
        assert status == 200, page
        assert agent_reply in page
        assert alice_reply in page

        # Failed logins counted on A lock the account on B too (axes' counts are in Redis).
        mallory = Browser(http.cookiejar.CookieJar())
        for _ in range(2):
            status, _headers, login_page = mallory.request(f"{a}/accounts/login/")
            status, _headers, page = mallory.request(
                f"{a}/accounts/login/",
                {
                    "username": "bob",
                    "password": "not-bobs-password",
                    "csrfmiddlewaretoken": form_fields(login_page)["csrfmiddlewaretoken"],
                },
            )
            assert status in (400, 429), page
        status, _headers, login_page = mallory.request(f"{b}/accounts/login/")
        status, _headers, page = mallory.request(
            f"{b}/accounts/login/",
            {
                "username": "bob",
                "password": PASSWORDS["bob"],
                "csrfmiddlewaretoken": form_fields(login_page)["csrfmiddlewaretoken"],
            },
        )
        assert status == 429, page
        assert not any(cookie.name == "sessionid" for cookie in mallory.jar)

        # Static files come from each server (whitenoise), under their hashed names.
        stylesheet = re.search(
            r'href="(/static/vendor/bootstrap/bootstrap\.min\.[0-9a-f]+\.css)"', login_page
        )
        assert stylesheet, "the page links the hashed stylesheet"
        status, headers, _css = alice.request(f"{b}{stylesheet[1]}")
        assert status == 200
        assert "immutable" in headers.get("Cache-Control", "")

        final_health = {
            name: Browser(http.cookiejar.CookieJar()).request(f"{url}/healthz")
            for name, url in servers.items()
        }
        flows_done = time.monotonic()
    # Leaving the block stopped both servers.
    assert all(process.poll() is not None for process in processes.values())

    for name in servers:
        # Redis is the broker too (REDIS_URL): the servers hand mail to it for a worker.
        assert health[name] == {
            "http_status": 200,
            "database": "ok",
            "cache": "ok",
            "broker": "ok",
            "status": "ok",
        }, name
        status, _headers, body = final_health[name]
        assert status == 200
        assert json.loads(body) == {"database": "ok", "cache": "ok", "broker": "ok", "status": "ok"}

    messages = _ticket_messages(temporary_postgres_database, ticket_id)
    assert ("alice", alice_reply) in messages
    assert ("agent", agent_reply) in messages

    # Sessions are read through the shared cache; each server logged its own requests to stdout.
    session_keys = redis_client.keys(f"{prefix}:*django.contrib.sessions.cached_db*")
    assert session_keys, "the sessions went through Redis"
    # The failed logins were counted in Redis (axes' cache handler), not in the database.
    assert redis_client.keys(f"{prefix}:*:axes-*"), "the lock-out counts went through Redis"
    assert _count_rows(temporary_postgres_database, "axes_accessattempt") == 0
    log_a, log_b = logs["A"].read_text(), logs["B"].read_text()
    assert "helpdesk.requests POST /tickets/new/ 302" in log_a
    assert f"helpdesk.requests POST /tickets/{ticket_id}/reply/ 302" in log_b
    # The one reply through A is the one with the file; its download went through B.
    assert log_a.count(f"POST /tickets/{ticket_id}/reply/") == 1
    assert f"GET /tickets/{ticket_id}/files/" in log_b
    assert f"GET /tickets/{ticket_id}/files/" not in log_a
    assert PASSWORDS["alice"] not in log_a + log_b

    print(
        f"\nscale-out: prepare {prepared - started:.1f}s, start servers "
        f"{serving - prepared:.1f}s, requests {flows_done - serving:.1f}s, total "
        f"{time.monotonic() - started:.1f}s"
    )
