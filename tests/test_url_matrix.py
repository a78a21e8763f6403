"""Who may do what on every URL the site has: an access matrix built from the URL resolver.

Every pattern Django can route to (the help desk's own, auth's and the admin's) is collected by
walking `get_resolver()`. Each needs a row in ACCESS below, saying for every HTTP method (GET,
HEAD, POST), every actor and, for a URL that takes an id, every kind of object, what the answer
is. A pattern without a row fails (`test_every_url_pattern_has_a_row`, and its own case), and so
does a row whose pattern is gone. `test_the_table_keeps_to_its_own_rules` checks the table
against the rules its groups' comments state, so a row cannot quietly be loosened.

Each request is also checked against the database: a snapshot (the number of rows of every
table, and every user, group, ticket, message and event row) taken before and after it must be
the same, unless the table marks the answer as one that may write (`W200`, `W302`).

Actors: anonymous, customer A, customer B, an agent, an admin (superuser), and an inactive
customer who logged in and was then deactivated (their session still names them). Objects, for
the URLs that take an id:
- tickets/<pk>/...: "own" is the actor's own ticket (customer A's for staff and anonymous
  visitors), "others" someone else's (customer B's for staff), "missing" an id no ticket has.
- admin/<app>/<model>/<object_id>/... (and the admin's "view on site"): "own" is an object of
  that model that exists, "missing" an id none has.
- accounts/reset/<uidb64>/<token>/: "own" is a valid link for customer A, "others" A's id with
  a token made for customer B, "missing" the id of no user.

The cast and their objects are made once for the module, in a transaction rolled back at its
end (like `TestCase.setUpTestData`); each case runs in a savepoint inside it. `to_send` lists the
few requests that are not sent because their answer cannot differ. One pattern's case:
pytest "tests/test_url_matrix.py::test_url_access[/tickets/<int:pk>/reply/]"
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import unquote

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import AGENTS_GROUP, User
from messaging.models import Message
from messaging.services import message_send
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_assign, ticket_create
from tickets.tests.page_helpers import BACKEND

ACTORS = ("anonymous", "customer_a", "customer_b", "agent", "admin", "inactive")
METHODS = ("GET", "HEAD", "POST")
MISSING_ID = 999_999

LOGIN = "login"  # 302 to /accounts/login/?next=<the path asked for>
ADMIN_LOGIN = "admin login"  # 302 to /admin/login/?next=<the path asked for>
NO_TARGET = "-"


@dataclass(frozen=True)
class Write:
    """An answer that may change the database (an allowed write, or a session started/ended)."""

    status: int

    def __repr__(self) -> str:
        return f"W{self.status}"


W200, W302 = Write(200), Write(302)

Outcome = int | str | Write
# One outcome per actor, in the order of ACTORS.
Column = tuple[Outcome, Outcome, Outcome, Outcome, Outcome, Outcome]
# target -> method -> column
Row = dict[str, dict[str, Column]]


def everyone(outcome: Outcome) -> Column:
    return (outcome,) * 6


def signed_in(outcome: Outcome) -> Column:
    """Anyone signed in (and active) gets `outcome`; the anonymous and inactive log in first."""
    return (LOGIN, outcome, outcome, outcome, outcome, LOGIN)


def visitors(anonymous: Outcome, member: Outcome) -> Column:
    """A public page that answers differently once you are signed in (inactive = anonymous)."""
    return (anonymous, member, member, member, member, anonymous)


def staff(outcome: Outcome) -> Column:
    """Staff pages outside the admin: customers get a 404, as if there were no such page."""
    return (LOGIN, 404, 404, outcome, outcome, LOGIN)


def in_admin(agent: Outcome, superuser: Outcome) -> Column:
    """The admin site: everyone who is not active staff is sent to the admin's login page."""
    return (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, agent, superuser, ADMIN_LOGIN)


def page(get: Column, post: Column, head: Column | None = None) -> Row:
    """A row for a URL without an object: HEAD answers like GET unless it says otherwise."""
    return {NO_TARGET: {"GET": get, "HEAD": head or get, "POST": post}}


