"""Property-based tests of every write service (hypothesis, 200 examples each).

Whatever the input (any title, description or message text, unknown priorities and statuses,
customers, inactive users and nobody as assignees, stale versions, every role as the actor),
a service either does exactly what it promises, and the database holds exactly the rows it
should, or it raises ValidationError or PermissionDenied with a readable message and the
database is exactly as before. Each property also predicts which of the two it must be.

Every example runs in a transaction that is rolled back (property_helpers.rolled_back), so the
cast made once per test is the same for every example.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.test import RequestFactory
from django.utils import timezone
from hypothesis import event, example, given
from hypothesis import strategies as st

from accounts.models import User, UsernameValidator
from accounts.services import agent_create_or_promote
from conftest import PASSWORD
from messaging.models import Message
from messaging.services import message_send
from tests.property_helpers import (
    ASSIGNEES,
    PROPERTY,
    ROLES,
    TICKETS,
    VERSION_KINDS,
    as_uuid,
    assert_readable,
    build_cast,
    changed_fields,
    choice_text,
    diff,
    expected_version_for,
    rolled_back,
    snapshot,
    texts,
)
from tickets.housekeeping import CLOSED, close_stale_tickets
from tickets.models import StaleTicketError, Ticket, TicketEvent
from tickets.services import (
    agent_remove,
    ticket_assign,
    ticket_create,
    ticket_mark_seen,
    ticket_set_priority,
    ticket_update,
)

STAFF = {"agent", "other_agent", "admin"}
ACTIVE = {"customer", "other_customer", *STAFF}
# The fields a change to a ticket sets besides the change itself (Ticket.touch).
TOUCHED = {"version", "modified_at", "modified_by_id"}

# Anyone, but staff (who may do most things) half the time; and a version that is right (or not
# given) two times in three: so that a fair share of the examples get past the checks.
ACTORS = st.one_of(st.sampled_from(sorted(STAFF)), st.sampled_from(ROLES))
VERSIONS = st.one_of(st.sampled_from(["none", "current"]), st.sampled_from(VERSION_KINDS))
STATUSES = st.one_of(st.sampled_from(Ticket.Status.values), choice_text(Ticket.Status.values))
PRIORITIES = st.one_of(st.sampled_from(Ticket.Priority.values), choice_text(Ticket.Priority.values))


@pytest.fixture
def cast(db, request):
    return build_cast(request)


def attempt(call):
    """Run a service: (result, None) or (None, the ValidationError/PermissionDenied it raised).
    Any other exception fails the property."""
    try:
        result = call()
    except (ValidationError, PermissionDenied) as exc:
        event(f"refused: {type(exc).__name__}")
        return None, exc
    event("done")
    return result, None


def assert_refused(exc, expected: type, before: dict, *echoes) -> None:
    """The service refused with the expected kind of error, a readable one, and wrote nothing."""
    assert isinstance(exc, expected), f"expected {expected.__name__}, got {exc!r}"
    messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
    assert_readable(messages, echoes)
    assert diff(before, snapshot()) == {}, "a refused call wrote something"


def fits(text: str, limit: int) -> bool:
    """What a required text field of ours accepts once stripped."""
    text = text.strip()
    return 1 <= len(text) <= limit and "\x00" not in text


def only_ticket_changed(changes: dict, ticket_pk: int) -> dict:
    """The one ticket row that changed (asserting nothing else did), as (before, after)."""
    assert not changes["tickets"].added and not changes["tickets"].removed
    [(old, new)] = changes["tickets"].changed
    assert old["id"] == ticket_pk
    return old, new


# --- Tickets -----------------------------------------------------------------------------------


@PROPERTY
@given(
    reporter=st.sampled_from(ROLES),
    title=texts(200),
    description=texts(20_000),
    priority=PRIORITIES,
    token=st.sampled_from(["none", "fresh", "used"]),
)
# A NUL byte cannot be stored by PostgreSQL: refused on every database, not stored on SQLite.
@example(reporter="customer", title="a\x00b", description="ok", priority="low", token="none")
@example(reporter="customer", title="ok", description="\x00", priority="low", token="fresh")
def test_ticket_create(cast, reporter, title, description, priority, token):
    client_token = {"none": None, "fresh": uuid.uuid4(), "used": cast.used_ticket_token}[token]
    with rolled_back():
        user = cast.user(reporter)
        before = snapshot()
        ticket, exc = attempt(
            lambda: ticket_create(
                reporter=user,
                title=title,
                description=description,
                priority=priority,
                client_token=client_token,
            )
        )
        if reporter not in ACTIVE:
            return assert_refused(exc, PermissionDenied, before)
        if token == "used":
            # The same form sent again: its first ticket, or refused for someone else's form.
            if reporter != "customer":
                return assert_refused(exc, ValidationError, before)
            assert exc is None and ticket.pk == cast.ticket_pks["open"]
            assert diff(before, snapshot()) == {}
            return
        valid = fits(title, 200) and fits(description, 20_000)
        if not (valid and priority in Ticket.Priority.values):
            return assert_refused(exc, ValidationError, before, title, description, priority)
        assert exc is None, exc
        changes = diff(before, snapshot())
        assert set(changes) == {"tickets"}
        [row] = changes["tickets"].added
        assert not changes["tickets"].changed
        assert row["id"] == ticket.pk
        assert (row["title"], row["description"]) == (title.strip(), description.strip())
        assert (row["priority"], row["status"], row["version"]) == (priority, "open", 1)
        assert (row["reporter_id"], row["assignee_id"]) == (user.pk, None)
        assert row["closed_at"] is None and as_uuid(row["client_token"]) == client_token


@PROPERTY
@given(
    ticket_name=st.sampled_from(TICKETS),
    assignee=st.sampled_from(ASSIGNEES),
    by=st.one_of(st.none(), ACTORS),
    version_kind=VERSIONS,
)
def test_ticket_assign(cast, ticket_name, assignee, by, version_kind):
    with rolled_back():
        ticket = cast.ticket(ticket_name)
        old_assignee, old_status, old_version = ticket.assignee_id, ticket.status, ticket.version
        actor, new_assignee = cast.user(by), cast.user(assignee)
        expected_version = expected_version_for(version_kind, ticket.version)
        before = snapshot()
        event, exc = attempt(
            lambda: ticket_assign(
                ticket=ticket, assignee=new_assignee, by=actor, expected_version=expected_version
            )
        )
        if by is not None and by not in STAFF:
            return assert_refused(exc, PermissionDenied, before)
        if assignee is not None and assignee not in STAFF:
            return assert_refused(exc, ValidationError, before)
        new_pk = getattr(new_assignee, "pk", None)
        if new_pk == old_assignee:
            assert exc is None and event is None  # already so: nothing to do, whatever version
            assert diff(before, snapshot()) == {}
            return
        if expected_version not in (None, old_version):
            return assert_refused(exc, StaleTicketError, before)
        assert exc is None, exc
        changes = diff(before, snapshot())
        assert set(changes) == {"tickets", "events"}
        old, new = only_ticket_changed(changes, ticket.pk)
        activates = new_pk is not None and old_status == Ticket.Status.OPEN
        events = changes["events"].added
        assert len(events) == 1 + activates and not changes["events"].changed
        assert (events[0]["id"], events[0]["kind"]) == (event.pk, TicketEvent.Kind.ASSIGNMENT)
        assert events[0]["to_value"] == getattr(new_assignee, "username", "")
        assert all(row["actor_id"] == getattr(actor, "pk", None) for row in events)
        assert new["assignee_id"] == new_pk
        assert new["version"] == old_version + len(events)
        assert new["status"] == (Ticket.Status.ACTIVE if activates else old_status)
        allowed = {"assignee_id", *TOUCHED}
        if activates:
            allowed |= {"status", "status_rank", "last_activity_at"}
        assert changed_fields(old, new) <= allowed


@PROPERTY
@given(
    ticket_name=st.sampled_from(TICKETS),
    priority=PRIORITIES,
    by=ACTORS,
    version_kind=VERSIONS,
)
def test_ticket_set_priority(cast, ticket_name, priority, by, version_kind):
    with rolled_back():
        ticket = cast.ticket(ticket_name)
        old_priority, old_version = ticket.priority, ticket.version
        expected_version = expected_version_for(version_kind, ticket.version)
        actor = cast.user(by)
        before = snapshot()
        event, exc = attempt(
            lambda: ticket_set_priority(
                ticket=ticket, priority=priority, by=actor, expected_version=expected_version
            )
        )
        if by not in STAFF:
            return assert_refused(exc, PermissionDenied, before)
        if priority not in Ticket.Priority.values:
            return assert_refused(exc, ValidationError, before, priority)
        if priority == old_priority:
            assert exc is None and event is None and diff(before, snapshot()) == {}
            return
        if expected_version not in (None, old_version):
            return assert_refused(exc, StaleTicketError, before)
        assert exc is None, exc
        changes = diff(before, snapshot())
        assert set(changes) == {"tickets", "events"}
        old, new = only_ticket_changed(changes, ticket.pk)
        [row] = changes["events"].added
        assert (row["kind"], row["from_value"], row["to_value"]) == (
            "priority",
            old_priority,
            priority,
        )
        assert new["version"] == old_version + 1
        assert changed_fields(old, new) <= {"priority", "priority_rank", *TOUCHED}


@PROPERTY
@given(
    ticket_name=st.sampled_from(TICKETS),
    new_status=STATUSES,
    by=st.one_of(st.none(), ACTORS),
    version_kind=VERSIONS,
)
def test_update_status(cast, ticket_name, new_status, by, version_kind):
    with rolled_back():
        ticket = cast.ticket(ticket_name)
        old_status, old_version = ticket.status, ticket.version
        expected_version = expected_version_for(version_kind, ticket.version)
        actor = cast.user(by)
        is_reporter = actor is not None and actor.pk == ticket.reporter_id
        before = snapshot()
        event, exc = attempt(
            lambda: ticket.update_status(new_status, by=actor, expected_version=expected_version)
        )
        if new_status not in Ticket.Status.values:
            return assert_refused(exc, ValidationError, before, new_status)
        if by is not None and by not in STAFF and not (is_reporter and by in ACTIVE):
            return assert_refused(exc, PermissionDenied, before)
        if new_status == old_status:
            assert exc is None and event is None and diff(before, snapshot()) == {}
            return
        if expected_version not in (None, old_version):
            return assert_refused(exc, StaleTicketError, before)
        if new_status not in Ticket.TRANSITIONS[old_status]:
            return assert_refused(exc, ValidationError, before)
        reporter_move = (old_status, new_status) in Ticket.REPORTER_TRANSITIONS
        if by not in STAFF and by is not None and not reporter_move:
            return assert_refused(exc, PermissionDenied, before)
        assert exc is None, exc
        changes = diff(before, snapshot())
        assert set(changes) == {"tickets", "events"}
        _, new = only_ticket_changed(changes, ticket.pk)
        [row] = changes["events"].added
        assert (row["id"], row["from_value"], row["to_value"]) == (event.pk, old_status, new_status)
        assert row["actor_id"] == getattr(actor, "pk", None)
        assert new["status"] == new_status and new["version"] == old_version + 1
        assert (new["closed_at"] is not None) == (new_status == Ticket.Status.CLOSED)


@PROPERTY
@given(
    ticket_name=st.sampled_from(TICKETS),
    by=ACTORS,
    version_kind=VERSIONS,
    status=st.one_of(st.none(), STATUSES),
    change_assignee=st.booleans(),
    assignee=st.sampled_from(ASSIGNEES),
    priority=st.one_of(st.none(), PRIORITIES),
)
def test_ticket_update_is_all_or_nothing(
    cast, ticket_name, by, version_kind, status, change_assignee, assignee, priority
):
    with rolled_back():
        ticket = cast.ticket(ticket_name)
        expected_version = expected_version_for(version_kind, ticket.version)
        actor, new_assignee = cast.user(by), cast.user(assignee)
        before = snapshot()
        events, exc = attempt(
            lambda: ticket_update(
                ticket=ticket,
                by=actor,
                expected_version=expected_version,
                status=status,
                assignee=new_assignee,
                change_assignee=change_assignee,
                priority=priority,
            )
        )
        # The expected outcome, step by step as the service applies them.
        if by not in STAFF:
            return assert_refused(exc, PermissionDenied, before)
        if expected_version not in (None, before["tickets"][ticket.pk]["version"]):
            return assert_refused(exc, StaleTicketError, before)
        state = before["tickets"][ticket.pk]
        now_status = state["status"]
        now_assignee = state["assignee_id"]
        now_priority = state["priority"]
        n_events = 0
        if change_assignee:
            if assignee is not None and assignee not in STAFF:
                return assert_refused(exc, ValidationError, before)
            if getattr(new_assignee, "pk", None) != now_assignee:
                now_assignee = getattr(new_assignee, "pk", None)
                n_events += 1
                if now_assignee is not None and now_status == Ticket.Status.OPEN:
                    now_status = Ticket.Status.ACTIVE
                    n_events += 1
        if priority is not None:
            if priority not in Ticket.Priority.values:
                return assert_refused(exc, ValidationError, before, priority)
            if priority != now_priority:
                now_priority = priority
                n_events += 1
        if status is not None and status != now_status:
            if status not in Ticket.TRANSITIONS.get(now_status, ()):
                return assert_refused(exc, ValidationError, before, status)
            now_status = status
            n_events += 1
        assert exc is None, exc
        now = snapshot()
        changes = diff(before, now)
        assert set(changes) <= {"tickets", "events"}
        after = now["tickets"][ticket.pk]
        assert (after["status"], after["assignee_id"], after["priority"]) == (
            now_status,
            now_assignee,
            now_priority,
        )
        added = changes["events"].added if "events" in changes else []
        assert len(added) == n_events
        assert len(events) <= n_events and {e.pk for e in events} <= {e["id"] for e in added}
        assert after["version"] == state["version"] + n_events
        assert (after["closed_at"] is not None) == (now_status == Ticket.Status.CLOSED)


@PROPERTY
@given(ticket_name=st.sampled_from(TICKETS), user=st.sampled_from(ROLES))
def test_ticket_mark_seen(cast, ticket_name, user):
    with rolled_back():
        ticket = cast.ticket(ticket_name)
        viewer = cast.user(user)
        unseen = ticket.has_unseen_reply and viewer.pk == ticket.reporter_id
        before = snapshot()
        ticket_mark_seen(ticket=ticket, user=viewer)
        changes = diff(before, snapshot())
        if not unseen:
            assert changes == {}
            return
        old, new = only_ticket_changed(changes, ticket.pk)
        assert set(changes) == {"tickets"}
        assert changed_fields(old, new) == {"reporter_seen_at"}  # not a change: same version
        assert not Ticket.objects.get(pk=ticket.pk).has_unseen_reply


# --- Messages ----------------------------------------------------------------------------------


@PROPERTY
@given(
    ticket_name=st.sampled_from(TICKETS),
    sender=st.sampled_from(ROLES),
    content=texts(10_000),
    is_internal=st.booleans(),
    token=st.sampled_from(["none", "fresh", "used"]),
    entry=st.sampled_from([message_send, Message.send]),
)
@example(
    ticket_name="open",
    sender="customer",
    content="a\x00b",
    is_internal=False,
    token="none",
    entry=message_send,
)
def test_message_send(cast, ticket_name, sender, content, is_internal, token, entry):
    client_token = {"none": None, "fresh": uuid.uuid4(), "used": cast.used_message_token}[token]
    with rolled_back():
        ticket = cast.ticket(ticket_name)
        user = cast.user(sender)
        before = snapshot()
        state = before["tickets"][ticket.pk]
        message, exc = attempt(
            lambda: entry(
                ticket=ticket,
                sender=user,
                content=content,
                is_internal=is_internal,
                client_token=client_token,
            )
        )
        is_reporter = user.pk is not None and user.pk == ticket.reporter_id
        if sender not in ACTIVE or not (sender in STAFF or is_reporter):
            return assert_refused(exc, PermissionDenied, before)
        if is_internal and sender not in STAFF:
            return assert_refused(exc, PermissionDenied, before)
        if token == "used":
            # Sent by the customer on the "active" ticket: the same form again returns it.
            if (sender, ticket_name) != ("customer", "active"):
                return assert_refused(exc, ValidationError, before)
            assert exc is None and message.client_token == cast.used_message_token
            assert diff(before, snapshot()) == {}
            return
        if not fits(content, 10_000):
            return assert_refused(exc, ValidationError, before, content)
        assert exc is None, exc
        changes = diff(before, snapshot())
        [row] = changes["messages"].added
        assert (row["id"], row["content"], row["is_internal"]) == (
            message.pk,
            content.strip(),
            is_internal,
        )
        assert row["sender_id"] == user.pk
        if is_internal:
            # A note changes nothing else: no version, no activity, no reopen.
            assert set(changes) == {"messages"}
            return
        reopens = is_reporter and state["status"] == Ticket.Status.CLOSED
        assert set(changes) == (
            {"messages", "tickets", "events"} if reopens else {"messages", "tickets"}
        )
        old, new = only_ticket_changed(changes, ticket.pk)
        assert new["version"] == old["version"] + 1 + reopens
        if reopens:
            assert new["status"] == Ticket.Status.OPEN and new["closed_at"] is None
        if sender in STAFF and not is_reporter:
            assert new["last_staff_reply_at"] == row["created_at"]
            assert new["first_response_at"] == (old["first_response_at"] or row["created_at"])
        else:
            assert new["first_response_at"] == old["first_response_at"]


@PROPERTY
@given(
    days=st.one_of(
        st.integers(min_value=-3, max_value=40),
        st.integers(),
        st.sampled_from([999_999_999, 10**9, 3_000_000, 800_000, 739_000]),
    ),
    clock_ahead=st.integers(min_value=0, max_value=10_000),
    dry_run=st.booleans(),
)
# More days than there are since year 1: nothing has waited that long (it used to overflow).
@example(days=10**9, clock_ahead=0, dry_run=False)
@example(days=800_000, clock_ahead=0, dry_run=False)
def test_close_stale_tickets(cast, days, clock_ahead, dry_run):
    now = timezone.now() + timedelta(days=clock_ahead)
    with rolled_back():
        # The cast's one ticket waiting on its reporter: "active", last message a staff reply.
        staff_reply = (
            Message.objects.filter(ticket=cast.ticket_pks["active"], is_internal=False)
            .latest("created_at")
            .created_at
        )
        before = snapshot()
        tickets, exc = attempt(lambda: close_stale_tickets(days=days, now=now, dry_run=dry_run))
        if days < 1:
            return assert_refused(exc, ValidationError, before)
        assert exc is None, exc
        try:
            stale = staff_reply < now - timedelta(days=days)
        except OverflowError:
            stale = False
        assert [t.pk for t in tickets] == ([cast.ticket_pks["active"]] if stale else [])
        changes = diff(before, snapshot())
        if dry_run or not stale:
            assert changes == {}
            return
        assert tickets[0].outcome == CLOSED
        assert set(changes) == {"tickets", "messages", "events"}
        _, new = only_ticket_changed(changes, cast.ticket_pks["active"])
        assert new["status"] == Ticket.Status.CLOSED and new["closed_at"] is not None
        [message], [event] = changes["messages"].added, changes["events"].added
        assert message["sender_id"] == cast.user_pks["agent"]
        assert (event["actor_id"], event["to_value"]) == (None, Ticket.Status.CLOSED)


# --- Accounts ----------------------------------------------------------------------------------

USERNAMES = st.one_of(
    texts(150),
    st.from_regex(r"[\w.+-]{1,12}", fullmatch=True),
    st.sampled_from(["customer", "CUSTOMER", " Agent ", "new.user+1", "a@b", "x" * 151]),
)
EMAILS = st.one_of(
    st.emails(),
    texts(254),
    st.sampled_from(["customer@example.com", "CUSTOMER@example.COM", " new@example.com ", "a@b"]),
)
PASSWORDS = st.one_of(
    texts(),
    st.sampled_from(["correct-horse-battery-staple", "password", "12345678901234", "short"]),
)
# What a person would type: a new name, an address, a good password (some calls must succeed).
NEW_NAMES = st.from_regex(r"[\w.+-]{1,30}", fullmatch=True)
GOOD_PASSWORD = st.just("correct-horse-battery-staple")


def taken(field: str, value: str, before: dict) -> bool:
    return any(row[field].lower() == value.lower() for row in before["users"].values())


@PROPERTY
@given(
    username=st.one_of(NEW_NAMES, USERNAMES),
    password=st.one_of(GOOD_PASSWORD, PASSWORDS),
    email=st.one_of(st.emails(), EMAILS),
)
@example(username="fresh", password="correct-horse-battery-staple", email="Fresh@Example.COM")
# "ﬁx" is stored as "fix": the checks must look for "fix", or the name is taken twice.
@example(username="\ufb01x", password="correct-horse-battery-staple", email="fix@example.com")
@example(username="AGENT", password="correct-horse-battery-staple", email="x@example.com")
@example(username="\uff41gent", password="correct-horse-battery-staple", email="x@example.com")
def test_register(cast, username, password, email):
    with rolled_back():
        before = snapshot()
        user, exc = attempt(
            lambda: User.register(username=username, password=password, email=email)
        )
        if exc is not None:
            assert isinstance(exc, ValidationError) and hasattr(exc, "error_dict"), exc
            assert set(exc.message_dict) <= {"username", "email", "password"}
            return assert_refused(exc, ValidationError, before, username, email, password)
        changes = diff(before, snapshot())
        if user is None:
            # The address has an account: nothing is written, and the page answers as for a
            # new one (its owner is emailed).
            assert taken("email", email.strip(), before)
            assert changes == {}
            return
        assert set(changes) == {"users"} and not changes["users"].changed
        [row] = changes["users"].added
        assert row["email_verified_at"] is None  # until the link emailed to it is followed
        # Everything registration promises about a new account.
        # As typed, trimmed and NFKC-normalised ("ﬁx" is stored, and logs in, as "fix").
        assert row["username"] == unicodedata.normalize("NFKC", username.strip())
        assert len(row["username"]) <= 150
        UsernameValidator()(row["username"])
        validate_email(row["email"])
        assert row["email"].lower() == email.strip().lower()
        assert not taken("username", row["username"], before)
        assert not taken("email", row["email"], before)
        assert (row["is_staff"], row["is_superuser"], row["is_active"]) == (False, False, True)
        assert User.objects.get(pk=user.pk).check_password(password)


def variants(identifier: str) -> st.SearchStrategy[str]:
    return st.sampled_from([identifier, identifier.upper(), f" {identifier}\t", identifier.title()])


def named_by(identifier: str, users: dict) -> dict | None:
    """The user a login name means (UsernameOrEmailBackend): a username, or an email with "@"."""
    identifier = identifier.strip().lower()
    field = "email" if "@" in identifier else "username"
    return next((row for row in users.values() if row[field].lower() == identifier), None)


@PROPERTY
@given(
    role=st.sampled_from([r for r in ROLES if r != "anonymous"]),
    way=st.sampled_from(["username", "email", "other"]),
    data=st.data(),
    password=st.one_of(st.just(PASSWORD), st.just(PASSWORD.upper()), PASSWORDS),
)
@example(role="customer", way="other", data=None, password=PASSWORD)
def test_login(cast, role, way, data, password):
    with rolled_back():
        user = cast.user(role)
        if data is None:  # the explicit example: a NUL byte in the login name
            identifier = "customer\x00"
        elif way == "other":
            identifier = data.draw(st.one_of(USERNAMES, EMAILS), label="identifier")
        else:
            identifier = data.draw(variants(getattr(user, way)), label="identifier")
        request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="10.9.8.7")
        request.session = SessionStore()
        request.user = AnonymousUser()
        before = snapshot()
        logged_in, exc = attempt(
            lambda: User.login(request, username=identifier, password=password)
        )
        target = named_by(identifier, before["users"])
        if target is None or not target["is_active"] or password != PASSWORD:
            return assert_refused(exc, ValidationError, before, identifier)
        assert exc is None, exc
        assert logged_in.pk == target["id"]
        assert request.session["_auth_user_id"] == str(target["id"])
        changes = diff(before, snapshot())
        [(old, new)] = changes["users"].changed
        assert set(changes) == {"users"} and changed_fields(old, new) == {"last_login"}


# Anything; or a new agent as the command would make one; or someone already here, promoted.
AGENT_CALLS = st.one_of(
    st.fixed_dictionaries(
        {"username": USERNAMES, "email": EMAILS, "password": st.one_of(st.none(), PASSWORDS)}
    ),
    st.fixed_dictionaries(
        {
            "username": NEW_NAMES,
            "email": st.emails(),
            "password": st.one_of(GOOD_PASSWORD, PASSWORDS),
        }
    ),
    st.sampled_from(["agent", "Customer", "ADMIN", "other_agent", "inactive_customer"]).flatmap(
        lambda name: st.fixed_dictionaries(
            {
                "username": st.just(name),
                "email": st.sampled_from(
                    [f"{name.lower()}@example.com", f"{name.upper()}@EXAMPLE.COM", "x@example.com"]
                ),
                "password": st.one_of(st.none(), GOOD_PASSWORD, PASSWORDS),
            }
        )
    ),
)


@PROPERTY
@given(call=AGENT_CALLS)
@example(
    call={
        "username": "a\x00b",
        "email": "new@example.com",
        "password": "correct-horse-battery-staple",
    }
)
def test_agent_create_or_promote(cast, call):
    username, email, password = call["username"], call["email"], call["password"]
    with rolled_back():
        before = snapshot()
        result, exc = attempt(
            lambda: agent_create_or_promote(username=username, email=email, password=password)
        )
        existing = [
            row
            for row in before["users"].values()
            if row["username"].lower() == username.strip().lower()
        ]
        if exc is not None:
            assert hasattr(exc, "error_dict"), exc
            return assert_refused(exc, ValidationError, before, username, email, password)
        user, created = result
        now = snapshot()
        changes = diff(before, now)
        assert set(changes) <= {"users"}
        assert created == (not existing)
        row = now["users"][user.pk]
        assert row["is_staff"] and row["agent"]
        assert row["email"].lower() == email.strip().lower()
        if created:
            assert row["username"] == unicodedata.normalize("NFKC", username.strip())
            assert password
        else:
            assert row["id"] == existing[0]["id"]
            for old, new in changes["users"].changed if changes else ():
                assert old["id"] == row["id"]
                assert changed_fields(old, new) <= {"is_staff", "agent", "password"}
        if password is not None:
            assert User.objects.get(pk=user.pk).check_password(password)


@PROPERTY
@given(role=st.sampled_from([r for r in ROLES if r != "anonymous"]), dry_run=st.booleans())
def test_agent_remove(cast, role, dry_run):
    with rolled_back():
        user = cast.user(role)
        before = snapshot()
        tickets, exc = attempt(lambda: agent_remove(agent=user, dry_run=dry_run))
        if role == "admin":
            return assert_refused(exc, ValidationError, before)
        assert exc is None, exc
        theirs = sorted(
            (row["created_at"], pk)
            for pk, row in before["tickets"].items()
            if row["assignee_id"] == user.pk and row["status"] != Ticket.Status.CLOSED
        )
        assert [t.pk for t in tickets] == [pk for _, pk in theirs]
        now = snapshot()
        changes = diff(before, now)
        if dry_run:
            assert changes == {}
            return
        assert set(changes) <= {"users", "tickets", "events"}
        unassigned = changes["tickets"].changed if "tickets" in changes else []
        assert [new["id"] for _, new in unassigned] == sorted(t.pk for t in tickets)
        assert all(new["assignee_id"] is None for _, new in unassigned)
        events = changes["events"].added if "events" in changes else []
        assert [e["ticket_id"] for e in events] == [t.pk for t in tickets]
        assert all(e["actor_id"] is None and e["to_value"] == "" for e in events)
        assert not now["users"][user.pk]["is_staff"] and not now["users"][user.pk]["agent"]
