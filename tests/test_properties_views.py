"""Property-based tests of the pages that take input (hypothesis, 200 examples each).

Any form data, from anyone (each role, inactive users, visitors), with fields the form does not
have mixed in: never a server error (the test client raises it); a good request is a redirect
and the database holds exactly the change it asked for; anything else is a 4xx (or the login
page) that shows an error in words, and nothing at all was written.

The pages do what tickets/views.py, accounts/views.py and reports/views.py do today: a refused
change re-renders the ticket page with 400 (bad form or refusal), 403 (not allowed) or 409
(stale page); a bad new-ticket, registration, login or profile form is re-rendered with 400;
a report with bad parameters is a 400 page; someone else's ticket is a 404.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import NamedTuple

import pytest
from django.contrib.messages import constants, get_messages
from django.test import Client
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from hypothesis import event, example, given
from hypothesis import strategies as st

from accounts.forms import LoginForm, RegistrationForm
from conftest import PASSWORD
from tests.property_helpers import (
    ASSIGNEES,
    DATE_TEXT,
    INT_TEXT,
    PROPERTY,
    ROLES,
    TICKETS,
    UUID_TEXT,
    as_uuid,
    assert_readable,
    build_cast,
    changed_fields,
    choice_text,
    diff,
    rolled_back,
    snapshot,
    texts,
)
from tickets.forms import TicketCreateForm
from tickets.models import Ticket

BACKEND = "accounts.backends.UsernameOrEmailBackend"
LOGIN_PAGE = "/accounts/login/"
STAFF = {"agent", "other_agent", "admin"}
ACTIVE = {"customer", "other_customer", *STAFF}
# Fields no form here has, which a hand-made POST may add: all must be ignored.
EXTRA = st.dictionaries(
    st.sampled_from(
        ["status", "assignee", "reporter", "priority", "version", "is_staff", "id", "closed_at"]
    )
    | st.text(max_size=8),
    texts(),
    max_size=3,
)
VERSION = st.one_of(st.sampled_from(["current", "stale"]), INT_TEXT)


@pytest.fixture
def cast(db, request):
    return build_cast(request)


@pytest.fixture
def clients(cast) -> dict[str, Client]:
    """A logged-in client per role, made once per test (their sessions outlive the examples).
    The inactive users' sessions are refused on every request: they are visitors."""
    result = {"anonymous": Client()}
    for role in ROLES[:-1]:
        client = Client()
        client.force_login(cast.user(role), backend=BACKEND)
        result[role] = client
    return result


def error_messages(response) -> list[str]:
    return [
        str(message)
        for message in get_messages(response.wsgi_request)
        if message.level == constants.ERROR
    ]


def assert_shows_form_errors(response, form_name: str = "form") -> None:
    """A re-rendered form: the errors are words, and each visible one is on the page."""
    form = response.context[form_name]
    errors = form.errors.get_json_data()
    assert errors, "a 400 without a form error"
    assert_readable((e["message"] for items in errors.values() for e in items), form.data.values())
    html = response.content.decode()
    for name, items in errors.items():
        if name == "__all__" or not form.fields[name].widget.is_hidden:
            for error in items:
                assert escape(error["message"]) in html, error["message"]


def assert_refused_with_message(response, before: dict, echoes=()) -> None:
    """A refused change: the ticket page again, an error in words on it, nothing written.
    `echoes` are the values sent, which a message may quote ("x is not one of the choices")."""
    messages = error_messages(response)
    assert_readable(messages, echoes)
    html = response.content.decode()
    assert any(escape(message) in html for message in messages)
    assert diff(before, snapshot()) == {}, "a refused request wrote something"


def has_nul(data: dict) -> bool:
    return any("\x00" in f"{key}{value}" for key, value in data.items())