def targets(by_target: dict[str, tuple[Column, Column]] | None = None, **named) -> Row:
    """A row with a (GET, POST) pair of columns per target; HEAD answers like GET."""
    pairs = {**(by_target or {}), **named}
    return {
        target: {"GET": get, "HEAD": get, "POST": post} for target, (get, post) in pairs.items()
    }


def _not_yours(column: Column, *, staff_see_it: bool) -> Column:
    """The ticket rule: a ticket you may not see is a 404, exactly like a missing one. A wrong
    method is refused (405) before the ticket is looked up; signed-out visitors log in first."""
    anonymous, a, b, agent, admin, inactive = column

    def refused(outcome: Outcome) -> Outcome:
        return outcome if outcome == 405 else 404

    if staff_see_it:
        return (anonymous, refused(a), refused(b), agent, admin, inactive)
    return (anonymous, refused(a), refused(b), refused(agent), refused(admin), inactive)


def ticket_page(*, get: Column, post: Column) -> Row:
    """`get` and `post` are the answers on the actor's own ticket; the others follow the rule."""
    own = {"GET": get, "HEAD": get, "POST": post}
    return {
        "own": own,
        "others": {m: _not_yours(c, staff_see_it=True) for m, c in own.items()},
        "missing": {m: _not_yours(c, staff_see_it=False) for m, c in own.items()},
    }


# --- Admin model pages -------------------------------------------------------------------------
# view -> (GET, POST) on an existing object, then (GET, POST) on a missing id, each as
# (agent, superuser). Without the permission the admin answers 403 (for a missing id too, except
# on history, which looks the object up first); with it, a missing id is a redirect to the admin
# index ("... doesn't exist. Perhaps it was deleted?"). 200 on "change" without the change
# permission is the read-only view. A POST with an empty body to a page the superuser may use
# shows the form again (or the "are you sure?" page for delete): nothing is saved.
AdminView = tuple[tuple[Outcome, Outcome], ...]

ADMIN_ROUTES = {
    "changelist": "",
    "add": "add/",
    "history": "<path:object_id>/history/",
    "delete": "<path:object_id>/delete/",
    "change": "<path:object_id>/change/",
    "object": "<path:object_id>/",  # redirects to the change page
    "password": "<id>/password/",  # UserAdmin's "change password" form
}
OBJECT_REDIRECT = {"object": ((302, 302), (302, 302), (302, 302), (302, 302))}

USER_ADMIN: dict[str, AdminView] = {
    # Agents may look at users (to assign tickets); only superusers manage them.
    "changelist": ((200, 200), (200, 200)),
    "add": ((403, 200), (403, 200)),
    "history": ((200, 200), (200, 200), (302, 302), (302, 302)),
    "delete": ((403, 200), (403, 200), (403, 302), (403, 302)),
    "change": ((200, 200), (403, 200), (302, 302), (403, 302)),
    **OBJECT_REDIRECT,
    "password": ((403, 200), (403, 200), (403, 404), (403, 404)),
}
GROUP_ADMIN: dict[str, AdminView] = {
    # Groups (the Agents group and its permissions) are for superusers only.
    "changelist": ((403, 200), (403, 200)),
    "add": ((403, 200), (403, 200)),
    "history": ((403, 200), (403, 200), (302, 302), (302, 302)),
    "delete": ((403, 200), (403, 200), (403, 302), (403, 302)),
    "change": ((403, 200), (403, 200), (403, 302), (403, 302)),
    **OBJECT_REDIRECT,
}
TICKET_ADMIN: dict[str, AdminView] = {
    # The triage desk: agents change tickets; nobody adds one here; only superusers delete.
    "changelist": ((200, 200), (200, 200)),
    "add": ((403, 403), (403, 403)),
    "history": ((200, 200), (200, 200), (302, 302), (302, 302)),
    "delete": ((403, 200), (403, 200), (403, 302), (403, 302)),
    "change": ((200, 200), (200, 200), (302, 302), (302, 302)),  # empty POST: form errors
    **OBJECT_REDIRECT,
}
READ_ONLY_ADMIN: dict[str, AdminView] = {
    # The conversation and the audit trail: shown to staff, never added, changed or deleted.
    "changelist": ((200, 200), (200, 200)),
    "add": ((403, 403), (403, 403)),
    "history": ((200, 200), (200, 200), (302, 302), (302, 302)),
    "delete": ((403, 403), (403, 403), (403, 403), (403, 403)),
    "change": ((200, 200), (403, 403), (302, 302), (403, 403)),
    **OBJECT_REDIRECT,
}
AXES_ADMIN: dict[str, AdminView] = {
    # django-axes' login records: superusers only; axes itself adds them.
    "changelist": ((403, 200), (403, 200)),
    "add": ((403, 403), (403, 403)),
    "history": ((403, 200), (403, 200), (302, 302), (302, 302)),
    "delete": ((403, 200), (403, 200), (403, 302), (403, 302)),
    # Every field is read-only, so an empty POST is a valid form: the superuser's save is logged.
    "change": ((403, 200), (403, W302), (403, 302), (403, 302)),
    **OBJECT_REDIRECT,
}


