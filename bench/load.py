"""Load test: simulated customers and agents against a real gunicorn server on PostgreSQL.

    .venv/bin/python bench/load.py                       # 100,000 tickets, 20 users, 60 s
    .venv/bin/python bench/load.py --tickets 5000 --users 4 --duration 10 \\
        --database-url postgres://postgres@127.0.0.1:5432/helpdesk_load_small
    make load                                            # the first line; LOAD_ARGS="--users 4"

Every option is in --help. Needs PostgreSQL (the user of the URL may create databases); the
first run on a new database seeds it (about 2 minutes for 100,000 tickets on an idle machine).

What it does, in order:

1. Creates the PostgreSQL database of --database-url if it does not exist (default
   postgres://postgres@127.0.0.1:5432/helpdesk_load; the name must contain "load" unless
   --any-database is given, because the test writes replies into it), migrates it, tops it up to
   --tickets tickets with `seed_demo` (only when it has fewer; then ANALYZE) and collects the
   static files into bench/out/load-static/.
2. Starts gunicorn (gunicorn.conf.py, --workers workers, default 2) on a free port of 127.0.0.1 as
   `make serve` does, with DEBUG=false, a throwaway SECRET_KEY, ALLOWED_HOSTS=127.0.0.1,
   plain HTTP (SECURE_SSL_REDIRECT and the secure-cookie settings off), LOG_LEVEL=WARNING and
   the dummy email backend (emails are built but not printed). Its output goes to
   bench/out/load-<database>.log. REDIS_URL and the proxy, email and session settings of your
   environment are not passed on; DB_CONN_MAX_AGE and GUNICORN_* are. Waits for /healthz.
3. Logs --users users in through the login form (CSRF token from the page): a share of
   --agent-share agents (agent, erin), the rest customers (alice, bob, carol, then seeded
   customerNNNNNN accounts that have tickets), one session each, at most --workers logins at
   a time. The logins are timed but are not part of the timed phase.
4. For --duration seconds every user loops, with no think time unless --think is given (so N users
   keep up to N requests in flight: far heavier than N people), over weighted actions:
   list 35 (my tickets; now and then a filter, or the next page when there is one), ticket 35 (a
   ticket page: customers only their own tickets, agents any, half the time one from their last
   list page), reply 20 (POST of the reply form the user last opened, with its CSRF token and
   hidden one-time client_token, and a unique marker in the text; a ticket page is fetched first
   when the user has no unused form; agents write an internal note one time in five), and for
   agents report 10 (/reports/ for the last 30 days, sometimes 7). A share --double-submit of the
   replies is posted twice at the same time with the same form, as a double click would.
5. Stops: no new request starts after --duration; requests still running are cut off at the
   hard stop, --grace seconds later (counted as failures). Then gunicorn is stopped (also on
   Ctrl-C, SIGTERM or an error).
6. Prints a table per request kind and in total: count, requests per second over the timed
   phase (from the first request after the logins until the last user is done), p50/p95/p99
   latency in ms (of the requests that got an answer; measured in this process, so they include
   its own CPU share), failures and 500s, then the failure reasons. A failure is a connection
   error or timeout, a status other than the expected one (200 for pages; a 302 to the ticket
   for a reply and to /tickets/ for a login), or a redirect elsewhere (e.g. to the login page).
   Then the server log's errors (tracebacks, worker timeouts).
7. Verifies in the database that every reply answered with a success redirect is there exactly
   once, on its ticket, by its user; that no other reply is there more than once; and counts the
   failed or unanswered replies that were stored anyway.

Exit status: 0 when there were no failures, no 500s and no lost or duplicated reply; 1 otherwise;
2 when the set-up failed; 130 when interrupted.

Standard library only (threads, urllib with a cookie jar), plus the project itself (Django, for
migrate/seed/collectstatic and the checks, and psycopg to create the database).
"""

from __future__ import annotations

