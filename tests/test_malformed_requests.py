"""Malformed requests get a 4xx that says what went wrong: never a 500, never a partial write.

Every request here goes through a test client that does not re-raise the view's exceptions
(`raise_request_exception=False`), so the status is the one a person would get, and with
DEBUG off, as in production (pytest-django's default; `test_debug_is_off` checks it). A 500
fails the test twice: on its status, and in `_no_server_errors`, which fails any test that
logged one. Where nothing may change, a snapshot of the database (every ticket's fields, the
messages, events and users) and the outbox is compared before and after.

Each refusal mechanism is checked once, through one representative page, because it is the same
code whatever the page: the request-input middleware's kinds (it runs before any view), the
hidden-field "out of date" error, the ticket list's paginator, the one ticket lookup
(`get_ticket_for`), the admin's object lookup and its bulk-action guard, the method decorators.
Where a page has handling of its own (each form's invalid answer, each page's allowed methods,
the admin's own pagination and date filters, the report form) it is checked on that page. Who
may use which URL with GET, HEAD and POST, and what a 405 allows, is tests/test_url_matrix.py's.

Decisions these tests pin down:
- A body over DATA_UPLOAD_MAX_MEMORY_SIZE, over DATA_UPLOAD_MAX_NUMBER_FIELDS fields, a body that
  is not a form (JSON, text/plain), a file, bytes that are not UTF-8 or a NUL character (in the
  body or the query string) get the 400 page, which says which of these it was
  (helpdesk_site.middleware.RequestInputMiddleware, helpdesk_site.views.bad_request).
- A form that can be read but is wrong (garbage fields, too long a text) is shown again with its
  errors and a 400 on the help desk's pages; the admin shows it again with a 200, as Django does.
- A ticket list page that does not exist (0, -1, abc, 1e9, past the last) is a 404 that says how
  many pages there are. The admin keeps Django's answer: page 1 for a page that is not a number,
  "?e=1" (the whole list, with a message) for a number past the last.
- An id that is not one (-1, 0, abc, past 2**63) is a 404 on the ticket pages and the admin's
  "does not exist" redirect in the admin.
- PUT, PATCH and DELETE are a 405 on every page; so is POST on the pages that only show things.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from post_office.models import Email

from accounts.models import User
from conftest import FAST_HASHERS, PASSWORD, create_user
from tickets.admin import TicketAdmin
from tickets.models import Ticket
from tickets.services import ticket_create
from tickets.tests.page_helpers import BACKEND, HUGE_ID, db_state, reply_data
from tickets.tests.test_admin_change_page import change_form_data

URLENCODED = "application/x-www-form-urlencoded"
NEW_PASSWORD = "a-long-and-unusual-passphrase"
BAD_REQUEST_HEADING = "This request could not be read"
# What the 400 and 404 pages must never show: exception names, settings, stack traces.
LEAKS = (
    "Traceback",
    "DATA_UPLOAD",
    "settings.",
    "RequestDataTooBig",
    "TooManyFieldsSent",
    "UnreadableRequest",
    "SuspiciousOperation",
    "DisallowedHost",
    "Exception",
)


@pytest.fixture(autouse=True)
def _no_server_errors(caplog):
    """Fail any test during which a request ended in a server error, whatever it asserted."""
    yield
    errors = [
        record
        for record in caplog.records
        if (record.name == "helpdesk.requests" and getattr(record, "status", 0) >= 500)
        or (record.name == "django.request" and record.levelno >= logging.ERROR)
    ]
    assert errors == [], [record.getMessage() for record in errors]


def test_debug_is_off():
    """Every case here runs with DEBUG off, so errors take the production path."""
    assert settings.DEBUG is False


def test_the_request_limits_are_explicit_settings():
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2_621_440
    assert settings.DATA_UPLOAD_MAX_NUMBER_FIELDS == 1000
    assert settings.MAX_QUERY_STRING_LENGTH == 8192


# --- The cast ----------------------------------------------------------------------------------


@dataclass
class Scene:
    customer: User
    agent: User
    admin: User
    ticket: Ticket
    sessions: dict[str, str]
    clients: dict = field(default_factory=dict)

    def client(self, role: str | None) -> Client:
        """The client of `role` ("customer", "agent", "admin" or None for anonymous), one per
        role and test: it answers with the status a browser would get instead of re-raising a
        view's exception."""
        if role not in self.clients:
            client = Client(raise_request_exception=False)
            if role is not None:
                client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[role]
            self.clients[role] = client
        return self.clients[role]


@pytest.fixture(scope="module")
def cast(django_db_setup, django_db_blocker) -> dict:
    """The customer, the agent, the admin, the customer's ticket and everyone's session, made
    once for the module (like TestCase.setUpTestData): in a transaction rolled back at the end;
    each test runs in a savepoint inside it (`db`). Signed in before any test takes its snapshot
    (signing in sets last_login)."""
    with (
        django_db_blocker.unblock(),
        transaction.atomic(),
        override_settings(PASSWORD_HASHERS=FAST_HASHERS),
    ):
        users = {
            "customer": create_user("customer"),
            "agent": create_user("agent", staff=True),
            "admin": create_user("admin", superuser=True),
        }
        ticket = ticket_create(
            reporter=users["customer"],
            title="Printer on fire",
            description="Smoke is coming out of the printer.",
        )
        sessions = {}
        for role, user in users.items():
            client = Client()
            client.force_login(user, backend=BACKEND)
            sessions[role] = client.session.session_key
        yield {
            "users": {role: user.pk for role, user in users.items()},
            "ticket": ticket.pk,
            "sessions": sessions,
        }
        transaction.set_rollback(True)


@pytest.fixture
def scene(cast, db) -> Scene:
    """The cast, read afresh: a test may change their rows (its savepoint undoes it)."""
    users = {role: User.objects.get(pk=pk) for role, pk in cast["users"].items()}
    ticket = Ticket.objects.get(pk=cast["ticket"])
    return Scene(users["customer"], users["agent"], users["admin"], ticket, cast["sessions"])