def admin_model(app_label: str, model_name: str, views: dict[str, AdminView]) -> dict[str, Row]:
    rows = {}
    for view, spec in views.items():
        route = f"admin/{app_label}/{model_name}/{ADMIN_ROUTES[view]}"
        get_own, post_own, *missing = spec
        row: Row = {
            "own": {
                "GET": in_admin(*get_own),
                "HEAD": in_admin(*get_own),
                "POST": in_admin(*post_own),
            }
        }
        if missing:
            (get_missing, post_missing) = missing
            row["missing"] = {
                "GET": in_admin(*get_missing),
                "HEAD": in_admin(*get_missing),
                "POST": in_admin(*post_missing),
            }
        else:
            row = {NO_TARGET: row["own"]}
        rows[route] = row
    return rows


# --- The table ---------------------------------------------------------------------------------
# Columns: (anonymous, customer A, customer B, agent, admin, inactive). An inactive user's
# session is worth nothing: they are anonymous everywhere.

# Public pages: anyone, signed in or not. Nothing here shows anyone's data.
PUBLIC: dict[str, Row] = {
    "": page(get=everyone(302), post=everyone(405)),  # to the login page or the ticket list
    # The load balancer's check. require_GET: HEAD and POST are refused.
    "healthz": page(get=everyone(200), post=everyone(405), head=everyone(200)),
    # Signed-in people are sent on to their tickets; an empty POST is an invalid form.
    "accounts/register/": page(get=visitors(200, 302), post=visitors(400, 302)),
    # A signed-in GET goes on to ?next= or the ticket list (HEAD shows the form).
    "accounts/login/": page(get=visitors(200, 302), post=everyone(400), head=everyone(200)),
    # Logging out is a POST (which ends the session, if any, then goes to the login page).
    "accounts/logout/": page(
        get=everyone(405), post=(302, W302, W302, W302, W302, W302), head=everyone(405)
    ),
    "accounts/password_reset/": page(get=everyone(200), post=everyone(400)),
    "accounts/password_reset/done/": page(get=everyone(200), post=everyone(405)),
    # The link from the email is the credential, whoever follows it: a good one is put in the
    # session and redirected to the form; any other shows "The password reset link was invalid".
    "accounts/reset/<uidb64>/<token>/": targets(
        own=(everyone(W302), everyone(W302)),
        others=(everyone(200), everyone(200)),
        missing=(everyone(200), everyone(200)),
    ),
    "accounts/reset/done/": page(get=everyone(200), post=everyone(405)),
    # The admin's own login page: signed-in customers see the form with "not authorised",
    # staff are sent to the admin index.
    "admin/login/": page(
        get=(200, 200, 200, 302, 302, 200), post=everyone(200), head=everyone(200)
    ),
    # A GET is refused; anyone who is not staff is sent to the admin index (then its login).
    "admin/logout/": page(
        get=(302, 302, 302, 405, 405, 302), post=(302, 302, 302, W302, W302, 302)
    ),
}