import argparse
import contextlib
import html
import http.client
import http.cookiejar
import math
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/helpdesk_load"
# The password seed_demo gives its bulk customers (tickets/demo.py, ensure_bulk_customers).
BULK_CUSTOMER_PASSWORD = "customer-demo-pass-2026"  # noqa: S105 - a demo login, not a secret
BULK_CUSTOMER = re.compile(r"^customer[0-9]{6}$")
KINDS = ["list", "ticket", "reply", "report"]
WEIGHTS = {"list": 35, "ticket": 35, "reply": 20, "report": 10}
# Settings of the caller's environment that must not reach the server (it runs plain HTTP on
# 127.0.0.1, with the in-process cache, and sends no email).
STRIPPED_VARIABLES = [
    "REDIS_URL",
    "CACHE_KEY_PREFIX",
    "SECURE_PROXY_SSL_HEADER",
    "CSRF_TRUSTED_ORIGINS",
    "EMAIL_HOST",
    "SESSION_IDLE_TIMEOUT",
    "SESSION_EXPIRE_AT_BROWSER_CLOSE",
    "AXES_FAILURE_LIMIT",
    "AXES_COOLOFF_MINUTES",
    "SITE_URL",
]


class SetupError(Exception):
    """The test could not be set up; the message says why."""


# --- Database and server --------------------------------------------------------------------


def database_name(url: str) -> str:
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SetupError(f"--database-url must name a database (letters, digits, _): {url}")
    return name


def ensure_database(url: str) -> None:
    """Create the database if it is missing (connecting to the server's `postgres` database)."""
    import psycopg
    from psycopg import sql

    name = database_name(url)
    admin_url = urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path="/postgres"))
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [name]
            ).fetchone()
            if not exists:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"Created the database {name}.")
    except psycopg.Error as exc:
        raise SetupError(f"cannot reach PostgreSQL at {admin_url}: {exc}") from None


def server_environment(args: argparse.Namespace) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in STRIPPED_VARIABLES}
    env.update(
        DJANGO_SETTINGS_MODULE="helpdesk_site.settings",
        DATABASE_URL=args.database_url,
        DEBUG="false",
        SECRET_KEY="load-test-only-" + secrets.token_urlsafe(40),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        LOG_LEVEL="WARNING",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        STATIC_ROOT=str(OUT / "load-static"),
        WEB_CONCURRENCY=str(args.workers),
        PYTHONUNBUFFERED="1",
    )
    return env


def prepare_database(tickets: int) -> None:
    """Migrate, top up to `tickets` tickets (only when there are fewer), collect static files."""
    from django.core.management import call_command
    from django.db import connection

    from tickets.models import Ticket

    call_command("migrate", verbosity=0, interactive=False)
    existing = Ticket.objects.count()
    if existing < tickets:
        print(f"Seeding: {existing} tickets, topping up to {tickets} (this takes a while)...")
        started = time.monotonic()
        call_command("seed_demo", tickets=tickets, quiet_logins=True)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"Seeded in {time.monotonic() - started:.0f} s.")
    else:
        print(f"The database has {existing} tickets (>= {tickets}): no seeding.")
    call_command("collectstatic", interactive=False, verbosity=0)


