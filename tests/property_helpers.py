"""Shared pieces of the property-based tests (tests/test_properties*.py), not a test module.

Strategies for hostile input (any text, the tricky strings that break code, lengths just around
each limit, numbers and dates written as text), the cast every property draws its actors and
tickets from, a snapshot of everything the services and pages can write, and a block that rolls
each example back so that examples never see each other's rows.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from django.contrib.auth.models import AnonymousUser, Group
from django.db import connection, transaction
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st

from accounts.models import AGENTS_GROUP, User
from messaging.models import Message
from messaging.services import message_send
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_assign, ticket_create

# The number of examples, the example database and the randomness come from the hypothesis
# profile the root conftest.py loads (200 examples, a new seed every run, failures replayable).
# The fixtures make the cast once per test, not per example; every example runs inside
# rolled_back().
PROPERTY = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- Input ------------------------------------------------------------------------------------

TRICKY_TEXT = [
    "",
    " ",
    "   ",
    "\t",
    "\n",
    "\r\n",
    "\x00",
    "a\x00b",
    "\x00leading NUL",
    "\x01\x02\x1b[31mred",
    "\x7f",
    "\x85",  # NEXT LINE: str.strip() removes it
    "\xa0",  # no-break space
    "\u2028\u2029",
    "\u200b",  # zero-width space: not whitespace to str.strip()
    "\ufeff",
    "\u202eevil",
    "\u3000",
    "\x1c\x1d\x1e\x1f",  # separators: whitespace to str.strip()
    "  padded  ",
    "😀",
    "e\u0301",
    "Ǆǅǆ",
    "ß",
    "İ",
    "<script>alert(1)</script>",
    "{{ 7|add:1 }}",
    "' OR 1=1 --",
    "%s %d %(name)s {0}",
    "None",
    "null",
    "0",
    "-1",
    "1e309",
    "٣",
]
# One code point each, so n of them is a string of length n.
_UNITS = ["x", "é", "😀", " ", "\x00", "\u200b", "\n"]


def around(limit: int) -> st.SearchStrategy[str]:
    """Strings just under, at and over `limit` characters, plain or padded with spaces."""
    return st.one_of(
        st.builds(
            lambda unit, n: unit * n,
            st.sampled_from(_UNITS),
            st.sampled_from([limit - 1, limit, limit + 1]),
        ),
        st.builds(lambda n: f"  {'y' * n}\t", st.sampled_from([limit - 1, limit, limit + 1])),
    )


def texts(*limits: int) -> st.SearchStrategy[str]:
    """Any text (st.text's defaults: every code point but surrogates), the tricky strings, and
    strings around each of `limits`."""
    return st.one_of(
        st.text(),
        st.sampled_from(TRICKY_TEXT),
        st.text(st.characters(codec="ascii"), min_size=1),
        *(around(limit) for limit in limits),
    )


INT_TEXT = st.one_of(
    st.integers().map(str),
    st.integers(min_value=-3, max_value=12).map(str),
    st.sampled_from(
        [
            "",
            " 7 ",
            "+1",
            "-0",
            "1.0",
            "1.5",
            "1e3",
            "0x10",
            "٣",
            "2147483647",
            "2147483648",
            "9223372036854775808",
            "9" * 30,
            "9" * 5000,  # more digits than int() converts
            "nan",
            "inf",
            "1\x00",
        ]
    ),
    texts(),
)

DATE_TEXT = st.one_of(
    st.dates().map(date.isoformat),
    st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31)).map(date.isoformat),
    st.dates().map(lambda d: f"{d.month:02}/{d.day:02}/{d.year:04}"),
    st.sampled_from(
        [
            "",
            "0000-01-01",
            "0001-01-01",
            "0001-03-01",
            "0001-03-02",
            "9999-11-30",
            "9999-12-31",
            "10000-01-01",
            "2024-02-30",
            "2024-13-01",
            "2024-1-1",
            "20240101",
            "99999999-01-01",
            "2024-01-01T00:00:00",
            "today",
            "2024-01-01\x00",
        ]
    ),
    texts(),
)

UUID_TEXT = st.one_of(
    st.uuids().map(str),
    st.uuids().map(lambda u: u.hex),
    st.uuids().map(lambda u: f"{{{u}}}"),
    st.uuids().map(lambda u: f"urn:uuid:{u}"),
    st.just("00000000-0000-0000-0000-000000000000"),
    texts(),
)


def choice_text(values) -> st.SearchStrategy[str]:
    """A valid choice, a near miss (other case, padded), or any text."""
    values = list(values)
    return st.one_of(
        st.sampled_from(values),
        st.sampled_from([v.upper() for v in values] + [f" {v} " for v in values]),
        texts(),
    )


def form_data(fields: dict[str, st.SearchStrategy]) -> st.SearchStrategy[dict]:
    """Form data where any field may be missing."""
    return st.fixed_dictionaries({}, optional=fields)


# --- Checks -----------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sdr]|\{[a-z_]+\}")
_LEAKS = ("Traceback", "Error(", "Exception", "IntegrityError", "<class ", "object at 0x")


def assert_readable(messages, echoes=()) -> None:
    """Messages meant for a person: text, not empty, no leftover placeholder or exception.

    `echoes` are the inputs, which a message may quote ("“x” is not a status"): what they
    contain is theirs, not the message's.
    """
    messages = list(messages)
    assert messages, "an error without a message"
    echoes = sorted({str(echo) for echo in echoes if str(echo)}, key=len, reverse=True)
    for message in messages:
        assert isinstance(message, str), repr(message)
        assert message.strip(), "an empty error message"
        own = message
        for echo in echoes:
            own = own.replace(echo, "")
        assert not _PLACEHOLDER.search(own), message
        assert not any(leak in own for leak in _LEAKS), message


def assert_form_errors_readable(form) -> None:
    event("invalid form")
    errors = form.errors.get_json_data()
    assert errors, "an invalid form without errors"
    assert set(errors) <= {*form.fields, "__all__"}, errors
    echoes = form.data.values() if hasattr(form.data, "values") else ()
    assert_readable((e["message"] for items in errors.values() for e in items), echoes)


# --- The database -----------------------------------------------------------------------------


class _RollBack(Exception):
    pass


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run the block in a transaction (a savepoint inside the test's) that is always rolled back,
    so every example starts from the cast exactly as the fixture made it."""
    try:
        with transaction.atomic():
            yield
            raise _RollBack
    except _RollBack:
        pass


# The words PostgreSQL's triggers keep on each ticket for the search (tickets/search_index.py):
# an index the database derives from the messages, not a ticket's state.
DERIVED_COLUMNS = {"messages_vector", "notes_vector"}


def _rows(sql: str) -> dict[object, dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        names = [column[0] for column in cursor.description]
        return {
            row[0]: {
                name: value
                for name, value in zip(names, row, strict=True)
                if name not in DERIVED_COLUMNS
            }
            for row in cursor.fetchall()
        }


def snapshot() -> dict[str, dict]:
    """Every row a service or page of ours writes, by table and primary key, as the database
    has it (raw SQL: the ORM would cost more than most of the services under test; SQLite gives
    times as text and UUIDs as hex, see as_uuid)."""
    user = User._meta.db_table
    membership = User.groups.through._meta.db_table
    group = Group._meta.db_table
    return {
        "tickets": _rows(f"SELECT * FROM {Ticket._meta.db_table}"),  # noqa: S608
        "events": _rows(f"SELECT * FROM {TicketEvent._meta.db_table}"),  # noqa: S608
        "messages": _rows(f"SELECT * FROM {Message._meta.db_table}"),  # noqa: S608
        "users": _rows(
            f"SELECT id, username, email, password, first_name, last_name, is_active,"  # noqa: S608
            f" is_staff, is_superuser, notify_by_email, last_login, email_verified_at,"
            f" EXISTS (SELECT 1 FROM {membership} m JOIN {group} g ON g.id = m.group_id"
            f" WHERE m.user_id = u.id AND g.name = '{AGENTS_GROUP}') AS agent"
            f" FROM {user} u"
        ),
    }


def as_uuid(value) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(str(value))


@dataclass
class Changes:
    added: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    # (before, after) pairs of the rows that changed.
    changed: list[tuple[dict, dict]] = field(default_factory=list)


def diff(before: dict[str, dict], after: dict[str, dict]) -> dict[str, Changes]:
    """What changed between two snapshots, by table; tables with no change are left out."""
    result = {}
    for table, old in before.items():
        new = after[table]
        changes = Changes(
            added=[new[pk] for pk in sorted(new.keys() - old.keys())],
            removed=[old[pk] for pk in sorted(old.keys() - new.keys())],
            changed=[
                (old[pk], new[pk]) for pk in sorted(old.keys() & new.keys()) if old[pk] != new[pk]
            ],
        )
        if changes.added or changes.removed or changes.changed:
            result[table] = changes
    return result


def changed_fields(before: dict, after: dict) -> set[str]:
    return {name for name in before if before[name] != after[name]}


# --- The cast ---------------------------------------------------------------------------------

ROLES = [
    "customer",  # the reporter of the cast's customer tickets
    "other_customer",
    "agent",
    "other_agent",
    "admin",
    "inactive_agent",
    "inactive_customer",
    "anonymous",
]
# Who can be asked to take a ticket: None (unassign) or any user, not only active staff.
ASSIGNEES = [None, *(role for role in ROLES if role != "anonymous")]
TICKETS = ["open", "active", "closed", "other", "agents_own"]
# What a form or a caller says the ticket's version was.
VERSION_KINDS = ["none", "current", "stale", "future", "zero", "negative", "huge"]


@dataclass
class Cast:
    user_pks: dict[str, int]
    ticket_pks: dict[str, int]
    # A reply form's client token already used, by the customer on the "active" ticket.
    used_message_token: uuid.UUID
    # A new-ticket form's client token already used, by the customer ("open" ticket).
    used_ticket_token: uuid.UUID
    # Read once, when the cast is made: every example starts from these rows (rolled_back).
    _users: dict[str, User] = field(default_factory=dict, repr=False)
    _tickets: dict[str, Ticket] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        users = User.objects.in_bulk(list(self.user_pks.values()))
        self._users = {role: users[pk] for role, pk in self.user_pks.items()}
        tickets = Ticket.objects.select_related("reporter", "assignee", "modified_by").in_bulk(
            list(self.ticket_pks.values())
        )
        self._tickets = {name: tickets[pk] for name, pk in self.ticket_pks.items()}

    def user(self, role: str | None):
        """A copy of the user as the cast made them (services may change what they are given)."""
        if role is None:
            return None
        if role == "anonymous":
            return AnonymousUser()
        return copy.copy(self._users[role])

    def ticket(self, name: str) -> Ticket:
        """A copy of the ticket as the cast made it (the services update the one they get)."""
        return copy.copy(self._tickets[name])


def expected_version_for(kind: str, current: int) -> int | None:
    return {
        "none": None,
        "current": current,
        "stale": current - 1,
        "future": current + 1,
        "zero": 0,
        "negative": -5,
        "huge": 2**70,
    }[kind]


def build_cast(request) -> Cast:
    """The cast of a property test, from the root conftest's fixtures (for a `cast` fixture)."""
    fixture = request.getfixturevalue
    customer, agent = fixture("customer"), fixture("agent")
    other_customer, other_agent = fixture("other_customer"), fixture("other_agent")
    admin_user, make_user, deactivate = (
        fixture(name) for name in ("admin_user", "make_user", "deactivate")
    )
    users = {
        "customer": customer,
        "other_customer": other_customer,
        "agent": agent,
        "other_agent": other_agent,
        "admin": admin_user,
        "inactive_agent": deactivate(make_user("inactive_agent", staff=True)),
        "inactive_customer": deactivate(make_user("inactive_customer")),
    }
    ticket_token, message_token = uuid.uuid4(), uuid.uuid4()

    def new(reporter, title: str, **fields) -> Ticket:
        return ticket_create(
            reporter=reporter, title=title, description="It does not work.", **fields
        )

    open_ticket = new(customer, "The printer is on fire", client_token=ticket_token)
    active = new(customer, "Cannot log in", priority=Ticket.Priority.HIGH)
    message_send(ticket=active, sender=customer, content="Still broken", client_token=message_token)
    ticket_assign(ticket=active, assignee=agent, by=agent)
    message_send(ticket=active, sender=agent, content="Looking into it.")
    message_send(ticket=active, sender=agent, content="Note: restart it", is_internal=True)
    closed = new(customer, "Old problem")
    closed.update_status(Ticket.Status.CLOSED, by=customer)
    other = new(other_customer, "Someone else's problem")
    ticket_assign(ticket=other, assignee=other_agent, by=admin_user)
    agents_own = new(agent, "My laptop is slow", priority=Ticket.Priority.LOW)
    return Cast(
        user_pks={role: user.pk for role, user in users.items()},
        ticket_pks={
            "open": open_ticket.pk,
            "active": active.pk,
            "closed": closed.pk,
            "other": other.pk,
            "agents_own": agents_own.pk,
        },
        used_message_token=message_token,
        used_ticket_token=ticket_token,
    )