# Customer pages: anyone signed in and active; anonymous (and inactive) visitors log in first.
# A ticket someone else reported is a 404 for a customer, exactly like a missing id.
CUSTOMER: dict[str, Row] = {
    # An empty POST is refused as an invalid form (400) everywhere.
    "accounts/profile/": page(get=signed_in(200), post=signed_in(400)),
    "accounts/password_change/": page(get=signed_in(200), post=signed_in(400)),
    "accounts/password_change/done/": page(get=signed_in(200), post=signed_in(405)),
    "tickets/": page(get=signed_in(200), post=signed_in(405)),
    "tickets/new/": page(get=signed_in(200), post=signed_in(400)),
    # The reporter opening their ticket marks its replies as seen (a write, for them only).
    "tickets/<int:pk>/": ticket_page(get=(LOGIN, W200, W200, 200, 200, LOGIN), post=signed_in(405)),
    "tickets/<int:pk>/reply/": ticket_page(get=signed_in(405), post=signed_in(400)),
    "tickets/<int:pk>/status/": ticket_page(get=signed_in(405), post=signed_in(400)),
}

# Staff actions on the ticket pages: a customer is refused (403) on their own ticket, before the
# form is read; someone else's ticket is still a 404.
STAFF: dict[str, Row] = {
    "tickets/<int:pk>/assign/": ticket_page(
        get=signed_in(405), post=(LOGIN, 403, 403, 400, 400, LOGIN)
    ),
    "tickets/<int:pk>/priority/": ticket_page(
        get=signed_in(405), post=(LOGIN, 403, 403, 400, 400, LOGIN)
    ),
}

# Reports: staff only. Customers get a 404, as if there were no such page.
REPORTS: dict[str, Row] = {
    "reports/": page(get=staff(200), post=staff(405)),
    "reports/export.csv": page(get=staff(200), post=staff(405)),
    "reports/data.json": page(get=staff(200), post=staff(405)),
    # Recomputes the report (no database write) and goes back to it.
    "reports/refresh/": page(get=staff(405), post=staff(302)),
}

# The admin site: active staff only (everyone else goes to the admin's login page); within it,
# agents triage tickets and look at users, superusers manage everything.
ADMIN_APPS = "admin/^(?P<app_label>axes|auth|tickets|accounts|messaging)/$"
ADMIN: dict[str, Row] = {
    "admin/": page(get=in_admin(200, 200), post=in_admin(200, 200)),
    "admin/password_change/": page(get=in_admin(200, 200), post=in_admin(200, 200)),
    "admin/password_change/done/": page(get=in_admin(200, 200), post=in_admin(405, 405)),
    # Without a model and a relation to look in, the search is refused.
    "admin/autocomplete/": targets(
        {
            NO_TARGET: (in_admin(403, 403), in_admin(405, 405)),
            "?app_label=tickets&model_name=ticket&field_name=assignee": (
                in_admin(200, 200),
                in_admin(405, 405),
            ),
        }
    ),
    "admin/jsi18n/": page(get=in_admin(200, 200), post=in_admin(405, 405)),
    # "View on site" for a ticket: to its web page; a missing one is a 404.
    "admin/r/<path:content_type_id>/<path:object_id>/": targets(
        own=(in_admin(302, 302), in_admin(302, 302)),
        missing=(in_admin(404, 404), in_admin(404, 404)),
    ),
    # An app's page shows only when the person may see one of its models.
    ADMIN_APPS: targets(
        accounts=(in_admin(200, 200), in_admin(200, 200)),
        auth=(in_admin(404, 200), in_admin(404, 200)),
        tickets=(in_admin(200, 200), in_admin(200, 200)),
        messaging=(in_admin(200, 200), in_admin(200, 200)),
        axes=(in_admin(404, 200), in_admin(404, 200)),
    ),
    "admin/(?P<url>.*)$": targets({"no-such-page/": (in_admin(404, 404), in_admin(404, 404))}),
    **admin_model("accounts", "user", USER_ADMIN),
    **admin_model("auth", "group", GROUP_ADMIN),
    **admin_model("tickets", "ticket", TICKET_ADMIN),
    **admin_model("tickets", "ticketevent", READ_ONLY_ADMIN),
    **admin_model("messaging", "message", READ_ONLY_ADMIN),
    **admin_model("axes", "accessattempt", AXES_ADMIN),
    **admin_model("axes", "accesslog", AXES_ADMIN),
    **admin_model("axes", "accessfailurelog", AXES_ADMIN),
}