def refused_as_unreadable(response, before: dict) -> bool:
    """Whether the request was refused before any view read it (RequestInputMiddleware: a NUL
    character anywhere in the form or the address): the 400 page says why, nothing is written.
    """
    if "400.html" not in {template.name for template in response.templates}:
        event(f"answered {response.status_code}")
        return False
    event("refused as unreadable")
    assert response.status_code == 400
    reason = response.context["reason"]
    assert_readable([reason])
    assert escape(reason) in response.content.decode()
    assert diff(before, snapshot()) == {}, "a refused request wrote something"
    return True


def resolve(key: str, value, ticket: Ticket, cast) -> str:
    """The placeholders a strategy draws: the version the page showed, one before, a user."""
    if key == "version" and value in ("current", "stale"):
        return str(ticket.version - (value == "stale"))
    if key == "assignee" and value in cast.user_pks:
        return str(cast.user_pks[value])
    return value


class Posted(NamedTuple):
    ticket: Ticket
    data: dict  # as posted
    before: dict
    changes: dict


def post_change(clients, cast, role, ticket_name, view, data, extra):
    ticket = cast.ticket(ticket_name)
    data = {**extra, **{key: resolve(key, value, ticket, cast) for key, value in data.items()}}
    before = snapshot()
    response = clients[role].post(f"/tickets/{ticket.pk}/{view}/", data)
    # Refused before the login check and the ticket lookup: the same 400 for anyone.
    assert refused_as_unreadable(response, before) == has_nul(data)
    if has_nul(data):
        return None
    visible = role in STAFF or (role in ACTIVE and ticket.reporter_id == cast.user_pks[role])
    if role not in ACTIVE:
        assert response.status_code == 302 and response["Location"].startswith(LOGIN_PAGE)
        assert diff(before, snapshot()) == {}
        return None
    if not visible:
        assert response.status_code == 404  # someone else's ticket: as if it did not exist
        assert diff(before, snapshot()) == {}
        return None
    assert response.status_code in (302, 400, 403, 409), response.status_code
    if response.status_code != 302:
        assert_refused_with_message(response, before, data.values())
        return None
    assert response["Location"] == ticket.get_absolute_url()
    return Posted(ticket, data, before, diff(before, snapshot()))


# --- Ticket changes ----------------------------------------------------------------------------


@PROPERTY
@given(
    role=st.sampled_from(ROLES),
    ticket_name=st.sampled_from(TICKETS),
    data=st.fixed_dictionaries(
        {}, optional={"status": choice_text(Ticket.Status.values), "version": VERSION}
    ),
    extra=EXTRA,
)
@example(
    role="customer", ticket_name="open", data={"status": "closed", "version": "stale"}, extra={}
)
def test_status_page(clients, cast, role, ticket_name, data, extra):
    with rolled_back():
        result = post_change(clients, cast, role, ticket_name, "status", data, extra)
        if result is None:
            return
        ticket, data, changes = result.ticket, result.data, result.changes
        if changes:  # or it was already in that status: nothing to do
            assert set(changes) == {"tickets", "events"}
            [event] = changes["events"].added
            assert (event["from_value"], event["to_value"]) == (ticket.status, data["status"])
            [(old, new)] = changes["tickets"].changed
            assert new["status"] == data["status"] and new["version"] == old["version"] + 1


@PROPERTY
@given(
    role=st.sampled_from(ROLES),
    ticket_name=st.sampled_from(TICKETS),
    data=st.fixed_dictionaries(
        {},
        optional={
            "assignee": st.one_of(st.sampled_from(ASSIGNEES[1:]), st.just(""), INT_TEXT),
            "version": VERSION,
        },
    ),
    extra=EXTRA,
)
def test_assign_page(clients, cast, role, ticket_name, data, extra):
    with rolled_back():
        result = post_change(clients, cast, role, ticket_name, "assign", data, extra)
        if result is None:
            return
        assert role in STAFF
        before, changes = result.before, result.changes
        if changes:
            assert set(changes) == {"tickets", "events"}
            [(old, new)] = changes["tickets"].changed
            assignee = new["assignee_id"]
            assert assignee != old["assignee_id"]
            assert assignee is None or before["users"][assignee]["is_staff"]
            assert assignee is None or before["users"][assignee]["is_active"]
            assert len(changes["events"].added) == 1 + (
                assignee is not None and old["status"] == Ticket.Status.OPEN
            )