def free_port() -> int:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: gunicorn gets SIGTERM if this script dies without cleaning up (e.g. SIGKILL)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Server:
    """gunicorn as a subprocess, in its own session so a Ctrl-C reaches only this script."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "BIND": f"127.0.0.1:{self.port}"}
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._log = log
        # No control socket: its default path ($HOME/.gunicorn/gunicorn.ctl) is shared by every
        # gunicorn of this user, and each new server unlinks the last one's.
        command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"]
        command += ["--no-control-socket", "helpdesk_site.wsgi:application"]
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SetupError(
                    f"gunicorn exited with status {self.process.returncode}; "
                    f"its log:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.25)
        raise SetupError(f"/healthz did not answer 200 within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM (gunicorn's graceful stop, up to its graceful_timeout), then SIGKILL."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


# --- HTTP: one browser per user --------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a redirect is an answer to look at, as a test sees it


@dataclass
class Answer:
    status: int  # 0 when there was no HTTP answer
    location: str
    body: str
    seconds: float
    error: str = ""


INPUT_TAG = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
ATTRIBUTE = re.compile(r'([A-Za-z_:][-\w:.]*)\s*=\s*"([^"]*)"')
# The list links each ticket relatively ("123/" from /tickets/).
TICKET_LINK = re.compile(r'href="(\d+)/"')
NEXT_PAGE = re.compile(r'href="\?([^"]*page=\d+)">Next<')


def hidden_fields(page: str, action: str) -> dict[str, str] | None:
    """The hidden inputs of the form posting to `action`, or None when the page has none."""
    start = page.find(f'action="{action}"')
    if start < 0:
        return None
    end = page.find("</form>", start)
    fields: dict[str, str] = {}
    for tag in INPUT_TAG.findall(page, start, end if end > 0 else len(page)):
        attributes = dict(ATTRIBUTE.findall(tag))
        if attributes.get("type", "").lower() == "hidden" and attributes.get("name"):
            fields.setdefault(attributes["name"], html.unescape(attributes.get("value", "")))
    return fields


class Browser:
    def __init__(self, base_url: str, *, request_timeout: float, hard_stop: list[float]):
        self.base_url = base_url
        self.request_timeout = request_timeout
        self.hard_stop = hard_stop  # [monotonic time]; a list so the run can set it later
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect
        )

    def request(self, path: str, data: dict[str, str] | None = None) -> Answer:
        left = self.hard_stop[0] - time.monotonic()
        timeout = max(0.2, min(self.request_timeout, left))
        headers = {"User-Agent": "helpdesk-load-test"}
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            headers["Origin"] = self.base_url  # as a browser sends with a form POST
        request = urllib.request.Request(self.base_url + path, data=body, headers=headers)  # noqa: S310
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=timeout) as response:
                content = response.read()
                status, location = response.status, response.headers.get("Location", "")
        except urllib.error.HTTPError as exc:  # 3xx (no redirects followed), 4xx, 5xx
            with exc:
                try:
                    content = exc.read()
                except (OSError, http.client.HTTPException):
                    content = b""
                status, location = exc.code, exc.headers.get("Location", "")
        except (OSError, http.client.HTTPException) as exc:
            seconds = time.perf_counter() - started
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            name = type(reason).__name__ if not isinstance(reason, str) else reason
            if isinstance(reason, TimeoutError):
                cut = time.monotonic() >= self.hard_stop[0] - 0.5
                name = "cut off at the hard stop" if cut else f"timeout after {timeout:.0f} s"
            return Answer(0, "", "", seconds, error=name)
        seconds = time.perf_counter() - started
        return Answer(status, location, content.decode(errors="replace"), seconds)


# --- What happened ---------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    status: int
    seconds: float
    failure: str  # "" when the answer was the expected one


@dataclass
class PostedReply:
    marker: str
    ticket: int
    username: str
    internal: bool
    outcomes: list[str] = field(default_factory=list)  # "ok", or the failure, per POST


@dataclass
class Cast:
    """Who logs in, and the tickets they may open."""

    users: list[tuple[str, str, bool]]  # username, password, is_agent
    own_tickets: dict[str, list[int]]
    all_tickets: list[int]


def pick_cast(users: int, agent_share: float, rng: random.Random) -> Cast:
    from django.db.models import Count

    from tickets.demo import DEMO_USERS
    from tickets.models import Ticket

    agents = [(name, password) for name, _email, password, role in DEMO_USERS if role == "agent"]
    demo_customers = {
        name: password for name, _email, password, role in DEMO_USERS if role == "customer"
    }
    agent_count = min(users, max(1 if users > 1 else 0, round(users * agent_share)))
    customer_count = users - agent_count
    reporters = (
        Ticket.objects.filter(reporter__is_staff=False, reporter__is_active=True)
        .values_list("reporter__username")
        .annotate(tickets=Count("id"))
    )
    with_tickets = {username for username, _count in reporters}
    chosen = [name for name in demo_customers if name in with_tickets][:customer_count]
    bulk = sorted(name for name in with_tickets if BULK_CUSTOMER.match(name))
    chosen += rng.sample(bulk, min(len(bulk), customer_count - len(chosen)))
    if len(chosen) < customer_count:
        raise SetupError(
            f"{customer_count} customers with tickets are needed, the database has "
            f"{len(chosen)}: seed more tickets (--tickets) or use fewer --users."
        )
    own: dict[str, list[int]] = defaultdict(list)
    for username, pk in Ticket.objects.filter(reporter__username__in=chosen).values_list(
        "reporter__username", "pk"
    ):
        own[username].append(pk)
    cast_users = [
        (name, demo_customers.get(name, BULK_CUSTOMER_PASSWORD), False) for name in chosen
    ]
    cast_users += [(*agents[i % len(agents)], True) for i in range(agent_count)]
    rng.shuffle(cast_users)
    all_tickets = list(Ticket.objects.values_list("pk", flat=True))
    return Cast(users=cast_users, own_tickets=dict(own), all_tickets=all_tickets)


# --- A simulated user ------------------------------------------------------------------------


class VirtualUser(threading.Thread):
    def __init__(self, index: int, run: LoadRun, username: str, password: str, is_agent: bool):
        super().__init__(name=f"user-{index:02d}-{username}", daemon=True)
        self.index = index
        self.load = run
        self.username = username
        self.password = password
        self.is_agent = is_agent
        self.rng = random.Random(run.seed * 1000 + index)
        self.browser = Browser(
            run.base_url, request_timeout=run.request_timeout, hard_stop=run.hard_stop
        )
        self.samples: list[Sample] = []
        self.logged_in = False
        self.form: tuple[int, dict[str, str]] | None = None  # the last unused reply form
        self.seen: list[int] = []  # tickets on the last list page
        self.replies = 0
        kinds = KINDS if is_agent else [kind for kind in KINDS if kind != "report"]
        self.kinds = kinds
        self.weights = [WEIGHTS[kind] for kind in kinds]

    # Requests, recorded.

    def record(self, kind: str, answer: Answer, expected: int, location: str = "") -> str:
        """Note the answer; returns why it is a failure, or "" when it is the expected one."""
        if answer.error:
            failure = answer.error
        elif answer.status != expected:
            failure = f"HTTP {answer.status}"
            if 300 <= answer.status < 400:
                failure += f" to {answer.location.split('?')[0]}"
        elif location and answer.location != location:
            failure = f"redirect to {answer.location.split('?')[0]}"
        else:
            failure = ""
        # list.append is atomic: a double submit's twin thread records here too.
        self.samples.append(Sample(kind, answer.status, answer.seconds, failure))
        return failure

    def get(self, kind: str, path: str) -> Answer | None:
        answer = self.browser.request(path)
        return None if self.record(kind, answer, 200) else answer

    # The session.

    def log_in(self) -> bool:
        answer = self.browser.request("/accounts/login/")
        if self.record("login", answer, 200):
            return False
        fields = hidden_fields(answer.body, "/accounts/login/") or {}
        fields.update(username=self.username, password=self.password)
        answer = self.browser.request("/accounts/login/", fields)
        return not self.record("login", answer, 302, "/tickets/")

    def run(self) -> None:
        run = self.load
        try:
            # A few logins at a time: bcrypt is slow on purpose, and 20 at once would queue up
            # behind each other long enough to time out on a busy machine.
            with run.login_gate:
                self.logged_in = self.log_in()
        except Exception as exc:  # a bug here must not hang the run
            self.samples.append(Sample("login", 0, 0.0, f"crash: {exc!r}"))
        finally:
            run.logins_done.release()
        if not self.logged_in:
            return
        run.go.wait()
        try:
            while time.monotonic() < run.stop_at[0] and not run.abort.is_set():
                kind = self.rng.choices(self.kinds, self.weights)[0]
                getattr(self, f"do_{kind}")()
                if run.think:
                    time.sleep(self.rng.uniform(0, 2 * run.think))
        except Exception as exc:
            self.samples.append(Sample("crash", 0, 0.0, f"crash: {exc!r}"))

    # The actions.

    def do_list(self) -> None:
        query: dict[str, str] = {}
        if self.rng.random() < 0.3:
            choice = self.rng.random()
            if choice < 0.4:
                query["status"] = self.rng.choice(["open", "active", "closed", "all"])
            elif choice < 0.7 or not self.is_agent:
                query["priority"] = self.rng.choice(["low", "normal", "high", "urgent"])
            else:
                query["assignee"] = self.rng.choice(["me", "none"])
        path = "/tickets/" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        answer = self.get("list", path)
        if answer is None:
            return
        self.seen = [int(pk) for pk in TICKET_LINK.findall(answer.body)]
        following = NEXT_PAGE.search(answer.body)
        if following and self.rng.random() < 0.25:
            answer = self.get("list", "/tickets/?" + html.unescape(following.group(1)))
            if answer is not None:
                self.seen = [int(pk) for pk in TICKET_LINK.findall(answer.body)]

    def pick_ticket(self) -> int:
        if self.seen and self.rng.random() < 0.5:
            return self.rng.choice(self.seen)
        if self.is_agent:
            return self.rng.choice(self.load.cast.all_tickets)
        return self.rng.choice(self.load.cast.own_tickets[self.username])

    def do_ticket(self) -> None:
        pk = self.pick_ticket()
        answer = self.get("ticket", f"/tickets/{pk}/")
        if answer is None:
            return
        fields = hidden_fields(answer.body, f"/tickets/{pk}/reply/")
        if not fields or "client_token" not in fields or "csrfmiddlewaretoken" not in fields:
            self.samples[-1].failure = "no reply form on the ticket page"
            return
        self.form = (pk, fields)

    def do_reply(self) -> None:
        if self.form is None:
            self.do_ticket()
            if self.form is None or time.monotonic() >= self.load.stop_at[0]:
                return
        pk, fields = self.form
        self.form = None  # one use: the token makes a second POST a double submit
        self.replies += 1
        marker = f"lt-{self.load.run_id}-u{self.index:02d}-{self.replies:05d}"
        internal = self.is_agent and self.rng.random() < 0.2
        data = {**fields, "content": f"Load test reply {marker}; please ignore."}
        if internal:
            data["is_internal"] = "on"
        posted = PostedReply(marker, pk, self.username, internal)
        self.load.add_reply(posted)
        path, location = f"/tickets/{pk}/reply/", f"/tickets/{pk}/"

        def post() -> None:
            answer = self.browser.request(path, data)
            posted.outcomes.append(self.record("reply", answer, 302, location) or "ok")

        twin = None
        if self.rng.random() < self.load.double_submit:
            # The same form sent twice at once (a double click): one message must be stored.
            twin = threading.Thread(target=post, daemon=True)
            posted.outcomes.append("double submit")
            twin.start()
        post()
        if twin is not None:
            twin.join(max(0.0, self.load.hard_stop[0] - time.monotonic()))

    def do_report(self) -> None:
        preset = "30d" if self.rng.random() < 0.8 else "7d"
        self.get("report", f"/reports/?preset={preset}")


# --- The run ---------------------------------------------------------------------------------


class LoadRun:
    def __init__(self, args: argparse.Namespace, base_url: str, cast: Cast):
        self.base_url = base_url
        self.cast = cast
        self.seed = args.seed
        self.think = args.think
        self.double_submit = args.double_submit
        self.request_timeout = args.request_timeout
        self.duration = args.duration
        self.grace = args.grace
        self.run_id = f"{time.strftime('%H%M%S')}{secrets.token_hex(2)}"
        # Until the timed phase starts, the "hard stop" bounds the logins.
        self.stop_at = [time.monotonic() + args.login_timeout]
        self.hard_stop = [time.monotonic() + args.login_timeout]
        self.go = threading.Event()
        self.abort = threading.Event()
        self.logins_done = threading.Semaphore(0)
        self.login_gate = threading.Semaphore(max(2, args.workers))
        self.replies: list[PostedReply] = []
        self._replies_lock = threading.Lock()
        self.users = [
            VirtualUser(index, self, username, password, is_agent)
            for index, (username, password, is_agent) in enumerate(cast.users)
        ]
        self.elapsed = 0.0
        self.login_seconds = 0.0
        self.unfinished: list[str] = []

    def add_reply(self, posted: PostedReply) -> None:
        with self._replies_lock:
            self.replies.append(posted)

    def run(self) -> None:
        started = time.monotonic()
        for user in self.users:
            user.start()
        for _ in self.users:
            if not self.logins_done.acquire(timeout=max(0.0, self.hard_stop[0] - time.monotonic())):
                break
        self.login_seconds = time.monotonic() - started
        start = time.monotonic()
        self.stop_at[0] = start + self.duration
        self.hard_stop[0] = start + self.duration + self.grace
        self.go.set()
        try:
            for user in self.users:
                user.join(max(0.0, self.hard_stop[0] - time.monotonic()))
        except KeyboardInterrupt:
            # No new requests; give the ones under way a moment before the server goes.
            self.abort.set()
            settle = time.monotonic() + 3
            for user in self.users:
                user.join(max(0.0, settle - time.monotonic()))
            raise
        finally:
            self.elapsed = min(time.monotonic(), self.hard_stop[0]) - start
            self.unfinished = [user.name for user in self.users if user.is_alive()]

    def samples(self) -> list[Sample]:
        return [sample for user in self.users for sample in list(user.samples)]


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def table(samples: list[Sample], elapsed: float) -> str:
    header = (
        f"{'kind':<8} {'count':>7} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'failures':>8} {'500s':>5}"
    )
    lines = [header, "-" * len(header)]

    def row(name: str, rows: list[Sample], rate: bool = True) -> str:
        latencies = sorted(sample.seconds * 1000 for sample in rows if sample.status)
        failures = sum(1 for sample in rows if sample.failure)
        errors = sum(1 for sample in rows if sample.status == 500)
        per_second = f"{len(rows) / elapsed:7.1f}" if rate and elapsed > 0 else f"{'-':>7}"
        cells = [
            f"{percentile(latencies, share):8.0f}" if latencies else f"{'-':>8}"
            for share in (0.50, 0.95, 0.99)
        ]
        return f"{name:<8} {len(rows):>7} {per_second} {' '.join(cells)} {failures:>8} {errors:>5}"

    timed = [sample for sample in samples if sample.kind != "login"]
    for kind in KINDS:
        lines.append(row(kind, [sample for sample in timed if sample.kind == kind]))
    lines.append("-" * len(header))
    lines.append(row("total", timed))
    lines.append(row("login", [s for s in samples if s.kind == "login"], rate=False))
    others = [sample for sample in timed if sample.kind not in KINDS]
    if others:
        lines.append(row("other", others, rate=False))
    return "\n".join(lines)


def failure_reasons(samples: list[Sample]) -> list[str]:
    counts = Counter((sample.kind, sample.failure) for sample in samples if sample.failure)
    return [f"  {count:>5} x {kind}: {reason}" for (kind, reason), count in counts.most_common()]


def server_log_problems(path: Path) -> list[str]:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    patterns = ("Traceback", "WORKER TIMEOUT", "[CRITICAL]", "[ERROR]", " ERROR ", "Killed")
    counts = Counter(p for line in lines for p in patterns if p in line)
    found = [f"  {count:>5} x {pattern.strip('[] ')}" for pattern, count in counts.most_common()]
    first = [line for line in lines if any(p in line for p in patterns)][:5]
    return found + [f"  first: {line[:160]}" for line in first]


def verify(replies: list[PostedReply]) -> tuple[bool, list[str]]:
    """Every reply answered with a success redirect is stored exactly once, where it was sent."""
    from django.db import connection

    from messaging.models import Message

    if not replies:
        return True, ["No replies were posted."]
    prefix = replies[0].marker.rsplit("-", 2)[0] + "-"
    stored: dict[str, list[tuple[int, str, bool]]] = defaultdict(list)
    rows = Message.objects.filter(content__contains=prefix).values_list(
        "content", "ticket_id", "sender__username", "is_internal"
    )
    marker_in = re.compile(re.escape(prefix) + r"u\d+-\d+")
    for content, ticket, sender, internal in rows:
        found = marker_in.search(content)
        if found:
            stored[found.group(0)].append((ticket, sender, internal))
    connection.close()

    confirmed = [reply for reply in replies if "ok" in reply.outcomes]
    unconfirmed = [reply for reply in replies if "ok" not in reply.outcomes]
    lost = [reply for reply in confirmed if not stored.get(reply.marker)]
    duplicated = [reply for reply in replies if len(stored.get(reply.marker, [])) > 1]
    misplaced = [
        reply
        for reply in confirmed
        if len(stored.get(reply.marker, [])) == 1
        and stored[reply.marker][0] != (reply.ticket, reply.username, reply.internal)
    ]
    landed_anyway = [reply for reply in unconfirmed if stored.get(reply.marker)]
    strangers = sorted(set(stored) - {reply.marker for reply in replies})
    doubles = [reply for reply in replies if "double submit" in reply.outcomes]
    lines = [
        f"Replies posted: {len(replies)} ({len(doubles)} of them as a double submit), "
        f"confirmed by a redirect: {len(confirmed)}, stored: {len(stored)} distinct markers.",
        f"  confirmed and stored exactly once, on their ticket, by their user: "
        f"{len(confirmed) - len(lost) - len(misplaced) - len(duplicated)}",
        f"  LOST (confirmed, not stored): {len(lost)}",
        f"  DUPLICATED (stored more than once): {len(duplicated)}",
        f"  MISPLACED (other ticket, sender or kind): {len(misplaced)}",
        f"  not confirmed (failure or no answer): {len(unconfirmed)}, of which stored anyway: "
        f"{len(landed_anyway)}",
    ]
    if strangers:
        lines.append(f"  stored but never posted by this run: {len(strangers)}")
    for label, group in (("lost", lost), ("duplicated", duplicated), ("misplaced", misplaced)):
        for reply in group[:5]:
            lines.append(f"    {label}: {reply.marker} ticket {reply.ticket} by {reply.username}")
    ok = not (lost or duplicated or misplaced or strangers)
    return ok, lines


# --- Main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    class Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
        pass

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=Formatter)
    parser.add_argument(
        "--database-url", default=DEFAULT_DATABASE_URL, help="PostgreSQL; created if missing."
    )
    parser.add_argument("--any-database", action="store_true", help="Allow a name without 'load'.")
    parser.add_argument("--tickets", type=int, default=100_000, help="Seed up to this many.")
    parser.add_argument("--users", type=int, default=20, help="Simulated users, each a thread.")
    parser.add_argument("--duration", type=float, default=60, help="Seconds of load.")
    parser.add_argument("--agent-share", type=float, default=0.3, help="Share of agents.")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers.")
    parser.add_argument("--think", type=float, default=0, help="Mean pause between actions (s).")
    parser.add_argument("--double-submit", type=float, default=0.05, help="Share of replies.")
    parser.add_argument("--request-timeout", type=float, default=30, help="Seconds per request.")
    parser.add_argument("--grace", type=float, default=15, help="Seconds after --duration.")
    parser.add_argument("--login-timeout", type=float, default=120, help="Seconds for logins.")
    parser.add_argument("--seed", type=int, default=1, help="Random seed of the users' choices.")
    args = parser.parse_args(argv)
    if args.users < 1 or args.duration <= 0 or args.workers < 1 or args.tickets < 0:
        parser.error("--users and --workers must be 1 or more, --duration above 0.")
    if not 0 <= args.agent_share <= 1 or not 0 <= args.double_submit <= 1:
        parser.error("--agent-share and --double-submit are shares between 0 and 1.")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        name = database_name(args.database_url)
    except SetupError as exc:
        print(f"load: {exc}", file=sys.stderr)
        return 2
    if "load" not in name and not args.any_database:
        print(
            f"load: refusing to write replies into {name!r}: use a database whose name contains "
            "'load' (or pass --any-database).",
            file=sys.stderr,
        )
        return 2

    def stop_on_sigterm(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_sigterm)
    env = server_environment(args)
    os.environ.update(env)
    for variable in STRIPPED_VARIABLES:
        os.environ.pop(variable, None)

    server: Server | None = None
    load: LoadRun | None = None
    interrupted = False
    load_average = os.getloadavg()
    try:
        ensure_database(args.database_url)
        import django

        django.setup()
        from django.db import connection

        prepare_database(args.tickets)
        cast = pick_cast(args.users, args.agent_share, random.Random(args.seed))
        connection.close()
        server = Server(env, OUT / f"load-{name}.log")
        server.start()
        agents = sum(1 for _name, _password, is_agent in cast.users if is_agent)
        load_average = os.getloadavg()
        print(
            f"gunicorn ({args.workers} workers) on {server.url}, log {server.log_path}; "
            f"{args.users} users ({agents} agents, {args.users - agents} customers) for "
            f"{args.duration:.0f} s; load average before: {load_average[0]:.2f}"
        )
        load = LoadRun(args, server.url, cast)
        load.run()
    except SetupError as exc:
        print(f"load: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        interrupted = True
        print("\nInterrupted: stopping.", file=sys.stderr)
    finally:
        if load is not None:
            load.abort.set()
        if server is not None:
            server.stop()

    if load is None:
        return 130 if interrupted else 2
    samples = load.samples()
    print()
    print(
        f"Timed phase: {load.elapsed:.1f} s (logins before it: {load.login_seconds:.1f} s); "
        f"load average 1 min before/after: {load_average[0]:.2f}/{os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} cores"
    )
    print(table(samples, load.elapsed))
    reasons = failure_reasons(samples)
    if reasons:
        print("Failures:")
        print("\n".join(reasons))
    if load.unfinished:
        print(f"Users still in a request when the run ended: {', '.join(load.unfinished)}")
    problems = server_log_problems(server.log_path) if server else []
    if problems:
        print(f"Server log ({server.log_path}):")
        print("\n".join(problems))
    print()
    verified, lines = verify(load.replies)
    print("\n".join(lines))
    failed = any(sample.failure for sample in samples) or bool(load.unfinished)
    errors = any(sample.status == 500 for sample in samples)
    not_logged_in = sum(1 for user in load.users if not user.logged_in)
    if not_logged_in:
        print(f"{not_logged_in} users could not log in.")
    print()
    if interrupted:
        print("RESULT: interrupted")
        return 130
    ok = verified and not failed and not errors
    print("RESULT: " + ("ok" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