GROUPS = {
    "public": PUBLIC,
    "customer": CUSTOMER,
    "staff": STAFF,
    "reports": REPORTS,
    "admin": ADMIN,
}
ACCESS: dict[str, Row] = {route: row for group in GROUPS.values() for route, row in group.items()}


# --- The URL patterns, from the resolver ----------------------------------------------------


def walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    """(full route, name, pattern) for every pattern under `resolver`, the included URLconfs and
    the admin's included."""
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace]))
            yield from walk(pattern, route, inner)
        else:
            assert isinstance(pattern, URLPattern), pattern
            name = ":".join(filter(None, [namespace, pattern.name])) if pattern.name else None
            yield route, name, pattern


RESOLVED = list(walk(get_resolver()))
PATTERNS: dict[str, URLPattern] = {route: pattern for route, _, pattern in RESOLVED}
NAMES: dict[str, str | None] = {route: name for route, name, _ in RESOLVED}


def missing_rows() -> list[str]:
    return [
        f"add a row for {route!r} (name {NAMES[route]!r}) to ACCESS in tests/test_url_matrix.py"
        for route in PATTERNS
        if route not in ACCESS
    ]


def stale_rows() -> list[str]:
    return [
        f"the row for {route!r} in ACCESS in tests/test_url_matrix.py matches no URL pattern: "
        "remove it or fix its route"
        for route in ACCESS
        if route not in PATTERNS
    ]


def test_every_url_pattern_has_a_row():
    assert len(PATTERNS) == len(RESOLVED), "two URL patterns have the same route"
    assert missing_rows() == []


def test_every_row_matches_a_url_pattern():
    assert stale_rows() == []


def _status(expected: Outcome) -> int | str:
    return expected.status if isinstance(expected, Write) else expected


def _lets_in(expected: Outcome) -> bool:
    return isinstance(_status(expected), int) and 200 <= _status(expected) < 300


def test_the_table_keeps_to_its_own_rules():
    """The rules the groups' comments state, checked on the table itself: a row cannot be
    loosened to let a bug pass without breaking one of these."""
    wrong = []
    for group, rows in GROUPS.items():
        for route, row in rows.items():
            for target, methods in row.items():
                for method, column in methods.items():
                    answers = dict(zip(ACTORS, column, strict=True))
                    where = f"{group}: {method} {route} [{target}]"
                    # An inactive user's session counts for nothing: they are anonymous.
                    if _status(answers["inactive"]) != _status(answers["anonymous"]):
                        wrong.append(f"{where}: the inactive user is not treated as anonymous")
                    # Only public pages answer anonymous visitors; elsewhere they log in first.
                    if group != "public" and answers["anonymous"] not in {LOGIN, ADMIN_LOGIN}:
                        wrong.append(f"{where}: anonymous visitors are not sent to log in")
                    if group in {"staff", "reports", "admin"}:
                        for actor in ("customer_a", "customer_b"):
                            if _lets_in(answers[actor]):
                                wrong.append(f"{where}: lets {actor} in")
                    # Customer B is A's twin but on their own tickets (and only sent there).
                    twins = _status(answers["customer_a"]) == _status(answers["customer_b"])
                    if not twins and not route.startswith("tickets/"):
                        wrong.append(f"{where}: customer B is not customer A's twin")
                    # Someone else's ticket: a 404, like a missing one (or the method's 405).
                    if route.startswith("tickets/<int:pk>/") and target != "own":
                        for actor in ("customer_a", "customer_b"):
                            if answers[actor] not in {404, 405}:
                                wrong.append(f"{where}: {actor} gets {answers[actor]!r}")
                    # A missing object is found by nobody (the reset page says "invalid link").
                    reset = route.startswith("accounts/reset/")
                    if target == "missing" and any(map(_lets_in, column)) and not reset:
                        wrong.append(f"{where}: a missing object is found")
                    # Anonymous visitors write nothing (but the reset link into a new session).
                    if isinstance(answers["anonymous"], Write) and not reset:
                        wrong.append(f"{where}: an anonymous visitor writes")
    assert wrong == []