@PROPERTY
@given(
    role=st.sampled_from(ROLES),
    ticket_name=st.sampled_from(TICKETS),
    data=st.fixed_dictionaries(
        {}, optional={"priority": choice_text(Ticket.Priority.values), "version": VERSION}
    ),
    extra=EXTRA,
)
def test_priority_page(clients, cast, role, ticket_name, data, extra):
    with rolled_back():
        result = post_change(clients, cast, role, ticket_name, "priority", data, extra)
        if result is None:
            return
        assert role in STAFF
        data, changes = result.data, result.changes
        if changes:
            assert set(changes) == {"tickets", "events"}
            [(old, new)] = changes["tickets"].changed
            assert new["priority"] == data["priority"]
            assert changed_fields(old, new) <= {
                "priority",
                "priority_rank",
                "version",
                "modified_at",
                "modified_by_id",
            }


@PROPERTY
@given(
    role=st.sampled_from(ROLES),
    ticket_name=st.sampled_from(TICKETS),
    data=st.fixed_dictionaries(
        {},
        optional={
            "content": texts(10_000),
            "client_token": st.one_of(st.just("used"), UUID_TEXT),
            "is_internal": st.one_of(st.sampled_from(["on", "true", "false"]), texts()),
        },
    ),
    extra=EXTRA,
)
@example(
    role="customer",
    ticket_name="open",
    data={"content": "a\x00b", "client_token": str(uuid.UUID(int=7))},
    extra={},
)
def test_reply_page(clients, cast, role, ticket_name, data, extra):
    if data.get("client_token") == "used":
        data = {**data, "client_token": str(cast.used_message_token)}
    with rolled_back():
        result = post_change(clients, cast, role, ticket_name, "reply", data, extra)
        if result is None:
            return
        data, changes = result.data, result.changes
        if not changes:
            # The same form sent again: its message is stored already.
            assert as_uuid(data["client_token"]) == cast.used_message_token
            return
        assert set(changes) <= {"messages", "tickets", "events"}
        [message] = changes["messages"].added
        assert message["sender_id"] == cast.user_pks[role]
        assert message["content"] == data["content"].strip()
        # Only staff can write a note, whatever the POST says.
        assert not message["is_internal"] or role in STAFF


# --- New ticket --------------------------------------------------------------------------------


@PROPERTY
@given(
    role=st.sampled_from(ROLES),
    data=st.fixed_dictionaries(
        {},
        optional={
            "title": texts(200),
            "description": texts(20_000),
            "priority": choice_text(Ticket.Priority.values),
            "client_token": st.one_of(st.just("used"), UUID_TEXT),
        },
    ),
    extra=EXTRA,
)
def test_new_ticket_page(clients, cast, role, data, extra):
    if data.get("client_token") == "used":
        data = {**data, "client_token": str(cast.used_ticket_token)}
    data = {**extra, **data}
    with rolled_back():
        before = snapshot()
        response = clients[role].post("/tickets/new/", data)
        if refused_as_unreadable(response, before):
            assert has_nul(data)
            return
        assert not has_nul(data)
        if role not in ACTIVE:
            assert response.status_code == 302 and response["Location"].startswith(LOGIN_PAGE)
            assert diff(before, snapshot()) == {}
            return
        changes = diff(before, snapshot())
        if response.status_code == 400:
            assert changes == {}
            assert_shows_form_errors(response)
            return
        assert response.status_code == 302, response.status_code
        assert TicketCreateForm(data).is_valid()
        if not changes:
            # The same form sent again by its author: back to the ticket it made.
            assert role == "customer"
            assert response["Location"] == f"/tickets/{cast.ticket_pks['open']}/"
            return
        assert set(changes) == {"tickets"}
        [row] = changes["tickets"].added
        assert response["Location"] == f"/tickets/{row['id']}/"
        # Whatever else was posted, a new ticket is the poster's, open, unassigned, version 1.
        assert (row["reporter_id"], row["status"], row["assignee_id"], row["version"]) == (
            cast.user_pks[role],
            Ticket.Status.OPEN,
            None,
            1,
        )
        assert row["title"] == data["title"].strip()