def snapshot() -> dict:
    """Everything a malformed request could have written: tickets, messages, events, users, mail."""
    return {
        **db_state(),
        "users": list(
            User.objects.order_by("pk").values_list(
                "pk", "username", "email", "password", "first_name", "last_name",
                "notify_by_email", "last_login", "is_active",
            )
        ),
        "outbox": len(mail.outbox),
        "queued mail": Email.objects.count(),  # the outbox's rows, sent after the commit
    }  # fmt: skip


def text_of(response) -> str:
    return response.content.decode(errors="replace")


def assert_protected(response) -> None:
    """The headers every answer carries, refusals made before any view runs included: the page
    may not be framed and runs only the site's own scripts."""
    assert response.get("X-Frame-Options") == "DENY", response.headers
    policy = response.get("Content-Security-Policy", "")
    assert "script-src 'self'" in policy, response.headers
    assert "frame-ancestors 'none'" in policy, response.headers
    assert response.get("X-Content-Type-Options") == "nosniff", response.headers


def assert_bad_request_page(response, reason: str) -> None:
    """Our 400 page, saying `reason`, and nothing an attacker could learn from."""
    assert response.status_code == 400, (response.status_code, text_of(response)[:300])
    content = text_of(response)
    assert BAD_REQUEST_HEADING in content
    assert reason in content, content
    for leak in LEAKS:
        assert leak not in content, leak
    assert_protected(response)