# --- The cast and their objects ----------------------------------------------------------------


@dataclass
class World:
    users: dict[str, User | None]
    sessions: dict[str, str]  # actor -> session key, logged in once for the whole module
    tickets: dict[str, Ticket]
    admin_objects: dict[str, object]

    def client(self, actor: str) -> Client:
        """A client with the actor's session (the inactive one logged in, then turned off)."""
        client = Client()
        if actor in self.sessions:
            client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[actor]
        return client

    def login_again(self, actor: str) -> Client:
        """After an answer that may have ended the session (log out): a new one, same person."""
        client = Client()
        user = self.users[actor]
        if user is not None:
            client.force_login(user, backend=BACKEND)
        return client

    def ticket_id(self, target: str, actor: str) -> int:
        if target == "missing":
            return MISSING_ID
        own = {"customer_b": "b", "inactive": "inactive"}.get(actor, "a")  # staff: A's is "own"
        if target == "own":
            return self.tickets[own].pk
        return self.tickets["a" if own == "b" else "b"].pk

    def reset_link(self, target: str) -> tuple[str, str]:
        """(uidb64, token), made now from the rows as they are (a login voids older tokens)."""
        a, b = (User.objects.get(pk=self.users[name].pk) for name in ("customer_a", "customer_b"))
        uid = MISSING_ID if target == "missing" else a.pk
        token = default_token_generator.make_token(b if target == "others" else a)
        return urlsafe_base64_encode(force_bytes(uid)), token

    def path(self, route: str, target: str, actor: str) -> str:
        """A URL for this pattern and target, checked to resolve to that very pattern."""
        if "(?P<" in route:
            # A regular expression: the target is the value of its one group.
            path = re.sub(r"\(\?P<\w+>[^)]*\)", target, route.replace("^", "").replace("$", ""))
            query = ""
        else:
            values = self.params(route, set(PARAM.findall(route)), target, actor)
            path = PARAM.sub(lambda match: str(values[match.group(1)]), route)
            query = target if target.startswith("?") else ""
        match = resolve("/" + path)
        assert match.func is PATTERNS[route].callback, (path, route)
        assert match.route == route.replace("^", ""), (path, route)
        return f"/{path}{query}"

    def params(self, route: str, params: set[str], target: str, actor: str) -> dict:
        if not params:
            assert target == NO_TARGET or target.startswith("?"), (route, target)
            return {}
        if params == {"pk"} and route.startswith("tickets/"):
            return {"pk": self.ticket_id(target, actor)}
        if params == {"uidb64", "token"}:
            return dict(zip(("uidb64", "token"), self.reset_link(target), strict=True))
        if params == {"content_type_id", "object_id"}:
            ticket_type = ContentType.objects.get_for_model(Ticket).pk
            pk = self.tickets["a"].pk if target == "own" else MISSING_ID
            return {"content_type_id": ticket_type, "object_id": pk}
        if params in ({"object_id"}, {"id"}) and route.startswith("admin/"):
            label = ".".join(route.split("/")[1:3])
            pk = self.admin_objects[label].pk if target == "own" else MISSING_ID
            return dict.fromkeys(params, pk)
        raise AssertionError(f"no objects for {params} in {route!r}: teach World.params")


PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def _user(username: str, *, staff: bool = False, superuser: bool = False) -> User:
    # No password: nobody logs in here with one (and bcrypt would be slow outside a test).
    user = User.objects.create_user(
        username=username,
        email=f"{username}@example.com",
        password=None,
        is_staff=staff or superuser,
        is_superuser=superuser,
    )
    if staff and not superuser:
        user.groups.add(Group.objects.get(name=AGENTS_GROUP))
    return user


