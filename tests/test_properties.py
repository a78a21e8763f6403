"""Property-based tests of every form and of the status workflow (hypothesis, 200 examples each).

Forms: whatever is posted (any text, NUL bytes, control characters, strings around each limit,
numbers and dates written any way, unknown choices), is_valid() never raises; a valid form's
cleaned_data fits the model (and the service accepts it), an invalid one says why in words.

The workflow: any sequence of status changes, assignments, priority changes and messages by
anyone leaves a ticket whose status, closed_at, version and audit trail agree with each other
and with the transition table.

The services are in test_properties_services.py and the pages in test_properties_views.py;
the strategies, the cast and the per-example rollback in property_helpers.py.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import RequestFactory
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accounts.forms import LoginForm, ProfileForm, RegistrationForm
from accounts.models import User, UsernameValidator
from messaging.models import Message
from messaging.services import message_send
from reports.forms import MAX_BUCKETS, PRESETS, ReportForm
from reports.periods import BUCKETS, EARLIEST_DAY, LATEST_DAY
from tests.property_helpers import (
    ASSIGNEES,
    DATE_TEXT,
    INT_TEXT,
    PROPERTY,
    ROLES,
    TICKETS,
    UUID_TEXT,
    VERSION_KINDS,
    assert_form_errors_readable,
    build_cast,
    choice_text,
    expected_version_for,
    form_data,
    rolled_back,
    texts,
)
from tickets.admin import AssignActionForm, PriorityActionForm
from tickets.forms import (
    AssignForm,
    PriorityForm,
    ReplyForm,
    StatusForm,
    TicketCreateForm,
    TicketFilterForm,
)
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_assign, ticket_create, ticket_set_priority

STATUSES = Ticket.Status.values
PRIORITIES = Ticket.Priority.values
MAX_VERSION = 2**31 - 1


@pytest.fixture
def cast(db, request):
    return build_cast(request)


def assert_clean_text(value, limit: int, *, stripped: bool = True, required: bool = True):
    """Text a model field accepts: within its length, stripped, no NUL (PostgreSQL refuses it)."""
    assert isinstance(value, str)
    assert len(value) <= limit
    assert "\x00" not in value
    if stripped:
        assert value == value.strip()
    if required:
        assert value


def assert_hidden_errors_shown(form, *hidden: str) -> None:
    """A hidden field cannot show its error: the form must say something above the fields."""
    if any(name in form.errors for name in hidden):
        assert "__all__" in form.errors


# --- Tickets -----------------------------------------------------------------------------------


@PROPERTY
@given(
    data=form_data(
        {
            "title": texts(200),
            "description": texts(20_000),
            "priority": choice_text(PRIORITIES),
            "client_token": UUID_TEXT,
        }
    )
)
@example(data={"title": "ok", "description": "a\x00b", "priority": "low"})
def test_ticket_create_form(cast, data):
    form = TicketCreateForm(data)
    if not form.is_valid():
        assert_form_errors_readable(form)
        assert_hidden_errors_shown(form, "client_token")
        return
    cleaned = form.cleaned_data
    assert set(cleaned) == {"title", "description", "priority", "client_token", "files"}
    assert cleaned["files"] == []  # no file was sent
    assert_clean_text(cleaned["title"], 200)
    assert_clean_text(cleaned["description"], 20_000)
    assert cleaned["priority"] in PRIORITIES
    assert cleaned["client_token"] is None or isinstance(cleaned["client_token"], uuid.UUID)
    # What the form accepts, the service stores (a token already used is the service's to refuse).
    with rolled_back():
        ticket = ticket_create(
            reporter=cast.user("other_customer"),
            title=cleaned["title"],
            description=cleaned["description"],
            priority=cleaned["priority"],
        )
        ticket.refresh_from_db()
        assert (ticket.title, ticket.description) == (cleaned["title"], cleaned["description"])


@PROPERTY
@given(
    form_class=st.sampled_from([StatusForm, PriorityForm]),
    data=st.data(),
    version=st.one_of(st.integers(1, MAX_VERSION).map(str), INT_TEXT, st.none()),
)
def test_status_and_priority_forms(form_class, data, version):
    name = "status" if form_class is StatusForm else "priority"
    choice = data.draw(choice_text(STATUSES if form_class is StatusForm else PRIORITIES), name)
    data = {name: choice} if version is None else {name: choice, "version": version}
    form = form_class(data)
    if not form.is_valid():
        assert_form_errors_readable(form)
        assert_hidden_errors_shown(form, "version")
        return
    allowed = STATUSES if form_class is StatusForm else PRIORITIES
    assert form.cleaned_data[name] in allowed
    assert isinstance(form.cleaned_data["version"], int)
    assert 1 <= form.cleaned_data["version"] <= MAX_VERSION


@PROPERTY
@given(
    assignee=st.one_of(st.sampled_from(ASSIGNEES[1:]), INT_TEXT, st.none()),
    version=INT_TEXT,
    admin_action=st.booleans(),
)
def test_assign_forms(cast, assignee, version, admin_action):
    value = str(cast.user_pks[assignee]) if assignee in cast.user_pks else assignee
    if admin_action:
        form = AssignActionForm({} if value is None else {"agent": value})
        field = "agent"
    else:
        form = AssignForm({"version": version, **({} if value is None else {"assignee": value})})
        field = "assignee"
    if not form.is_valid():
        assert_form_errors_readable(form)
        assert_hidden_errors_shown(form, "version")
        return
    chosen = form.cleaned_data[field]
    if chosen is None:
        assert not admin_action, "the admin action needs someone to assign"
    else:
        # Only active staff can be picked, whatever id is posted.
        assert isinstance(chosen, User) and chosen.is_staff and chosen.is_active
        assert chosen.pk in {cast.user_pks[r] for r in ("agent", "other_agent", "admin")}


@PROPERTY
@given(priority=choice_text(PRIORITIES))
def test_admin_priority_action_form(priority):
    form = PriorityActionForm({"priority": priority})
    if form.is_valid():
        assert form.cleaned_data["priority"] in PRIORITIES
    else:
        assert_form_errors_readable(form)


@PROPERTY
@given(
    data=form_data({"content": texts(10_000), "client_token": UUID_TEXT, "is_internal": texts()}),
    allow_internal=st.booleans(),
)
@example(data={"content": "\x00", "client_token": str(uuid.UUID(int=1))}, allow_internal=False)
def test_reply_form(cast, data, allow_internal):
    form = ReplyForm(data, allow_internal=allow_internal)
    if not form.is_valid():
        assert_form_errors_readable(form)
        assert_hidden_errors_shown(form, "client_token")
        return
    cleaned = form.cleaned_data
    assert_clean_text(cleaned["content"], 10_000)
    assert isinstance(cleaned["client_token"], uuid.UUID)
    # Only a form that offers the box can say "internal".
    assert ("is_internal" in cleaned) == allow_internal
    assert cleaned.get("is_internal", False) in (True, False)
    with rolled_back():
        message = message_send(
            ticket=cast.ticket("open"),
            sender=cast.user("customer"),
            content=cleaned["content"],
            client_token=cleaned["client_token"],
        )
        assert Message.objects.get(pk=message.pk).content == cleaned["content"]


@PROPERTY
@given(
    data=form_data(
        {
            "status": choice_text(["all", *STATUSES]),
            "priority": choice_text(PRIORITIES),
            "assignee": choice_text(["me", "none"]),
        }
    )
)
def test_ticket_filter_form(data):
    form = TicketFilterForm(data)
    if not form.is_valid():
        assert_form_errors_readable(form)
        return
    assert form.cleaned_data["status"] in {"", "all", *STATUSES}
    assert form.cleaned_data["priority"] in {"", *PRIORITIES}
    assert form.cleaned_data["assignee"] in {"", "me", "none"}


@PROPERTY
@given(
    ticket_name=st.sampled_from(TICKETS),
    data=form_data(
        {
            "priority": choice_text(PRIORITIES),
            "assignee": st.one_of(st.sampled_from(ASSIGNEES[1:]), INT_TEXT),
            "new_status": choice_text(STATUSES),
            "seen_version": st.one_of(st.sampled_from(["current", "stale"]), INT_TEXT),
            "submission": UUID_TEXT,
            "reply": texts(10_000),
            "internal_note": texts(10_000),
        }
    ),
)
def test_admin_ticket_form(cast, ticket_name, data):
    ticket = cast.ticket(ticket_name)
    data = dict(data)
    if data.get("assignee") in cast.user_pks:
        data["assignee"] = str(cast.user_pks[data["assignee"]])
    if data.get("seen_version") in ("current", "stale"):
        data["seen_version"] = str(ticket.version - (data["seen_version"] == "stale"))
    request = RequestFactory().get("/admin/")
    request.user = cast.user("admin")
    form_class = admin.site._registry[Ticket].get_form(request, obj=ticket)
    form = form_class(data, instance=ticket)
    if not form.is_valid():
        assert_form_errors_readable(form)
        return
    cleaned = form.cleaned_data
    assert cleaned["priority"] in PRIORITIES
    assert cleaned["assignee"] is None or (
        cleaned["assignee"].is_staff and cleaned["assignee"].is_active
    )
    current = Ticket.objects.get(pk=ticket.pk)
    status = cleaned["new_status"]
    assert status == current.status or status in Ticket.TRANSITIONS[current.status]
    assert isinstance(cleaned["submission"], uuid.UUID)
    if not form.already_saved:
        assert cleaned["seen_version"] == current.version
    for box in ("reply", "internal_note"):
        assert_clean_text(cleaned[box], 10_000, required=False)


# --- Accounts ----------------------------------------------------------------------------------

USERNAMES = st.one_of(
    texts(150),
    st.from_regex(r"[\w.+-]{1,20}", fullmatch=True),
    st.sampled_from(["customer", "CUSTOMER", " agent ", "new.user+1", "a@b", "a b", "x" * 150]),
)
EMAILS = st.one_of(
    st.emails(),
    texts(254),
    st.sampled_from(
        ["customer@example.com", "CUSTOMER@EXAMPLE.COM", "a@b", "@", "a@b.c\x00", "é@ü.com"]
    ),
    st.builds(lambda n: "a" * n + "@example.com", st.sampled_from([240, 241, 242, 243])),
)
PASSWORDS = st.one_of(
    texts(1024),
    st.just("correct-horse-battery-staple"),
    st.sampled_from(["password", "12345678901234", "customer1234", " spaced passphrase "]),
)


@PROPERTY
@given(
    data=form_data({"username": USERNAMES, "email": EMAILS, "password1": PASSWORDS}),
    password2=st.one_of(st.none(), PASSWORDS),
)
def test_registration_form(data, password2):
    data = {**data, "password2": data.get("password1", "") if password2 is None else password2}
    form = RegistrationForm(data)
    if not form.is_valid():
        assert_form_errors_readable(form)
        return
    cleaned = form.cleaned_data
    assert_clean_text(cleaned["username"], 150)
    assert_clean_text(cleaned["email"], 254)
    assert "@" in cleaned["email"]
    # Passwords are taken as typed (spaces count), but never with a NUL or over the limit.
    assert_clean_text(cleaned["password1"], 1024, stripped=False)
    assert cleaned["password1"] == cleaned["password2"]


@PROPERTY
@given(data=form_data({"username": st.one_of(USERNAMES, EMAILS), "password": PASSWORDS}))
def test_login_form(data):
    form = LoginForm(data)
    if not form.is_valid():
        assert_form_errors_readable(form)
        return
    assert_clean_text(form.cleaned_data["username"], 254)
    assert_clean_text(form.cleaned_data["password"], 1024, stripped=False)


@PROPERTY
@given(
    role=st.sampled_from(["customer", "agent", "admin"]),
    data=form_data(
        {
            "first_name": texts(150),
            "last_name": texts(150),
            "notify_by_email": st.one_of(st.sampled_from(["on", "true", "false", "0"]), texts()),
            "notify_replies": st.one_of(st.sampled_from(["on", "false"]), texts()),
            "notify_status": st.one_of(st.sampled_from(["on", "0"]), texts()),
            # Not on the form: must be ignored.
            "username": USERNAMES,
            "email": EMAILS,
            "is_staff": st.just("on"),
            "is_superuser": st.just("on"),
            "anonymised_at": st.just("2026-01-01T00:00:00Z"),
        }
    ),
)
def test_profile_form(cast, role, data):
    user = cast.user(role)
    before = User.objects.filter(pk=user.pk).values().get()
    form = ProfileForm(data, instance=user)
    if not form.is_valid():
        assert_form_errors_readable(form)
        return
    cleaned = form.cleaned_data
    choices = {"notify_by_email", "notify_replies", "notify_status"}
    assert set(cleaned) == {"first_name", "last_name", *choices}
    assert_clean_text(cleaned["first_name"], 150, required=False)
    assert_clean_text(cleaned["last_name"], 150, required=False)
    assert all(cleaned[name] in (True, False) for name in choices)
    with rolled_back():
        form.save()
        after = User.objects.filter(pk=user.pk).values().get()
        assert {k for k in before if before[k] != after[k]} <= set(cleaned)


@PROPERTY
@given(
    adding=st.booleans(),
    data=form_data(
        {
            "username": USERNAMES,
            "email": EMAILS,
            "password1": PASSWORDS,
            "first_name": texts(150),
            "last_name": texts(150),
            "is_active": st.sampled_from(["on", ""]),
            "is_staff": st.sampled_from(["on", ""]),
            "date_joined_0": DATE_TEXT,
            "date_joined_1": st.one_of(st.times().map(str), texts()),
            "last_login_0": DATE_TEXT,
            "last_login_1": st.one_of(st.times().map(str), texts()),
        }
    ),
    password2=st.one_of(st.none(), PASSWORDS),
)
def test_admin_user_forms(cast, adding, data, password2):
    data = {**data, "password2": data.get("password1", "") if password2 is None else password2}
    request = RequestFactory().get("/admin/")
    request.user = cast.user("admin")
    instance = None if adding else cast.user("other_customer")
    form_class = admin.site._registry[User].get_form(request, obj=instance)
    form = form_class(data, instance=instance)
    if not form.is_valid():
        assert_form_errors_readable(form)
        return
    cleaned = form.cleaned_data
    assert_clean_text(cleaned["username"], 150)
    UsernameValidator()(cleaned["username"])
    assert_clean_text(cleaned["email"], 254)
    others = User.objects.exclude(pk=getattr(instance, "pk", None))
    assert not others.filter(username__iexact=cleaned["username"]).exists()
    assert not others.filter(email__iexact=cleaned["email"]).exists()
    with rolled_back():
        saved = form.save()
        saved.refresh_from_db()
        assert saved.username == cleaned["username"]


# --- Reports -----------------------------------------------------------------------------------


@PROPERTY
@given(
    data=form_data(
        {
            "preset": choice_text([value for value, _ in PRESETS]),
            "start": DATE_TEXT,
            "end": DATE_TEXT,
            "bucket": choice_text(BUCKETS),
        }
    ),
    today=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
)
# Four thousand years by day: refused as too many days, without listing each of them first.
@example(
    data={"preset": "custom", "start": "6000-01-01", "end": "9999-11-30", "bucket": "day"},
    today=date(2026, 1, 1),
)
def test_report_form(cast, data, today):
    form = ReportForm(data, today=today)
    if not form.is_valid():
        assert_form_errors_readable(form)
        return
    cleaned = form.cleaned_data
    assert cleaned["preset"] in {value for value, _ in PRESETS}
    assert cleaned["bucket"] in BUCKETS
    start, end, period = cleaned["start"], cleaned["end"], cleaned["period"]
    assert EARLIEST_DAY <= start <= end <= LATEST_DAY
    assert (period.first_day, period.last_day, period.bucket) == (start, end, cleaned["bucket"])
    assert 1 <= len(period.bucket_starts()) <= MAX_BUCKETS
    if cleaned["preset"] != "custom" or not data.get("end"):
        assert end == today


# --- The status workflow -----------------------------------------------------------------------


class Workflow(RuleBasedStateMachine):
    """One ticket, changed by anyone in any order; the database must always agree with itself.

    Each rule predicts whether its change is allowed (from the transition table and the roles)
    and checks that the service did exactly that; after every step the ticket's status,
    closed_at and version must be what the prediction says, and at the end of each run the
    audit trail must be a chain of allowed moves that accounts for every version bump.
    """

    # Set by the test: the cast, and a fresh open ticket (version 1, no events, no messages).
    cast = None
    ticket_pk = None

    def __init__(self):
        super().__init__()
        self._rollback = rolled_back()
        self._rollback.__enter__()
        users = User.objects.in_bulk(list(self.cast.user_pks.values()))
        self.users = {role: users[pk] for role, pk in self.cast.user_pks.items()}
        self.users.update({None: None, "anonymous": self.cast.user("anonymous")})
        self.ticket = Ticket.objects.get(pk=self.ticket_pk)
        # What the services should have done so far.
        self.status = Ticket.Status.OPEN
        self.applied = 0

    def teardown(self):
        try:
            self.check_the_audit_trail()
        finally:
            self._rollback.__exit__(None, None, None)

    @rule(
        actor=st.sampled_from([None, *ROLES]),
        new_status=choice_text(STATUSES),
        version_kind=st.sampled_from(VERSION_KINDS),
    )
    def change_status(self, actor, new_status, version_kind):
        ticket = self.ticket
        expected_version = expected_version_for(version_kind, ticket.version)
        is_reporter = actor == "customer"
        staff = actor in ("agent", "other_agent", "admin")
        if new_status not in STATUSES:
            expected = ValidationError
        elif actor is not None and not (staff or is_reporter):
            expected = PermissionDenied
        elif new_status == self.status:
            expected = None  # a repeated submit: nothing to do
        elif (
            expected_version is not None and expected_version != ticket.version
        ) or new_status not in Ticket.TRANSITIONS[self.status]:
            expected = ValidationError
        elif is_reporter and (self.status, new_status) not in Ticket.REPORTER_TRANSITIONS:
            expected = PermissionDenied
        else:
            expected = "applied"
        by = self.users[actor]
        try:
            event = ticket.update_status(new_status, by=by, expected_version=expected_version)
        except (ValidationError, PermissionDenied) as exc:
            assert isinstance(expected, type) and isinstance(exc, expected), (expected, exc)
            return
        if expected is None:
            assert event is None
        else:
            assert expected == "applied", f"expected {expected}, the change was made"
            assert (event.from_value, event.to_value) == (self.status, new_status)
            assert event.actor_id == getattr(by, "pk", None)
            self.status = new_status
            self.applied += 1

    @rule(assignee=st.sampled_from(ASSIGNEES), by=st.sampled_from([None, "agent", "customer"]))
    def assign(self, assignee, by):
        try:
            event = ticket_assign(
                ticket=self.ticket, assignee=self.users[assignee], by=self.users[by]
            )
        except (ValidationError, PermissionDenied):
            assert by == "customer" or assignee not in (None, "agent", "other_agent", "admin")
            return
        if event is not None:
            self.applied += 1
            if assignee is not None and self.status == Ticket.Status.OPEN:
                self.status = Ticket.Status.ACTIVE
                self.applied += 1

    @rule(priority=st.sampled_from(PRIORITIES))
    def set_priority(self, priority):
        if ticket_set_priority(ticket=self.ticket, priority=priority, by=self.users["admin"]):
            self.applied += 1

    @rule(sender=st.sampled_from(["customer", "agent"]), internal=st.booleans())
    def write(self, sender, internal):
        internal = internal and sender == "agent"
        message_send(
            ticket=self.ticket, sender=self.users[sender], content="Hi", is_internal=internal
        )
        if not internal:
            self.applied += 1
            if sender == "customer" and self.status == Ticket.Status.CLOSED:
                self.status = Ticket.Status.OPEN  # the reporter's reply reopens it
                self.applied += 1

    @precondition(lambda self: self.status == Ticket.Status.CLOSED)
    @rule()
    def reopen_by_the_system(self):
        assert self.ticket.update_status(Ticket.Status.OPEN, by=None) is not None
        self.status = Ticket.Status.OPEN
        self.applied += 1

    @invariant()
    def the_ticket_is_as_predicted(self):
        status, closed_at, version = Ticket.objects.values_list(
            "status", "closed_at", "version"
        ).get(pk=self.ticket_pk)
        assert status == self.status
        assert (closed_at is not None) == (status == Ticket.Status.CLOSED)
        assert version == 1 + self.applied

    def check_the_audit_trail(self):
        ticket = Ticket.objects.get(pk=self.ticket_pk)
        events = list(TicketEvent.objects.filter(ticket=ticket).order_by("created_at", "pk"))
        public = Message.objects.filter(ticket=ticket, is_internal=False).count()
        # From the rows alone: every event and every public message bumped the version once.
        assert ticket.version == 1 + len(events) + public
        # The status history is a chain of allowed moves from "open" to the ticket's status.
        previous = Ticket.Status.OPEN
        for event in events:
            if event.kind == TicketEvent.Kind.STATUS:
                assert event.from_value == previous
                assert event.to_value in Ticket.TRANSITIONS[previous]
                previous = event.to_value
        assert previous == ticket.status


def test_any_sequence_of_changes_keeps_the_ticket_consistent(cast):
    Workflow.cast = cast
    Workflow.ticket_pk = ticket_create(
        reporter=cast.user("customer"), title="Workflow", description="Any order."
    ).pk
    run_state_machine_as_test(Workflow, settings=settings(PROPERTY, stateful_step_count=10))