# --- Accounts ----------------------------------------------------------------------------------

USERNAMES = st.one_of(
    texts(150),
    st.from_regex(r"[\w.+-]{1,12}", fullmatch=True),
    st.sampled_from(["customer", "Agent", "new.user", "\ufb01x", "\uff41gent", "a@b"]),
)
EMAILS = st.one_of(
    st.emails(), texts(254), st.sampled_from(["customer@example.com", "New@Example.com"])
)
PASSWORDS = st.one_of(texts(1024), st.just("correct-horse-battery-staple"), st.just(PASSWORD))


# Anything, or a form a person would fill in (so that some registrations succeed).
REGISTRATIONS = st.one_of(
    st.fixed_dictionaries(
        {}, optional={"username": USERNAMES, "email": EMAILS, "password1": PASSWORDS}
    ),
    st.fixed_dictionaries(
        {
            "username": st.from_regex(r"[\w.+-]{1,30}", fullmatch=True),
            "email": st.emails(),
            "password1": st.just("correct-horse-battery-staple"),
        }
    ),
)


@PROPERTY
@given(data=REGISTRATIONS, password2=st.one_of(st.none(), PASSWORDS), extra=EXTRA)
# "ﬁx" is stored as "fix" (logging the new account in as typed was a server error).
@example(
    data={"username": "\ufb01x", "email": "fix@example.com", "password1": "correct-horse-battery"},
    password2=None,
    extra={},
)
def test_register_page(cast, data, password2, extra):
    second = data.get("password1", "") if password2 is None else password2
    data = {**extra, **data, "password2": second}
    with rolled_back():
        client = Client()
        before = snapshot()
        response = client.post("/accounts/register/", data)
        if refused_as_unreadable(response, before):
            assert has_nul(data)
            return
        assert not has_nul(data)
        changes = diff(before, snapshot())
        if response.status_code == 400:
            assert changes == {}
            assert "_auth_user_id" not in client.session
            return assert_shows_form_errors(response)
        # A new address and one that has an account get the same answer; nobody is logged in
        # before the address is confirmed.
        assert response.status_code == 302
        assert response["Location"] == "/accounts/register/check-email/"
        assert RegistrationForm(data).is_valid()
        assert "_auth_user_id" not in client.session
        if changes == {}:
            email = data["email"].strip().lower()
            assert any(row["email"].lower() == email for row in before["users"].values())
            return
        assert set(changes) == {"users"}
        [row] = changes["users"].added
        assert not row["is_staff"] and not row["is_superuser"] and not row["agent"]
        assert row["email_verified_at"] is None


@PROPERTY
@given(
    who=st.sampled_from([*ROLES[:-1], "typed"]),
    way=st.sampled_from(["username", "email"]),
    typed=USERNAMES,
    password=PASSWORDS,
    next_url=st.one_of(
        st.none(),
        st.sampled_from(
            ["/tickets/", "//evil.example/", "https://evil.example/", "javascript:alert(1)", "abc"]
        ),
        texts(),
    ),
)
@example(who="customer", way="username", typed="", password=PASSWORD, next_url="abc")
def test_login_page(cast, who, way, typed, password, next_url):
    identifier = typed if who == "typed" else getattr(cast.user(who), way)
    data = {"username": identifier, "password": password}
    if next_url is not None:
        data["next"] = next_url
    with rolled_back():
        client = Client()
        before = snapshot()
        response = client.post(LOGIN_PAGE, data)
        if refused_as_unreadable(response, before):
            assert has_nul(data)
            return
        assert not has_nul(data)
        changes = diff(before, snapshot())
        if response.status_code == 400:
            assert "_auth_user_id" not in client.session
            assert changes == {}
            return assert_shows_form_errors(response)
        assert response.status_code == 302, response.status_code
        assert LoginForm(data).is_valid() and password == PASSWORD
        # Only ever to a page of this site.
        assert url_has_allowed_host_and_scheme(response["Location"], {"testserver"})
        user_id = int(client.session["_auth_user_id"])
        assert who == "typed" or user_id == cast.user_pks[who]
        assert before["users"][user_id]["is_active"]
        [(old, new)] = changes["users"].changed
        assert set(changes) == {"users"} and changed_fields(old, new) == {"last_login"}