def _build_world() -> World:
    users = {
        "anonymous": None,
        "customer_a": _user("customer_a"),
        "customer_b": _user("customer_b"),
        "agent": _user("agent", staff=True),
        "admin": _user("admin", superuser=True),
        "inactive": _user("inactive_customer"),
        "inactive_agent": _user("inactive_agent", staff=True),
    }
    tickets = {
        "a": ticket_create(reporter=users["customer_a"], title="A's printer", description="."),
        "b": ticket_create(reporter=users["customer_b"], title="B's printer", description="."),
        "inactive": ticket_create(reporter=users["inactive"], title="Old one", description="."),
    }
    # A staff reply, so that the reporter opening the ticket has something to mark as seen.
    message = message_send(ticket=tickets["a"], sender=users["agent"], content="On it")
    message_send(ticket=tickets["b"], sender=users["customer_b"], content="Any news?")
    event = ticket_assign(ticket=tickets["a"], assignee=users["agent"], by=users["agent"])
    sessions = {}
    for actor, user in users.items():
        if user is not None:
            client = Client()
            client.force_login(user, backend=BACKEND)
            sessions[actor] = client.session.session_key
    # Logged in while the account was on, then turned off: a session that still names them.
    for actor in ("inactive", "inactive_agent"):
        users[actor].is_active = False
        users[actor].save(update_fields=["is_active"])
    axes_fields = {
        "user_agent": "pytest",
        "ip_address": "127.0.0.1",
        "username": "customer_a",
        "http_accept": "*/*",
        "path_info": "/accounts/login/",
    }
    admin_objects = {
        "accounts.user": users["customer_a"],
        "auth.group": Group.objects.get(name=AGENTS_GROUP),
        "tickets.ticket": tickets["a"],
        "tickets.ticketevent": event,
        "messaging.message": message,
        "axes.accessattempt": AccessAttempt.objects.create(
            **axes_fields, get_data="", post_data="", failures_since_start=1
        ),
        "axes.accesslog": AccessLog.objects.create(**axes_fields),
        "axes.accessfailurelog": AccessFailureLog.objects.create(**axes_fields),
    }
    return World(users, sessions, tickets, admin_objects)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The cast and their objects, made once for the module (like TestCase.setUpTestData): in a
    transaction rolled back at the end; each test runs in a savepoint inside it (`db`)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)


# --- Requests and the database -----------------------------------------------------------------

# Every row of these tables is compared; every other table by its number of rows.
WATCHED_ROWS = (User, Group, Ticket, TicketEvent, Message)


@functools.cache
def _snapshot_sql() -> tuple[str, list[str], list[str]]:
    # Table and column names come from the models, quoted: nothing here comes from a request.
    quote = connection.ops.quote_name
    models = apps.get_models(include_auto_created=True)
    counts = ", ".join(f"(SELECT COUNT(*) FROM {quote(m._meta.db_table)})" for m in models)  # noqa: S608
    rows = [
        f"SELECT * FROM {quote(m._meta.db_table)} ORDER BY {quote(m._meta.pk.column)}"  # noqa: S608
        for m in WATCHED_ROWS
    ]
    return f"SELECT {counts}", [m._meta.label for m in models], rows


def snapshot() -> dict:
    """Row counts of every table, and every row of the watched ones (raw SQL: this runs
    before and after each of thousands of requests)."""
    counts_sql, labels, rows_sql = _snapshot_sql()
    with connection.cursor() as cursor:
        cursor.execute(counts_sql)
        state = {f"rows in {label}": n for label, n in zip(labels, cursor.fetchone(), strict=True)}
        for model, sql in zip(WATCHED_ROWS, rows_sql, strict=True):
            cursor.execute(sql)
            state[f"a {model._meta.label} row"] = cursor.fetchall()
    return state


def changes(before: dict, after: dict) -> list[str]:
    return [key for key in before if before[key] != after[key]]


def outcome(response, path: str) -> Outcome:
    """The status, or LOGIN / ADMIN_LOGIN for a redirect to a login page that comes back here."""
    if response.status_code == 302:
        location = response["Location"]
        for prefix, name in (
            ("/accounts/login/?next=", LOGIN),
            ("/admin/login/?next=", ADMIN_LOGIN),
        ):
            if location.startswith(prefix):
                back = unquote(location.removeprefix(prefix))
                return name if back == path else f"302 to {location}"
    return response.status_code


def send(client: Client, method: str, path: str):
    if method == "POST":
        return client.post(path, {})  # an empty form: enough to be refused, or to be invalid
    return client.head(path) if method == "HEAD" else client.get(path)