def flash(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- The form pages, and what each sends when all is well ---------------------------------------


def _admin_change_data(scene: Scene) -> dict:
    page = scene.client("agent").get(f"/admin/tickets/ticket/{scene.ticket.pk}/change/")
    return change_form_data(page, priority="urgent", reply="Looking into it.")


@dataclass(frozen=True)
class FormPage:
    name: str
    role: str | None
    url: Callable[[Scene], str]
    data: Callable[[Scene], dict]
    # The admin answers an invalid form with the form again and a 200, as Django does.
    invalid_status: int = 400


FORM_PAGES = [
    FormPage(
        "new-ticket",
        "customer",
        lambda s: "/tickets/new/",
        lambda s: {"title": "Scanner jammed", "description": "It beeps.", "priority": "high"},
    ),
    FormPage(
        "reply",
        "customer",
        lambda s: f"/tickets/{s.ticket.pk}/reply/",
        lambda s: reply_data("Any news?"),
    ),
    FormPage(
        "internal-note",
        "agent",
        lambda s: f"/tickets/{s.ticket.pk}/reply/",
        lambda s: reply_data("Ordered a part.", is_internal="on"),
    ),
    FormPage(
        "status",
        "customer",
        lambda s: f"/tickets/{s.ticket.pk}/status/",
        lambda s: {"status": "closed", "version": s.ticket.version},
    ),
    FormPage(
        "assign",
        "agent",
        lambda s: f"/tickets/{s.ticket.pk}/assign/",
        lambda s: {"assignee": s.agent.pk, "version": s.ticket.version},
    ),
    FormPage(
        "priority",
        "agent",
        lambda s: f"/tickets/{s.ticket.pk}/priority/",
        lambda s: {"priority": "urgent", "version": s.ticket.version},
    ),
    FormPage(
        "profile",
        "customer",
        lambda s: "/accounts/profile/",
        lambda s: {"first_name": "Cee", "last_name": "Ustomer", "notify_by_email": "on"},
    ),
    FormPage(
        "password-change",
        "customer",
        lambda s: "/accounts/password_change/",
        lambda s: {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    ),
    FormPage(
        "login",
        None,
        lambda s: "/accounts/login/",
        lambda s: {"username": "customer", "password": PASSWORD},
    ),
    FormPage(
        "register",
        None,
        lambda s: "/accounts/register/",
        lambda s: {
            "username": "newcomer",
            "email": "newcomer@example.com",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    ),
    FormPage(
        "password-reset",
        None,
        lambda s: "/accounts/password_reset/",
        lambda s: {"email": "customer@example.com"},
    ),
    FormPage(
        "admin-ticket-change",
        "agent",
        lambda s: f"/admin/tickets/ticket/{s.ticket.pk}/change/",
        _admin_change_data,
        invalid_status=200,
    ),
]
FORM_IDS = [page.name for page in FORM_PAGES]
PAGES_BY_NAME = {page.name: page for page in FORM_PAGES}


def urlencoded(data: dict) -> str:
    return urlencode(data, doseq=True)


@pytest.mark.parametrize("page", FORM_PAGES, ids=FORM_IDS)
def test_the_well_formed_form_is_accepted(scene, page):
    """The baseline: each page takes its form, so a refusal below is the malformation's doing."""
    before = snapshot()

    response = scene.client(page.role).post(
        page.url(scene), urlencoded(page.data(scene)), content_type=URLENCODED
    )

    assert response.status_code == 302, (response.status_code, flash(response))
    assert snapshot() != before


# --- Bodies no page can read: the 400 page, saying why, and nothing saved -----------------------

LIMIT = 2_621_440  # settings.DATA_UPLOAD_MAX_MEMORY_SIZE, as the page shows it: 2.5 MB


def _with_file(data: dict) -> dict:
    return {**data, "attachment": SimpleUploadedFile("screenshot.png", b"\x89PNG\r\n\x1a\n")}


# name: (how to send the page's own valid data, malformed; what the 400 page says)
UNREADABLE: dict[str, tuple[Callable[[dict], dict], str]] = {
    "oversized-urlencoded": (
        lambda d: {
            "data": urlencoded(d) + "&padding=" + "x" * LIMIT,
            "content_type": URLENCODED,
        },
        "larger than this help desk accepts (2.5\xa0MB)",
    ),
    "oversized-multipart": (
        lambda d: {"data": {**d, "padding": "x" * LIMIT}},
        "larger than this help desk accepts (2.5\xa0MB)",
    ),
    "too-many-fields-urlencoded": (
        lambda d: {"data": urlencoded(d) + "&x=1" * 1000, "content_type": URLENCODED},
        "more fields than any form here",
    ),
    "too-many-fields-multipart": (
        lambda d: {"data": {**d, **{f"x{i}": "1" for i in range(1000)}}},
        "more fields than any form here",
    ),
    "json": (
        lambda d: {"data": json.dumps(d), "content_type": "application/json"},
        "reads web forms only",
    ),
    "text-plain": (
        lambda d: {"data": urlencoded(d), "content_type": "text/plain"},
        "reads web forms only",
    ),
    "multipart-with-a-file": (
        lambda d: {"data": _with_file(d)},
        "This page does not take attachments",
    ),
    "multipart-with-a-file-beside-the-file-field": (
        lambda d: {"data": _with_file(d)},
        "takes files in its own file field only",
    ),
    "multipart-without-boundary": (
        lambda d: {"data": urlencoded(d), "content_type": "multipart/form-data"},
        "could not read what your browser sent",
    ),
    "bad-utf8-percent-escaped": (
        lambda d: {"data": urlencoded(d) + "&note=%C3%28%FF%FE", "content_type": URLENCODED},
        "not valid UTF-8",
    ),
    "bad-utf8-raw-bytes": (
        lambda d: {"data": urlencoded(d).encode() + b"&note=\xff\xfe", "content_type": URLENCODED},
        "not valid UTF-8",
    ),
    "bad-utf8-in-a-field": (
        # The first field's value starts with a byte that is not UTF-8.
        lambda d: {"data": urlencoded(d).replace("=", "=%FF", 1), "content_type": URLENCODED},
        "not valid UTF-8",
    ),
    "nul-urlencoded": (
        lambda d: {"data": urlencoded(d) + "&note=a%00b", "content_type": URLENCODED},
        "NUL character",
    ),
    "nul-multipart": (
        lambda d: {"data": {**d, "note": "a\x00b"}},
        "NUL character",
    ),
}


# RequestInputMiddleware refuses these before any view runs, the same way on every page: each is
# sent, with the page's valid form inside, to a page that would save it if it got through. Not a
# form goes to the profile page, where a form read as empty is a valid one, and so does a file
# (the profile takes none); the rest to the reply, which takes files in its "files" field only.
REPRESENTATIVE = {"json": "profile", "text-plain": "profile", "multipart-with-a-file": "profile"}


@pytest.mark.parametrize("kind", list(UNREADABLE))
def test_an_unreadable_body_gets_the_400_page_and_changes_nothing(scene, kind):
    send, reason = UNREADABLE[kind]
    page = PAGES_BY_NAME[REPRESENTATIVE.get(kind, "reply")]
    url, data = page.url(scene), page.data(scene)
    before = snapshot()

    response = scene.client(page.role).post(url, **send(data))

    assert_bad_request_page(response, reason)
    assert snapshot() == before


def test_an_anonymous_unreadable_post_to_a_signed_in_page_is_refused_first(scene):
    """Refused before anything is read, so before the login redirect: no body is parsed for it."""
    send, reason = UNREADABLE["oversized-urlencoded"]
    before = snapshot()

    response = scene.client(None).post("/tickets/new/", **send({"title": "t"}))

    assert_bad_request_page(response, reason)
    assert snapshot() == before


def test_a_bad_utf8_ticket_was_saved_with_replacement_characters_before(scene):
    """The bug this fixes: Django decodes with errors="replace", so the ticket used to be created
    with U+FFFD in its title instead of a refusal."""
    before = Ticket.objects.count()

    response = scene.client("customer").post(
        "/tickets/new/",
        b"title=Printer%FF%FE&description=caf%E9&priority=normal",
        content_type=URLENCODED,
    )

    assert_bad_request_page(response, "The form you sent contains characters that are not valid")
    assert Ticket.objects.count() == before
    assert not Ticket.objects.filter(title__contains="\ufffd").exists()


def test_a_form_in_another_declared_charset_is_refused_with_a_reason(scene):
    """Django reads urlencoded forms as UTF-8 only (it refused this with a bare 400)."""
    before = snapshot()

    response = scene.client("customer").post(
        "/tickets/new/",
        "title=Caf%E9&description=Cr%E8me&priority=normal",
        content_type=f"{URLENCODED}; charset=iso-8859-1",
    )

    assert_bad_request_page(response, "says it is in iso-8859-1; this help desk reads forms in")
    assert snapshot() == before


def test_the_longest_description_in_any_script_fits_the_body_limit(scene):
    """The limit never refuses a valid form: 20,000 emoji (80 KB, 240 KB percent-encoded)."""
    description = "😀" * 20_000
    body = urlencoded({"title": "😀" * 200, "description": description, "priority": "normal"})
    assert len(body) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = scene.client("customer").post("/tickets/new/", body, content_type=URLENCODED)

    assert response.status_code == 302
    assert Ticket.objects.filter(description=description).exists()


def test_an_empty_post_without_a_content_type_is_read_as_an_empty_form(scene):
    """Only a body that is not a form is refused; logging out with an empty POST still works."""
    client = scene.client("customer")

    response = client.generic("POST", "/accounts/logout/", b"", content_type="")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"


# --- Readable but wrong: the form again, with its errors, and nothing saved ---------------------

GARBAGE = {
    "empty": lambda d: {"data": "", "content_type": URLENCODED},
    "garbage-urlencoded": lambda d: {"data": "%%%&&&===;;;\t&=&==", "content_type": URLENCODED},
    "unknown-fields-only": lambda d: {"data": {f"{key}_x": value for key, value in d.items()}},
    "multipart-garbage": lambda d: {
        "data": b"--xyz\r\nnot a part at all\r\n--xyz--\r\n",
        "content_type": "multipart/form-data; boundary=xyz",
    },
}
ERROR_MARKERS = (
    "This field is required",
    "Nothing was changed",
    "Nothing was saved",
    "Your reply was not sent",
    "out of date or was altered",
    "Please correct the error",
)


def assert_form_shown_again(page: FormPage, response) -> None:
    assert response.status_code == page.invalid_status, (response.status_code, flash(response))
    shown = text_of(response) + " ".join(flash(response))
    assert any(marker in shown for marker in ERROR_MARKERS), shown[:500]


@pytest.mark.parametrize("page", FORM_PAGES, ids=FORM_IDS)
def test_a_garbled_form_is_shown_again_with_an_error_and_changes_nothing(scene, page):
    """Each page's own answer to a form it can read but not use: its fields under other names."""
    url, data = page.url(scene), page.data(scene)
    before = snapshot()

    response = scene.client(page.role).post(url, **GARBAGE["unknown-fields-only"](data))

    assert_form_shown_again(page, response)
    assert snapshot() == before


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_every_kind_of_garbage_is_read_as_a_form_without_its_fields(scene, kind):
    """How the body is garbled does not matter once Django has read it: one page, every kind."""
    page = PAGES_BY_NAME["reply"]
    before = snapshot()

    response = scene.client(page.role).post(page.url(scene), **GARBAGE[kind](page.data(scene)))

    assert_form_shown_again(page, response)
    assert snapshot() == before


@pytest.mark.parametrize("version", ["", "abc", "0", "1.5", str(2**31)])
def test_an_altered_hidden_field_says_the_form_is_out_of_date(scene, version):
    """A hidden field has nowhere to show its error: the form says it is out of date instead
    (every ticket change form and the new-ticket form share this; one is enough)."""
    before = snapshot()

    response = scene.client("customer").post(
        f"/tickets/{scene.ticket.pk}/status/",
        urlencoded({"status": "closed", "version": version}),
        content_type=URLENCODED,
    )

    assert response.status_code == 400
    assert "This form is out of date or was altered; reload the page." in flash(response)[0]
    assert snapshot() == before


# name: (page, field, the longest valid value)
TOO_LONG = {
    "ticket-title": ("new-ticket", "title", 200),
    "ticket-description": ("new-ticket", "description", 20_000),
    "reply": ("reply", "content", 10_000),
    "internal-note": ("internal-note", "content", 10_000),
    "admin-reply": ("admin-ticket-change", "reply", 10_000),
    "admin-internal-note": ("admin-ticket-change", "internal_note", 10_000),
}


@pytest.mark.parametrize("case", list(TOO_LONG))
def test_a_text_over_its_max_length_is_a_form_error_and_nothing_is_saved(scene, case):
    page_name, field, limit = TOO_LONG[case]
    page = PAGES_BY_NAME[page_name]
    data = {**page.data(scene), field: "é" * (limit + 1)}
    before = snapshot()

    response = scene.client(page.role).post(
        page.url(scene), urlencoded(data), content_type=URLENCODED
    )

    assert response.status_code == page.invalid_status
    assert f"Ensure this value has at most {limit} characters (it has {limit + 1})." in (
        text_of(response)
    )
    assert snapshot() == before


# --- Query strings, paths and headers that are not text -----------------------------------------

# (role, URL): each address carries bytes that are not UTF-8 or a NUL character, in a value, a
# name, a name without a value. RequestInputMiddleware reads every query string before any view
# (the admin's list filters and its autocomplete too, where a NUL was a server error on
# PostgreSQL): the variants go to one page, and one goes to a page an anonymous visitor sees.
BAD_QUERIES = [
    ("customer", "/tickets/?q=%ff%fe"),
    ("customer", "/tickets/?page=%ff"),
    ("customer", "/tickets/?status=%c3%28"),
    ("customer", "/tickets/?status=%00"),
    ("customer", "/tickets/?%ff=1"),
    ("customer", "/tickets/?%c3%28"),
    ("customer", "/tickets/?q=a%00b"),
    (None, "/accounts/login/?next=%ff"),
]


@pytest.mark.parametrize(("role", "url"), BAD_QUERIES)
def test_a_query_string_that_is_not_text_gets_the_400_page(scene, role, url):
    before = snapshot()

    response = scene.client(role).get(url.format(pk=scene.ticket.pk))

    reason = "NUL character" if "%00" in url else "The address contains characters that are not"
    assert_bad_request_page(response, reason)
    assert snapshot() == before


@pytest.mark.parametrize("role", ["customer", "agent"])
def test_valid_non_ascii_in_a_query_string_is_not_refused(scene, role):
    response = scene.client(role).get("/tickets/?status=all&x=caf%C3%A9%F0%9F%98%80")

    assert response.status_code == 200
    assert "Printer on fire" in text_of(response)
    # The search reads it too (tickets/search.py): no ticket says "café".
    response = scene.client(role).get("/tickets/?q=caf%C3%A9&status=all&x=%F0%9F%98%80")
    assert response.status_code == 200
    assert "No tickets match “café”" in text_of(response)


def test_a_query_string_over_the_limit_gets_the_400_page(scene):
    client = scene.client("agent")
    longest = "q=" + "a" * (settings.MAX_QUERY_STRING_LENGTH - 2)

    assert client.get(f"/admin/tickets/ticket/?{longest}").status_code == 200
    # One more: refused. On SQLite an admin search of 50,000 characters or more was a server
    # error ("LIKE or GLOB pattern too complex").
    response = client.get(f"/admin/tickets/ticket/?{longest}a")
    assert_bad_request_page(response, "The address is too long")
    response = client.get("/admin/tickets/ticket/?q=" + "a" * 60_000)
    assert_bad_request_page(response, "The address is too long")


# No URL pattern matches bytes that are not text: the resolver's 404, whoever asks (the variants
# as the customer; the other roles once).
@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        ("customer", "get", "/tickets/%ff/"),
        ("customer", "get", "/tickets/%ff%fe/"),
        ("customer", "get", "/tickets/%c3%28/"),
        ("customer", "get", "/tickets/%00/"),
        ("customer", "post", "/tickets/%ff/reply/"),
        ("customer", "post", "/tickets/%ff/status/"),
        ("customer", "get", "/%ff"),
        ("customer", "get", "/accounts/%ff/"),
        ("customer", "get", "/reports/%ff"),
        ("agent", "get", "/tickets/%ff/"),
        (None, "get", "/tickets/%ff/"),
    ],
)
def test_a_path_that_is_not_text_is_not_found(scene, role, method, path):
    before = snapshot()

    response = getattr(scene.client(role), method)(path)

    assert response.status_code == 404
    assert "Not found" in text_of(response)
    assert snapshot() == before


@pytest.mark.parametrize("path", ["%ff", "%c3%28", "%00", "%ff%fe"])
def test_an_admin_object_path_that_is_not_text_goes_back_with_a_message(scene, path):
    response = scene.client("agent").get(f"/admin/tickets/ticket/{path}/change/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert any("doesn\u2019t exist" in message for message in flash(response))


def test_a_password_reset_link_that_is_not_text_is_an_invalid_link(scene):
    response = scene.client(None).get("/accounts/reset/%ff%00/%c3%28/")

    assert response.status_code == 200
    assert "This link does not work" in text_of(response)


def _latin1(raw: bytes) -> str:
    """A header as WSGI hands it over: its bytes, decoded as latin-1."""
    return raw.decode("latin-1")


BAD_BYTES = _latin1(b"\xff\xfe\xc3\x28 \x00")


@pytest.mark.parametrize(
    "header", ["HTTP_REFERER", "HTTP_USER_AGENT", "HTTP_ACCEPT_LANGUAGE", "HTTP_COOKIE"]
)
def test_a_header_that_is_not_text_is_ignored_where_it_is_not_needed(scene, header):
    client = scene.client("customer")
    extra = {header: BAD_BYTES}
    if header == "HTTP_COOKIE":
        # A cookie header of bytes replaces the session cookie: the visitor is signed out.
        response = client.get("/tickets/", **extra)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
        return

    assert client.get("/tickets/", **extra).status_code == 200
    assert client.get(f"/tickets/{scene.ticket.pk}/", **extra).status_code == 200
    response = client.post(
        f"/tickets/{scene.ticket.pk}/reply/",
        urlencoded(reply_data("Still smoking")),
        content_type=URLENCODED,
        **extra,
    )
    assert response.status_code == 302


BAD_HOSTS = [BAD_BYTES, _latin1(b"\xff\xfe"), "exa mple.com", "evil.example", "a" * 300, ""]


# The host is checked before anyone is known: the variants anonymously, a session once.
@pytest.mark.parametrize(
    ("role", "host"), [*((None, host) for host in BAD_HOSTS), ("customer", "evil.example")]
)
def test_a_host_header_that_is_not_ours_gets_the_400_page(scene, role, host):
    before = snapshot()

    response = scene.client(role).post(
        "/accounts/login/",
        urlencoded({"username": "customer", "password": PASSWORD}),
        content_type=URLENCODED,
        HTTP_HOST=host,
    )

    assert_bad_request_page(response, "could not read what your browser sent")
    assert snapshot() == before


# --- Pages: odd page numbers -------------------------------------------------------------------

ODD_PAGES = ["999999999999999999999999", "-1", "0", "abc", "1e9", "1.0", "4", " ", "9" * 5000]


@pytest.fixture
def three_pages(settings, scene, make_ticket):
    """Five tickets for the customer (the scene's and four more), two a page: three pages."""
    settings.TICKETS_PER_PAGE = 2
    for _ in range(4):
        make_ticket(scene.customer)
    return scene


@pytest.mark.parametrize("page", ODD_PAGES, ids=lambda p: p[:24])
def test_a_ticket_list_page_that_does_not_exist_is_a_404_that_says_so(three_pages, page):
    """One paginator for everyone's list: the agent's the same as the customer's."""
    response = three_pages.client("agent").get("/tickets/", {"page": page})

    assert response.status_code == 404
    content = text_of(response)
    assert "That page of tickets does not exist: there are 3 pages." in content
    for leak in LEAKS:
        assert leak not in content


def test_a_ticket_list_with_one_page_says_so(scene):
    response = scene.client("customer").get("/tickets/?page=2")

    assert response.status_code == 404
    assert "That page of tickets does not exist: there is 1 page." in text_of(response)


@pytest.mark.parametrize("page", ["", "1", "3", "03"])
def test_the_pages_that_exist_are_shown(three_pages, page):
    response = three_pages.client("customer").get("/tickets/", {"page": page})

    assert response.status_code == 200


def test_the_last_page_number_wins_when_page_is_repeated(three_pages):
    response = three_pages.client("customer").get("/tickets/?page=1&page=3")

    assert response.status_code == 200
    assert "Page 3 of 3" in text_of(response)


@pytest.fixture
def admin_three_pages(three_pages, monkeypatch):
    monkeypatch.setattr(TicketAdmin, "list_per_page", 2)
    return three_pages


@pytest.mark.parametrize("page", ["abc", "1e9", " ", "9" * 5000])
def test_an_admin_page_that_is_not_a_number_shows_the_first(admin_three_pages, page):
    response = admin_three_pages.client("agent").get("/admin/tickets/ticket/", {"p": page})

    assert response.status_code == 200
    assert response.context["cl"].page_num == 1


@pytest.mark.parametrize("page", ["999999999999999999999999", "-1", "0", "4"])
def test_an_admin_page_number_past_the_list_is_the_whole_list_with_a_message(
    admin_three_pages, page
):
    client = admin_three_pages.client("agent")

    response = client.get("/admin/tickets/ticket/", {"p": page})

    assert response.status_code == 302
    assert response["Location"] == "/admin/tickets/ticket/?e=1"
    response = client.get(response["Location"])
    assert response.status_code == 200
    assert "could not be applied: this is the whole list" in text_of(response)


# --- Report dates ----------------------------------------------------------------------------

ODD_REPORT_QUERIES = {
    "year-0": "preset=custom&start=0000-01-01",
    "year-99999": "start=99999-01-01",
    "first-day-of-the-calendar": "start=0001-01-01&end=0001-01-02",
    "last-day-of-the-calendar": "start=9999-12-31&end=9999-12-31&bucket=month",
    "start-after-end": "start=2024-05-01&end=2024-01-01",
    "far-future-start": "start=2999-01-01",
    "a-thousand-years": "start=2020-01-01&end=3000-01-01",
    "exponent": "start=1e9",
    "february-30": "start=2024-02-30",
    "custom-without-start": "preset=custom",
    "unknown-bucket": "start=2024-01-01&bucket=fortnight",
    "unknown-preset": "preset=forever",
    "huge-number-as-a-date": "start=99999999999999999999999",
}


@pytest.mark.parametrize("query", list(ODD_REPORT_QUERIES.values()), ids=list(ODD_REPORT_QUERIES))
def test_an_odd_report_range_is_a_400_with_the_reason(scene, query):
    client = scene.client("agent")

    page = client.get(f"/reports/?{query}")
    assert page.status_code == 400
    errors = [error for errors in page.context["form"].errors.values() for error in errors]
    assert errors, "a 400 without a reason"
    assert all(error in text_of(page) for error in errors)

    for url in ("/reports/export.csv", "/reports/data.json"):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400
        assert response.json()["errors"], url


def test_a_customer_gets_the_same_404_for_odd_report_dates(scene):
    query = ODD_REPORT_QUERIES["year-0"]

    assert scene.client("customer").get(f"/reports/?{query}").status_code == 404


# --- Ids that are not ids --------------------------------------------------------------------

ODD_IDS = ["-1", "0", str(HUGE_ID), "9223372036854775808", "9" * 400, "abc", "1.5", "1e3", "٣"]


# Every ticket page takes its id through the URL's <int:pk> and one lookup (get_ticket_for): each
# odd id is sent to the page that shows a ticket and to the two kinds that change one.
@pytest.mark.parametrize("ticket_id", ODD_IDS, ids=lambda i: i[:24])
def test_a_ticket_id_that_is_not_one_is_a_404(scene, ticket_id):
    before = snapshot()
    data = urlencoded(reply_data("x", status="closed", version=1))

    responses = [
        scene.client("customer").get(f"/tickets/{ticket_id}/"),
        scene.client("agent").post(f"/tickets/{ticket_id}/reply/", data, content_type=URLENCODED),
        scene.client("customer").post(
            f"/tickets/{ticket_id}/status/", data, content_type=URLENCODED
        ),
    ]

    for response in responses:
        assert response.status_code == 404
        assert "Not found" in text_of(response)
    assert snapshot() == before


@pytest.mark.parametrize("ticket_id", ODD_IDS, ids=lambda i: i[:24])
def test_an_anonymous_visitor_with_an_odd_ticket_id_logs_in_first_or_gets_a_404(scene, ticket_id):
    path = f"/tickets/{ticket_id}/"

    response = scene.client(None).get(path)

    if ticket_id.isascii() and ticket_id.isdigit():
        # The address is a ticket page (<int:pk>): who asks is checked before the id.
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
    else:
        assert response.status_code == 404


def assert_gone_back_to_the_index(response) -> None:
    """The admin's answer to an object it cannot find: its index, with a message."""
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert any("doesn\u2019t exist. Perhaps it was deleted?" in m for m in flash(response))


# Every model admin looks its object up the same way (ModelAdmin.get_object): the odd ids go to
# the ticket's change page; each other kind of object page gets the two that were server errors
# (past 2**63, not a number).
# Not "٣": the admin reads Unicode digits as the number they are (int("٣") == 3), as Python does.
@pytest.mark.parametrize("object_id", ODD_IDS[:-1], ids=lambda i: i[:24])
def test_an_admin_id_that_is_not_one_goes_back_with_a_message(scene, object_id):
    before = snapshot()

    response = scene.client("agent").get(f"/admin/tickets/ticket/{object_id}/change/")

    assert_gone_back_to_the_index(response)
    assert snapshot() == before


ADMIN_OBJECT_PAGES = [
    ("admin", "/admin/tickets/ticket/{id}/history/"),
    ("admin", "/admin/tickets/ticket/{id}/delete/"),
    ("agent", "/admin/accounts/user/{id}/change/"),
    ("admin", "/admin/accounts/user/{id}/change/"),
    ("admin", "/admin/accounts/user/{id}/password/"),
    ("agent", "/admin/messaging/message/{id}/change/"),
    ("agent", "/admin/tickets/ticketevent/{id}/change/"),
]


@pytest.mark.parametrize(("role", "url"), ADMIN_OBJECT_PAGES)
def test_every_admin_object_page_refuses_an_id_that_is_not_one(scene, role, url):
    before = snapshot()

    for object_id in (str(HUGE_ID), "abc"):
        response = scene.client(role).get(url.format(id=object_id))

        if url.endswith("/password/"):
            # The user admin's password page is Django's: a plain 404 for a user it cannot find.
            assert response.status_code == 404
        else:
            assert_gone_back_to_the_index(response)
    assert snapshot() == before


def test_an_agent_cannot_even_ask_to_delete_an_odd_ticket_id(scene):
    response = scene.client("agent").get(f"/admin/tickets/ticket/{HUGE_ID}/delete/")

    assert response.status_code == 403


# --- Methods -----------------------------------------------------------------------------------

# (role, URL, the methods the page allows)
PAGES_AND_METHODS = [
    ("customer", "/", {"GET", "HEAD"}),
    ("customer", "/tickets/", {"GET", "HEAD"}),
    ("customer", "/tickets/new/", {"GET", "HEAD", "POST"}),
    ("customer", "/tickets/{pk}/", {"GET", "HEAD"}),
    ("customer", "/tickets/{pk}/reply/", {"POST"}),
    ("customer", "/tickets/{pk}/status/", {"POST"}),
    ("agent", "/tickets/{pk}/assign/", {"POST"}),
    ("agent", "/tickets/{pk}/priority/", {"POST"}),
    ("agent", "/reports/", {"GET", "HEAD"}),
    ("agent", "/reports/export.csv", {"GET", "HEAD"}),
    ("agent", "/reports/data.json", {"GET", "HEAD"}),
    ("customer", "/accounts/profile/", {"GET", "HEAD", "POST"}),
    ("customer", "/accounts/password_change/", {"GET", "HEAD", "POST"}),
    ("customer", "/accounts/logout/", {"POST", "OPTIONS"}),
    (None, "/", {"GET", "HEAD"}),
    (None, "/accounts/login/", {"GET", "HEAD", "POST"}),
    (None, "/accounts/register/", {"GET", "HEAD", "POST"}),
    (None, "/accounts/password_reset/", {"GET", "HEAD", "POST"}),
    (None, "/healthz", {"GET", "HEAD"}),
]


def _allowed(response) -> set[str]:
    return {method.strip() for method in response["Allow"].split(",")}


# require_safe, require_POST, form_page (require_http_methods), a _FormPage class view, LogoutView.
ONE_PAGE_OF_EACH_KIND = {
    "/tickets/{pk}/",
    "/tickets/{pk}/status/",
    "/accounts/profile/",
    "/accounts/password_change/",
    "/accounts/logout/",
}


# Each page declares the methods it takes (a decorator, or a class view's handlers): PUT on every
# page; PATCH and DELETE are refused by the same declaration, so once each, on a page of each kind.
# (POST on the pages that only show things is tests/test_url_matrix.py's.)
@pytest.mark.parametrize(("role", "url", "allowed"), PAGES_AND_METHODS)
def test_put_is_405_and_changes_nothing(scene, role, url, allowed):
    before = snapshot()

    response = scene.client(role).put(
        url.format(pk=scene.ticket.pk), urlencoded({"status": "closed", "version": 1})
    )

    assert response.status_code == 405
    assert _allowed(response) == allowed
    assert snapshot() == before


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
@pytest.mark.parametrize(
    ("role", "url", "allowed"),
    [page for page in PAGES_AND_METHODS if page[1] in ONE_PAGE_OF_EACH_KIND],
)
def test_patch_and_delete_are_405_and_change_nothing(scene, method, role, url, allowed):
    before = snapshot()

    response = scene.client(role).generic(
        method, url.format(pk=scene.ticket.pk), urlencoded({"status": "closed", "version": 1})
    )

    assert response.status_code == 405
    assert _allowed(response) == allowed
    assert snapshot() == before


def test_put_on_the_ticket_page_no_longer_marks_replies_seen(scene, make_message):
    """PUT used to be served as a GET, which records that the reporter saw the replies."""
    make_message(scene.ticket, scene.agent, "Try turning it off and on again.")
    before = snapshot()

    response = scene.client("customer").put(f"/tickets/{scene.ticket.pk}/")

    assert response.status_code == 405
    assert snapshot() == before


@pytest.mark.parametrize(
    ("method", "url"),
    [("PUT", "/tickets/"), ("PATCH", "/tickets/new/"), ("DELETE", "/accounts/profile/")],
)
def test_an_anonymous_put_on_a_signed_in_page_is_sent_to_log_in(scene, method, url):
    response = scene.client(None).generic(method, url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
def test_a_customer_gets_the_reports_404_whatever_the_method(scene, method):
    assert scene.client("customer").generic(method, "/reports/").status_code == 404


# --- Sign-in redirects ---------------------------------------------------------------------


@pytest.mark.parametrize("target", ["abc", "%C3%A9", "tickets:list", "admin:index", "x.y"])
def test_a_next_that_is_not_a_url_does_not_break_the_signed_in_login_page(scene, target):
    """?next=abc (no slash, no dot) was a 500 for a signed-in visitor: redirect() took it for a
    view name and failed to reverse it."""
    response = scene.client("customer").get(f"/accounts/login/?next={target}")

    assert response.status_code == 302
    assert response["Location"] != ""


def test_a_next_that_is_not_a_url_does_not_break_logging_in(scene):
    response = scene.client(None).post(
        "/accounts/login/?next=abc",
        urlencoded({"username": "customer", "password": PASSWORD}),
        content_type=URLENCODED,
    )

    assert response.status_code == 302


# --- The admin's own inputs --------------------------------------------------------------------


# AdminInputMixin checks the selection before any action runs, for every model admin: each odd
# selection on one action, and each (model admin, action) once, with a good id and a bad one.
SELECTIONS = {
    "letters": ["abc"],
    "past-2**63": [str(HUGE_ID)],
    "400-digits": ["9" * 400],
    "negative": ["-1"],
    "zero": ["0"],
    "superscript": ["²"],
    "mixed": ["{pk}", "abc"],
}
ACTIONS = [
    ("agent", "/admin/tickets/ticket/", "close_tickets"),
    ("admin", "/admin/tickets/ticket/", "delete_selected"),
    ("agent", "/admin/tickets/ticket/", "assign_to_agent"),
    ("admin", "/admin/accounts/user/", "delete_selected"),
    ("admin", "/admin/auth/group/", "delete_selected"),
]


@pytest.mark.parametrize(
    ("role", "url", "action", "selected"),
    [
        *(pytest.param(*ACTIONS[0], ids, id=name) for name, ids in SELECTIONS.items()),
        *(pytest.param(*action, SELECTIONS["mixed"], id=action[2]) for action in ACTIONS[1:]),
    ],
)
def test_a_bulk_action_on_ids_that_are_not_ids_changes_nothing(scene, role, url, action, selected):
    before = snapshot()
    data = {
        "action": action,
        "index": "0",
        "_selected_action": [value.format(pk=scene.ticket.pk) for value in selected],
    }

    response = scene.client(role).post(url, urlencoded(data), content_type=URLENCODED)

    assert response.status_code == 302
    assert response["Location"] == url
    assert "Nothing was changed: the selection holds something that is not an id." in flash(
        response
    )
    assert snapshot() == before


def test_a_bulk_action_on_a_good_id_still_works(scene):
    data = {"action": "close_tickets", "index": "0", "_selected_action": [scene.ticket.pk]}

    response = scene.client("agent").post("/admin/tickets/ticket/", data)

    assert response.status_code == 302
    scene.ticket.refresh_from_db()
    assert scene.ticket.status == Ticket.Status.CLOSED


# The date filter's own parameters ("Any date", "Today", ... send these two).
CALENDAR_EDGES = [
    ("created_at__gte=9999-12-31+00:00:00%2B00:00", 200),
    ("created_at__lt=0001-01-02+00:00:00%2B00:00", 200),
    ("created_at__gte=9999-12-31+23:59:59%2B00:00&created_at__lt=0001-01-01+00:00:00%2B00:00", 200),
    ("created_at__gte=10000-01-01+00:00:00%2B00:00", 302),
    ("created_at__gte=0000-01-01", 302),
    ("created_at__lt=abc", 302),
]


# One ChangeList (AdminInputMixin's) for the three capped lists: every edge on the tickets'
# list, one the database cannot take on the other two.
@pytest.mark.parametrize(
    ("changelist", "query", "status"),
    [
        *(("/admin/tickets/ticket/", query, status) for query, status in CALENDAR_EDGES),
        ("/admin/tickets/ticketevent/", *CALENDAR_EDGES[3]),
        ("/admin/messaging/message/", *CALENDAR_EDGES[3]),
    ],
)
def test_a_date_lookup_at_the_calendar_edge_is_an_empty_list_or_the_whole_one(
    scene, changelist, query, status
):
    """A date no ticket can have lists nothing; one that is no date (year 0, past 9999) is the
    admin's "?e=1", the whole list."""
    client = scene.client("agent")

    response = client.get(f"{changelist}?{query}")

    assert response.status_code == status
    if status == 200:
        assert list(response.context["cl"].result_list) == []
    else:
        assert response["Location"] == f"{changelist}?e=1"
        assert client.get(response["Location"]).status_code == 200


# Lookups no filter of the list makes: a regular expression (an invalid one was a 500; one with
# nested quantifiers ran for seconds against a title on SQLite), a year past the calendar (a
# 500), any other field or comparison a list does not offer.
CRAFTED_LOOKUPS = [
    ("/admin/tickets/ticket/", "title__regex=["),
    ("/admin/tickets/ticket/", "title__regex=^(a%2B)%2B$"),
    ("/admin/tickets/ticket/", "description__iregex=x"),
    ("/admin/tickets/ticket/", "closed_at__year=10000"),
    ("/admin/tickets/ticket/", "created_at__year=2026"),
    ("/admin/tickets/ticket/", "id__gt=0"),
    ("/admin/tickets/ticket/", "status__in=open"),
    ("/admin/tickets/ticketevent/", "to_value__regex=["),
    ("/admin/messaging/message/", "content__regex=["),
    ("/admin/accounts/user/", "username__regex=["),
    ("/admin/accounts/user/", "last_login__year=10000"),
]


@pytest.mark.parametrize(("changelist", "query"), CRAFTED_LOOKUPS)
def test_a_lookup_no_filter_offers_is_the_whole_list_with_a_message(scene, changelist, query):
    client = scene.client("admin")

    response = client.get(f"{changelist}?{query}")

    assert response.status_code == 302
    assert response["Location"] == f"{changelist}?e=1"
    shown = client.get(response["Location"])
    assert shown.status_code == 200
    assert "could not be applied: this is the whole list" in text_of(shown)


@pytest.mark.parametrize(
    ("changelist", "query"),
    [
        ("/admin/tickets/ticket/", "status__exact=open&priority__exact=normal"),
        ("/admin/tickets/ticket/", "assignee=none&awaiting=yes"),
        (
            "/admin/tickets/ticket/",
            "created_at__gte=2026-01-01+00:00:00%2B00:00&created_at__lt=2099-01-01+00:00:00%2B00:00",
        ),
        ("/admin/tickets/ticketevent/", "kind__exact=status"),
        ("/admin/messaging/message/", "is_internal__exact=1"),
        ("/admin/accounts/user/", "is_staff__exact=1&groups__id__exact=1"),
    ],
)
def test_the_lists_own_filters_still_apply(scene, changelist, query):
    response = scene.client("admin").get(f"{changelist}?{query}")

    assert response.status_code == 200
    assert "could not be applied" not in text_of(response)


@pytest.mark.parametrize("value", [str(HUGE_ID), "9" * 400, "²", "abc", "-1", "0"])
def test_an_assignee_filter_that_is_no_agent_lists_no_tickets(scene, value):
    """A number past 2**63 was a 500 (OverflowError), and "²" too (isdigit, but not int())."""
    response = scene.client("agent").get("/admin/tickets/ticket/", {"assignee": value})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


def test_the_assignee_filter_still_finds_an_agents_tickets(scene):
    from tickets.services import ticket_assign

    ticket_assign(ticket=scene.ticket, assignee=scene.agent, by=scene.agent)

    response = scene.client("agent").get("/admin/tickets/ticket/", {"assignee": scene.agent.pk})

    assert [t.pk for t in response.context["cl"].result_list] == [scene.ticket.pk]


@pytest.mark.parametrize("assignee", ["abc", str(HUGE_ID), "9" * 400, "²", "-1", "1.5"])
def test_an_admin_change_with_an_assignee_that_is_not_an_id_shows_the_form_again(scene, assignee):
    """The autocomplete box looked the raw value up to show it again: a 500 (ValueError on any
    database, OverflowError on SQLite)."""
    data = {**_admin_change_data(scene), "assignee": assignee}
    before = snapshot()

    response = scene.client("agent").post(
        f"/admin/tickets/ticket/{scene.ticket.pk}/change/",
        urlencoded(data),
        content_type=URLENCODED,
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Select a valid choice" in " ".join(errors["assignee"])
    assert snapshot() == before


# --- The 400 page itself -----------------------------------------------------------------------


def test_other_refusals_carry_the_protective_headers_too(scene):
    """The CSRF page, a 404, a 405 and a session cookie Django cannot read."""
    csrf = Client(enforce_csrf_checks=True, raise_request_exception=False)
    answers = {
        "csrf": csrf.post("/accounts/login/", {"username": "customer", "password": "x"}),
        "404": scene.client("customer").get("/no-such-page/"),
        "405": scene.client("customer").put("/tickets/"),
    }
    assert {name: r.status_code for name, r in answers.items()} == {
        "csrf": 403,
        "404": 404,
        "405": 405,
    }
    for response in answers.values():
        assert_protected(response)


def test_the_400_page_is_the_sites_own_and_knows_who_is_signed_in(scene):
    response = scene.client("customer").post(
        "/tickets/new/", json.dumps({"title": "x"}), content_type="application/json"
    )

    assert_bad_request_page(response, "reads web forms only")
    content = text_of(response)
    assert "Back to the help desk" in content
    assert re.search(r">\s*customer\s*<", content), "the page's menu shows who is signed in"