@PROPERTY
@given(
    role=st.sampled_from(ROLES),
    data=st.fixed_dictionaries(
        {},
        optional={
            "first_name": texts(150),
            "last_name": texts(150),
            "notify_by_email": st.one_of(st.sampled_from(["on", "false"]), texts()),
        },
    ),
    extra=st.fixed_dictionaries(
        {},
        optional={
            "username": USERNAMES,
            "email": EMAILS,
            "is_staff": st.just("on"),
            "is_superuser": st.just("on"),
            "password": PASSWORDS,
        },
    ),
)
def test_profile_page(clients, cast, role, data, extra):
    with rolled_back():
        before = snapshot()
        data = {**extra, **data}
        response = clients[role].post("/accounts/profile/", data)
        if refused_as_unreadable(response, before):
            assert has_nul(data)
            return
        assert not has_nul(data)
        changes = diff(before, snapshot())
        if role not in ACTIVE:
            assert response.status_code == 302 and response["Location"].startswith(LOGIN_PAGE)
            assert changes == {}
            return
        if response.status_code == 400:
            assert changes == {}
            return assert_shows_form_errors(response)
        assert response.status_code == 302 and response["Location"] == "/accounts/profile/"
        assert set(changes) <= {"users"}
        for old, new in changes["users"].changed if changes else ():
            assert old["id"] == cast.user_pks[role]
            assert changed_fields(old, new) <= {"first_name", "last_name", "notify_by_email"}


# --- Reports -----------------------------------------------------------------------------------


PRESET_VALUES = ["7d", "30d", "90d", "month", "all", "custom"]
ANY_PERIODS = st.fixed_dictionaries(
    {
        "preset": choice_text(PRESET_VALUES),
        "start": DATE_TEXT,
        "end": DATE_TEXT,
        "bucket": choice_text(["day", "week", "month"]),
    }
)
PLAUSIBLE_PERIODS = st.fixed_dictionaries(
    {},
    optional={
        "preset": st.sampled_from(PRESET_VALUES),
        "start": st.dates(date(1990, 1, 1), date(2040, 1, 1)).map(date.isoformat),
        "end": st.dates(date(1990, 1, 1), date(2040, 1, 1)).map(date.isoformat),
        "bucket": st.sampled_from(["day", "week", "month"]),
    },
)


@PROPERTY
@given(
    role=st.sampled_from(["agent", "admin", "customer"]),
    params=st.integers(0, 9).flatmap(
        # One in ten a plausible period (a full report is slow to draw), else anything.
        lambda n: PLAUSIBLE_PERIODS if n == 0 else ANY_PERIODS
    ),
)
# The edges: the most buckets allowed, and the last month the calendar allows.
@example(
    role="agent",
    params={"preset": "custom", "start": "2020-01-01", "end": "2022-09-26", "bucket": "day"},
)
@example(
    role="agent",
    params={"preset": "custom", "start": "9999-10-01", "end": "9999-11-30", "bucket": "month"},
)
def test_report_page(clients, role, params):
    with rolled_back():
        before = snapshot()
        response = clients[role].get("/reports/", params)
        assert diff(before, snapshot()) == {}
        if refused_as_unreadable(response, before):
            # A NUL character, or an address longer than the site reads.
            assert has_nul(params) or len(response.wsgi_request.META["QUERY_STRING"]) > 8192
            return
        assert not has_nul(params)
        if role == "customer":
            assert response.status_code == 404  # a staff page: as if there were none
            return
        assert response.status_code in (200, 400), response.status_code
        if response.status_code == 400:
            assert_shows_form_errors(response)