def _without_csrf(content: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


def check_row(
    world: World,
    route: str,
    row: Row,
    actor: str,
    *,
    column: str,
    methods: tuple[str, ...] = METHODS,
    bodies: dict | None = None,
) -> list[str]:
    """Send each method to each target of the row as `actor`; compare every answer, and the
    database, with the row's `column` (the answers this actor must get). Returns what differs."""
    wrong = []
    client = world.client(actor)
    before = snapshot()
    for target, answers in row.items():
        for method in methods:
            path = world.path(route, target, actor)  # anew each time: a login voids reset links
            expected = answers[method][ACTORS.index(column)]
            where = f"{method} {path} as {actor} [{target}]"
            try:
                response = send(client, method, path)
            except Exception as exc:  # a server error: reported with the others
                got, response = f"raised {exc!r}", None
            else:
                got = outcome(response, path)
            if got != (expected.status if isinstance(expected, Write) else expected):
                wrong.append(f"{where}: expected {expected!r}, got {got!r}")
            after = snapshot()
            if isinstance(expected, Write):
                # Allowed to write (the session, at least): start again as the same person.
                client = world.login_again(actor)
                after = snapshot()
            elif changed := changes(before, after):
                wrong.append(f"{where}: answered {got!r} but changed {changed}")
            before = after
            if bodies is not None and response is not None and method != "HEAD":
                bodies[(actor, method, target)] = _without_csrf(response.content)
    return wrong


ALL_ROUTES = sorted(set(PATTERNS) | set(ACCESS))
TICKET_PAGES = "tickets/<int:pk>/"
TURNED_AWAY_BY_THE_ADMIN = {"anonymous", "customer_a", "customer_b", "inactive"}


def to_send(route: str, row: Row, actor: str) -> Row:
    """The part of a row whose requests are sent: the rest cannot answer differently (and
    leaving it out keeps the file fast).

    - The admin site turns away anyone who is not active staff in `AdminSite.admin_view`, before
      any of its views runs or any object is looked up: they are sent to an admin URL's first
      object only (every method).
    - Customer B is customer A's twin except where an object can be theirs: sent on the ticket
      pages only (elsewhere the table's two columns must be the same, see the rules test).
    """
    if actor == "customer_b" and not route.startswith(TICKET_PAGES):
        return {}
    if actor in TURNED_AWAY_BY_THE_ADMIN and route.startswith("admin/") and route not in PUBLIC:
        return dict([next(iter(row.items()))])
    return row


@pytest.mark.parametrize("route", ALL_ROUTES, ids=lambda route: f"/{route}")
def test_url_access(route, world, db):
    """Every method, actor and object on one URL pattern (but see `to_send`) against its row."""
    if route not in ACCESS:
        pytest.fail("\n".join(missing_rows()))
    if route not in PATTERNS:
        pytest.fail("\n".join(stale_rows()))
    wrong = []
    bodies: dict[tuple, bytes] = {}
    for actor in ACTORS:
        row = to_send(route, ACCESS[route], actor)
        wrong += check_row(world, route, row, actor, column=actor, bodies=bodies)
    if route.startswith(TICKET_PAGES):
        # Someone else's ticket looks exactly like a missing one: same status, same page.
        for actor in ("customer_a", "customer_b"):
            for method in ("GET", "POST"):
                others, missing = (bodies.get((actor, method, t)) for t in ("others", "missing"))
                if others != missing:
                    wrong.append(f"{method} {route} as {actor}: someone else's ticket shows")
    assert wrong == []


def test_a_deactivated_agent_is_anonymous_too(world, db):
    """A staff session that outlives the account being turned off opens nothing either. On every
    URL (its first object, GET and POST), the answers of the inactive column: the anonymous
    visitor's."""
    wrong = []
    for route, row in ACCESS.items():
        if route in PATTERNS:
            first_target = dict([next(iter(row.items()))])
            wrong += check_row(
                world,
                route,
                first_target,
                "inactive_agent",
                column="inactive",
                methods=("GET", "POST"),
            )
    assert wrong == []
