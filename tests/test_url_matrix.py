"""Who may do what on every URL the site has: an access matrix built from the URL resolver.

Every pattern Django can route to (the help desk's own, auth's and the admin's) is collected by
walking `get_resolver()`. Each needs a row in ACCESS below, saying for every HTTP method (GET,
HEAD, POST, and FORM: a POST of the page's own valid form, where the page takes one, or of a
valid body on the API; PATCH: the API's valid change), every actor and, for a URL that takes an
id, every kind of object, what the answer is. A pattern without a
row fails (`test_every_url_pattern_has_a_row`, and its own case), and so does a row whose pattern
is gone: a new page, model admin or admin URL cannot go unnoticed.
`test_the_table_keeps_to_its_own_rules` checks the table against the rules its groups' comments
state, so a row cannot quietly be loosened.

Each request is also checked against the database: a snapshot (the number of rows of every
table, and every user, group, ticket, message and event row) taken before and after it must be
the same, unless the table marks the answer as one that may write (`W200`, `W302`) or must
(`C302`, `C201`, `C200`: a valid form or body accepted; it is sent in a savepoint rolled back
afterwards, so every actor sends it to the same ticket): a refused one changes no row. A 405 must say, in its Allow header, exactly which of the methods
the row lets through; a page that opens (200 on GET) for someone signed in must name them, and
the ticket pages must show the ticket asked for.

Actors: anonymous, customer A, customer B, an agent, an admin (superuser), and an inactive
customer who logged in and was then deactivated (their session still names them). The API's
rows are sent a second time with each actor's personal API token instead of the session
(`test_api_access_with_a_token`; the deactivated customer's token, made while they were active,
opens nothing). Objects, for the URLs that take an id:
- tickets/<pk>/...: "own" is the actor's own ticket (customer A's for staff and anonymous
  visitors), "others" someone else's (customer B's for staff), "missing" an id no ticket has,
  "huge" an id past 2**63 (it fits the URL's <int:pk> but no id column).
- tickets/<pk>/files/<attachment id>/<name>: "own" a file on a public message of the actor's own
  ticket, "internal" one on an internal note there, "others" a file of someone else's ticket,
  "missing" an attachment id no file has, "huge" the own file under a ticket id past 2**63,
  "elsewhere" someone else's file under the actor's own ticket id, "removed" a file staff
  removed from the actor's own ticket.
- admin/<app>/<model>/<object_id>/... (and the admin's "view on site"): "own" is an object of
  that model that exists, "missing" an id none has.
- accounts/reset/<uidb64>/<token>/: "own" is a valid link for customer A, "others" A's id with
  a token made for customer B, "missing" the id of no user.
- accounts/verify/<token>/: "own" is the confirmation link of an account waiting for it,
  "missing" a link that is not one.

The cast and their objects are made once for the module, in a transaction rolled back at its
end (like `TestCase.setUpTestData`); each case runs in a savepoint inside it. `to_send` lists the
few requests that are not sent because their answer cannot differ. One pattern's case:
pytest "tests/test_url_matrix.py::test_url_access[/tickets/<int:pk>/reply/]"
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
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
from django.utils.html import escape
from django.utils.http import urlsafe_base64_encode
from post_office.models import STATUS as MAIL_STATUS
from post_office.models import Email

from accounts.mail import unsubscribe_token
from accounts.models import AGENTS_GROUP, User
from accounts.services import api_token_create
from accounts.verification import confirmation_token, email_change_token
from messaging.models import Attachment, CannedReply, InboundEmail, Message
from messaging.services import attachment_remove, message_send
from messaging.tests.file_helpers import png_upload
from tickets.models import Category, Ticket, TicketEvent
from tickets.services import ticket_assign, ticket_create
from tickets.tests.page_helpers import BACKEND, HUGE_ID, reply_data

ACTORS = ("anonymous", "customer_a", "customer_b", "agent", "admin", "inactive")
# FORM is a POST of the page's own valid form (VALID_FORMS), on the rows that have it; on the
# API, a POST of a valid body (API_BODIES). PATCH is the API's, with a valid body too.
FORM = "FORM"
PATCH = "PATCH"
METHODS = ("GET", "HEAD", "POST", FORM, PATCH)
# The methods that send a valid form or body: sent in a savepoint rolled back afterwards.
VALID_BODY = {FORM, PATCH}
MISSING_ID = 999_999

LOGIN = "login"  # 302 to /accounts/login/?next=<the path asked for>
ADMIN_LOGIN = "admin login"  # 302 to /admin/login/?next=<the path asked for>
NO_TARGET = "-"


@dataclass(frozen=True)
class Write:
    """An answer that may change the database (an allowed write, or a session started/ended);
    `required`: one that must (a valid form, accepted)."""

    status: int
    required: bool = False

    def __repr__(self) -> str:
        return f"{'C' if self.required else 'W'}{self.status}"


W200, W302 = Write(200), Write(302)
C302 = Write(302, required=True)
C200 = Write(200, required=True)
C201 = Write(201, required=True)

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


def page(get: Column, post: Column, head: Column | None = None, form: Column | None = None) -> Row:
    """A row for a URL without an object: HEAD answers like GET unless it says otherwise; `form`
    is the answer to the page's valid form, for a page that takes one."""
    answers = {"GET": get, "HEAD": head or get, "POST": post}
    if form is not None:
        answers[FORM] = form
    return {NO_TARGET: answers}


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


def ticket_page(
    *, get: Column, post: Column, form: Column | None = None, patch: Column | None = None
) -> Row:
    """`get`, `post` (an empty one), `form` (the page's valid form, or the API's valid body) and
    `patch` (the API's valid change) are the answers on the actor's own ticket; the others
    follow the rule. An id past 2**63 is just another missing one."""
    own = {"GET": get, "HEAD": get, "POST": post}
    if form is not None:
        own[FORM] = form
    if patch is not None:
        own[PATCH] = patch
    missing = {m: _not_yours(c, staff_see_it=False) for m, c in own.items()}
    return {
        "own": own,
        "others": {m: _not_yours(c, staff_see_it=True) for m, c in own.items()},
        "missing": missing,
        "huge": missing,
    }


def file_page() -> Row:
    """A file is the ticket rule again, and an internal note's file is for staff only. Anything
    but the one file of that ticket that is still kept is a 404 for everyone: a missing id, a
    file of another ticket put under this one's id, a removed file."""
    get = (LOGIN, 200, 200, 200, 200, LOGIN)
    own = {"GET": get, "HEAD": get, "POST": signed_in(405)}
    staff_only = {m: _not_yours(c, staff_see_it=True) for m, c in own.items()}
    nobody = {m: _not_yours(c, staff_see_it=False) for m, c in own.items()}
    return {
        "own": own,
        "internal": staff_only,
        "others": staff_only,
        "missing": nobody,
        "huge": nobody,
        "elsewhere": nobody,
        "removed": nobody,
    }


def mail_page() -> Row:
    """The whole mail a message came from: whoever may read the message (a mail is never an
    internal note). Anything else is a 404 for everyone: a missing id, a message of another
    ticket under this one's id, a message that did not come by mail."""
    get = (LOGIN, 200, 200, 200, 200, LOGIN)
    own = {"GET": get, "HEAD": get, "POST": signed_in(405)}
    nobody = {m: _not_yours(c, staff_see_it=False) for m, c in own.items()}
    return {
        "own": own,
        "others": {m: _not_yours(c, staff_see_it=True) for m, c in own.items()},
        "missing": nobody,
        "huge": nobody,
        "elsewhere": nobody,
        "not-mail": nobody,
    }


# --- Admin model pages -------------------------------------------------------------------------
# view -> (GET, POST) on an existing object, then (GET, POST) on a missing id, each as
# (agent, superuser). Without the permission the admin answers 403 (for a missing id too, except
# on history, which looks the object up first); with it, a missing id is a redirect to the admin
# index ("... doesn't exist. Perhaps it was deleted?"). 200 on "change" without the change
# permission is the read-only view. A POST with an empty body to a page the superuser may use
# shows the form again (or the "are you sure?" page for delete): nothing is saved. The delete
# page's own form ("Yes, I'm sure") is each model's `confirmed`: (agent, superuser).
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
# Canned replies: every agent keeps their own (the matrix's object is the agent's own reply);
# shared ones need a permission (messaging/tests/test_canned_replies.py).
CANNED_REPLY_ADMIN: dict[str, AdminView] = {
    "changelist": ((200, 200), (200, 200)),
    "add": ((200, 200), (200, 200)),  # empty POST: form errors
    "history": ((200, 200), (200, 200), (302, 302), (302, 302)),
    "delete": ((200, 200), (200, 200), (302, 302), (302, 302)),
    "change": ((200, 200), (200, 200), (302, 302), (302, 302)),
    **OBJECT_REDIRECT,
}
# Categories are managed by superusers (or whoever is given their permissions); agents have none.
CATEGORY_ADMIN = GROUP_ADMIN
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
OUTBOX_ADMIN: dict[str, AdminView] = {
    # The outbox (every customer's mail): superusers only, read-only; its one action sends
    # failed mail again. Nobody adds, edits or deletes a row here.
    "changelist": ((403, 200), (403, 200)),
    "add": ((403, 403), (403, 403)),
    "history": ((403, 200), (403, 200), (302, 302), (302, 302)),
    "delete": ((403, 403), (403, 403), (403, 403), (403, 403)),
    "change": ((403, 200), (403, 403), (403, 302), (403, 403)),
    **OBJECT_REDIRECT,
}
# Inbound mail (every customer's mail as it came): the same as the outbox; its one action
# processes failed mail again.
INBOUND_ADMIN = OUTBOX_ADMIN
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


def admin_model(
    app_label: str,
    model_name: str,
    views: dict[str, AdminView],
    *,
    confirmed: tuple[Outcome, Outcome],
) -> dict[str, Row]:
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
        if view == "delete":
            row["own"][FORM] = in_admin(*confirmed)
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
    # The footer's language switcher (Django's set_language, POST only): a cookie, then back
    # to `next` (or /); an empty POST sets nothing and goes to /.
    "i18n/setlang/": page(get=everyone(405), post=everyone(302)),
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
    # The unsubscribe link from an email is the credential too, whoever follows it: a GET asks
    # to confirm, a POST (the page's button or a mail client's one-click, without a CSRF token)
    # turns that person's email off; a link that is not ours is a 400 that changes nothing.
    "accounts/unsubscribe/<str:token>/": targets(
        own=(everyone(200), everyone(W200)),
        missing=(everyone(400), everyone(400)),
    ),
    # Where registering leads: the same page whether the address was new or had an account.
    "accounts/register/check-email/": page(get=everyone(200), post=everyone(405)),
    # A new confirmation link for an address; an empty POST is an invalid form.
    "accounts/register/send-again/": page(get=everyone(200), post=everyone(400)),
    # The confirmation link: a page with a button; the button (POST) confirms the address of
    # the account waiting for it and logs its owner in (or, once confirmed, goes to the login
    # page). Any other link shows "This link is not valid", and its button is refused.
    "accounts/verify/<token>/": targets(
        own=(everyone(200), everyone(W302)),
        missing=(everyone(200), everyone(400)),
    ),
    # The link to a new email address: a page with a button (GET changes nothing); the button
    # makes it the account's address (and goes to the profile, or to the login page). Any
    # other link says "not valid", and its button is refused.
    "accounts/email/<str:token>/": targets(
        own=(everyone(200), everyone(W302)),
        missing=(everyone(400), everyone(400)),
    ),
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
    # The profile page's API tokens: a valid form makes one and shows it on the page it
    # answers with (it is stored nowhere); an empty POST is an invalid form.
    "accounts/tokens/": page(get=signed_in(405), post=signed_in(400), form=signed_in(C200)),
    # "Change my email address": a valid form only sends a link (after the commit), so an
    # empty POST is the one sent (an invalid form).
    "accounts/email/": page(get=signed_in(405), post=signed_in(400)),
    # "Download my data": their own account's JSON file.
    "accounts/my-data/": page(get=signed_in(200), post=signed_in(405)),
    # The profile's language and time zone: a valid form saves both; an empty POST is refused.
    "accounts/profile/language/": page(
        get=signed_in(405), post=signed_in(400), form=signed_in(C302)
    ),
    "tickets/": page(get=signed_in(200), post=signed_in(405)),
    # Anyone signed in reports a ticket (staff too, for a caller).
    "tickets/new/": page(get=signed_in(200), post=signed_in(400), form=signed_in(C302)),
    # Staff change the ticked tickets; an empty form changes nothing and goes back to the list.
    "tickets/bulk/": page(get=signed_in(405), post=staff(302), form=staff(C302)),
    # The reporter opening their ticket marks its replies as seen (a write, for them only).
    "tickets/<int:pk>/": ticket_page(get=(LOGIN, W200, W200, 200, 200, LOGIN), post=signed_in(405)),
    # The reporter and staff reply, and close (the form closes the ticket).
    "tickets/<int:pk>/reply/": ticket_page(
        get=signed_in(405), post=signed_in(400), form=signed_in(C302)
    ),
    "tickets/<int:pk>/status/": ticket_page(
        get=signed_in(405), post=signed_in(400), form=signed_in(C302)
    ),
    # A file of a message: to whoever may see the message (GET and HEAD only).
    "tickets/<int:pk>/files/<int:attachment_id>/<str:name>": file_page(),
    # The whole mail a message came from (the conversation shows it without quotes).
    "tickets/<int:pk>/messages/<int:message_id>/mail/": mail_page(),
}

# Staff actions on the ticket pages: a customer is refused (403) on their own ticket, before the
# form is read; someone else's ticket is still a 404. The customer suggestions of the new-ticket
# page (JSON): a 404 for customers, as if there were no such page.
STAFF: dict[str, Row] = {
    "tickets/customers/": page(get=staff(200), post=staff(405)),
    # The single-field forms the ticket page had before its triage panel (kept for the
    # clients that post them); an empty POST is an invalid form.
    "tickets/<int:pk>/assign/": ticket_page(
        get=signed_in(405), post=(LOGIN, 403, 403, 400, 400, LOGIN)
    ),
    "tickets/<int:pk>/priority/": ticket_page(
        get=signed_in(405), post=(LOGIN, 403, 403, 400, 400, LOGIN)
    ),
    # The triage panel and "Take it": staff only (a customer gets a 404 even on their own
    # ticket); an empty POST changes nothing and goes back to the ticket.
    "tickets/<int:pk>/triage/": ticket_page(get=staff(405), post=staff(302), form=staff(C302)),
    # The editor's canned-reply picker (a list for htmx; without it, a page to copy from).
    "tickets/<int:pk>/canned-replies/": ticket_page(get=staff(200), post=staff(405)),
    # The staff page's poll (htmx): who else is viewing, new messages. Opened without htmx it
    # sends staff to the ticket page.
    "tickets/<int:pk>/live/": ticket_page(get=staff(302), post=staff(405)),
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
ADMIN_APPS = "admin/^(?P<app_label>axes|auth|accounts|tickets|messaging|post_office)/$"
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
            # Not a relation: refused, not a server error.
            "?app_label=tickets&model_name=ticket&field_name=title": (
                in_admin(403, 403),
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
        post_office=(in_admin(404, 200), in_admin(404, 200)),
    ),
    "admin/(?P<url>.*)$": targets({"no-such-page/": (in_admin(404, 404), in_admin(404, 404))}),
    # Deleting customer A would delete their messages, which nobody may: the page says so.
    **admin_model("accounts", "user", USER_ADMIN, confirmed=(403, 200)),
    **admin_model("auth", "group", GROUP_ADMIN, confirmed=(403, C302)),
    **admin_model("tickets", "ticket", TICKET_ADMIN, confirmed=(403, C302)),
    **admin_model("tickets", "category", CATEGORY_ADMIN, confirmed=(403, C302)),
    **admin_model("tickets", "ticketevent", READ_ONLY_ADMIN, confirmed=(403, 403)),
    **admin_model("messaging", "message", READ_ONLY_ADMIN, confirmed=(403, 403)),
    **admin_model("messaging", "cannedreply", CANNED_REPLY_ADMIN, confirmed=(C302, C302)),
    **admin_model("post_office", "email", OUTBOX_ADMIN, confirmed=(403, 403)),
    **admin_model("messaging", "inboundemail", INBOUND_ADMIN, confirmed=(403, 403)),
    # API tokens: superusers look (never at a secret: none is kept) and revoke; nobody adds,
    # edits or deletes one here.
    **admin_model("accounts", "apitoken", OUTBOX_ADMIN, confirmed=(403, 403)),
    **admin_model("axes", "accessattempt", AXES_ADMIN, confirmed=(403, C302)),
    **admin_model("axes", "accesslog", AXES_ADMIN, confirmed=(403, C302)),
    **admin_model("axes", "accessfailurelog", AXES_ADMIN, confirmed=(403, C302)),
}

# The REST API (/api/v1/): a program, not a browser. Without credentials (or with the session
# of a deactivated account) it is a 401, never a redirect to a login page; staff-only
# endpoints are a 403 for customers; someone else's ticket (its messages, its files) is a 404,
# exactly like a missing one. A method an endpoint does not have is a 405 once signed in (DRF
# authenticates first). The schema, Swagger UI and Redoc are public, in PUBLIC above.
# Every row is sent twice: with the session (test_url_access) and with each actor's personal
# API token in the Authorization header (test_api_access_with_a_token); the answers are the same.
# FORM is a POST of a valid body (API_BODIES), PATCH a valid change: a customer sending what
# only staff may send is refused (403) on their own ticket, and nothing is written.
API = "api/v1/"


def api_user(outcome: Outcome) -> Column:
    return (401, outcome, outcome, outcome, outcome, 401)


def api_staff(outcome: Outcome) -> Column:
    return (401, 403, 403, outcome, outcome, 401)


def api_file() -> Row:
    """A file through the API: the page's rule (file_page), with the API's 401."""
    return {
        target: {method: (401, *column[1:5], 401) for method, column in answers.items()}
        for target, answers in file_page().items()
    }


API_ROWS: dict[str, Row] = {
    # The valid body opens a ticket for customer B: staff may, a customer may not (403).
    f"{API}tickets/": page(
        get=api_user(200), post=api_user(400), form=(401, 403, 403, C201, C201, 401)
    ),
    # The reporter reading their ticket or its conversation marks its replies as seen, as the
    # ticket page does (a write, for them only). The change sets the priority: staff only, so
    # a customer is refused (403) on their own ticket, before anything is read.
    f"{API}tickets/<int:pk>/": ticket_page(
        get=(401, W200, W200, 200, 200, 401),
        post=api_user(405),
        patch=(401, 403, 403, C200, C200, 401),
    ),
    # An empty POST is an invalid message; the valid body is a reply, which the reporter and
    # staff may write.
    f"{API}tickets/<int:pk>/messages/": ticket_page(
        get=(401, W200, W200, 200, 200, 401), post=api_user(400), form=api_user(C201)
    ),
    # The ticket's files (a list: to whoever may see the ticket, filtered as the files are).
    f"{API}tickets/<int:pk>/files/": ticket_page(get=api_user(200), post=api_user(405)),
    # "own": the reporter's message on the actor's own ticket (customer A's, for staff); an
    # empty POST (no file) is refused. A file goes on your own message only: staff are refused
    # (403) on the customer's.
    f"{API}tickets/<int:pk>/messages/<int:message_id>/files/": ticket_page(
        get=api_user(405), post=api_user(400), form=(401, C201, C201, 403, 403, 401)
    ),
    f"{API}tickets/<int:pk>/files/<int:file_id>/": api_file(),
    # Canned replies: staff only; "own" is the agent's personal reply, which another staff
    # member (the admin) cannot find, exactly like a missing one.
    f"{API}canned-replies/": page(get=api_staff(200), post=api_user(405)),
    f"{API}canned-replies/<int:reply_id>/": targets(
        own=((401, 403, 403, 200, 404, 401), api_user(405)),
        missing=((401, 403, 403, 404, 404, 401), api_user(405)),
    ),
    f"{API}users/me/": page(get=api_user(200), post=api_user(405)),
    f"{API}reports/": page(get=api_staff(200), post=api_user(405)),
    f"{API}customers/": targets({"?email=customer_b@example.com": (api_staff(200), api_user(405))}),
}
PUBLIC.update(
    {
        f"{API}schema/": page(get=everyone(200), post=everyone(405)),
        f"{API}docs/": page(get=everyone(200), post=everyone(405)),
        f"{API}redoc/": page(get=everyone(200), post=everyone(405)),
    }
)

GROUPS = {
    "public": PUBLIC,
    "api": API_ROWS,
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


# Refusals made before a request's body is read.
REFUSED = {LOGIN, ADMIN_LOGIN, 403, 404, 405}


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
                    # Only public pages answer anonymous visitors; elsewhere they log in first
                    # (the API: a 401).
                    if group == "api":
                        if answers["anonymous"] != 401:
                            wrong.append(f"{where}: anonymous programs do not get a 401")
                    elif group != "public" and answers["anonymous"] not in {LOGIN, ADMIN_LOGIN}:
                        wrong.append(f"{where}: anonymous visitors are not sent to log in")
                    if group in {"staff", "reports", "admin"}:
                        for actor in ("customer_a", "customer_b"):
                            if _lets_in(answers[actor]):
                                wrong.append(f"{where}: lets {actor} in")
                    # Customer B is A's twin but on their own tickets (and only sent there).
                    twins = _status(answers["customer_a"]) == _status(answers["customer_b"])
                    route = route.removeprefix(API)
                    if not twins and not route.startswith("tickets/"):
                        wrong.append(f"{where}: customer B is not customer A's twin")
                    # Someone else's ticket: a 404, like a missing one (or the method's 405).
                    if route.startswith("tickets/<int:pk>/") and target != "own":
                        for actor in ("customer_a", "customer_b"):
                            if answers[actor] not in {404, 405}:
                                wrong.append(f"{where}: {actor} gets {answers[actor]!r}")
                    # A missing object is found by nobody (the reset and confirmation pages say
                    # "invalid link").
                    reset = route.startswith(
                        ("accounts/reset/", "accounts/verify/", "accounts/email/<")
                    )
                    missing = target in {"missing", "huge"}
                    if missing and any(map(_lets_in, column)) and not reset:
                        wrong.append(f"{where}: a missing object is found")
                    # Anonymous visitors write nothing (but the reset link into a new session,
                    # the confirmation links and the unsubscribe link: the links are
                    # credentials).
                    unsubscribe = route.startswith("accounts/unsubscribe/")
                    if isinstance(answers["anonymous"], Write) and not (reset or unsubscribe):
                        wrong.append(f"{where}: an anonymous visitor writes")
                    # Only a valid form (or body) must change the database.
                    required = any(getattr(a, "required", False) for a in column)
                    if method not in VALID_BODY and required:
                        wrong.append(f"{where}: a request that is not a valid form must write")
                    if method == PATCH and group != "api":
                        wrong.append(f"{where}: PATCH is the API's")
                # Who may send a page's form does not depend on what it holds: where an empty
                # POST is refused before the form is read, so is the valid one.
                if FORM in methods:
                    for actor, post, form in zip(
                        ACTORS, methods["POST"], methods[FORM], strict=True
                    ):
                        if post in REFUSED and form != post:
                            wrong.append(f"{group}: {route} [{target}]: {actor}'s form: {form!r}")
    # One row answers for every app the admin lists, each app with its own target.
    apps_in_route = set(re.search(r"\((?:\?P<\w+>)?([^)]*)\)", ADMIN_APPS).group(1).split("|"))
    if set(ADMIN[ADMIN_APPS]) != apps_in_route:
        wrong.append(f"admin: {ADMIN_APPS}: targets {sorted(ADMIN[ADMIN_APPS])}")
    assert wrong == []


# --- The cast and their objects ----------------------------------------------------------------


@dataclass
class World:
    users: dict[str, User | None]
    sessions: dict[str, str]  # actor -> session key, logged in once for the whole module
    tickets: dict[str, Ticket]
    admin_objects: dict[str, object]
    attachments: dict[tuple[str, str], Attachment]
    mails: dict[str, Message]  # ticket key -> its message that came by mail
    tokens: dict[str, str]  # actor -> their personal API token (made while they were active)

    def client(self, actor: str, *, token: bool = False, **options) -> Client:
        """A client with the actor's session (the inactive one logged in, then turned off), or
        with `token` their API token in the Authorization header and no session (anonymous:
        a token that is none)."""
        if token:
            raw = self.tokens.get(actor, NOT_A_TOKEN)
            return Client(headers={"Authorization": f"Bearer {raw}"}, **options)
        client = Client(**options)
        if actor in self.sessions:
            client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[actor]
        return client

    def login_again(self, actor: str, *, token: bool = False) -> Client:
        """After an answer that may have ended the session (log out): a new one, same person."""
        if token:
            return self.client(actor, token=True)
        client = Client()
        user = self.users[actor]
        if user is not None:
            client.force_login(user, backend=BACKEND)
        return client

    def tickets_by_id(self) -> dict[int, Ticket]:
        return {ticket.pk: ticket for ticket in self.tickets.values()}

    def ticket_id(self, target: str, actor: str) -> int:
        if target in {"missing", "huge"}:
            return MISSING_ID if target == "missing" else HUGE_ID
        own = {"customer_b": "b", "inactive": "inactive"}.get(actor, "a")  # staff: A's is "own"
        if target == "own":
            return self.tickets[own].pk
        return self.tickets["a" if own == "b" else "b"].pk

    def file_params(self, target: str, actor: str) -> dict:
        own = {"customer_b": "b", "inactive": "inactive"}.get(actor, "a")
        other = "a" if own == "b" else "b"
        # target -> (whose ticket's id is in the URL, whose file of which kind)
        ticket, file = {
            "own": (own, (own, "public")),
            "internal": (own, (own, "internal")),
            "others": (other, (other, "public")),
            "missing": (own, None),
            "huge": ("huge", (own, "public")),
            "elsewhere": (own, (other, "public")),
            "removed": (own, (own, "removed")),
        }[target]
        pk = HUGE_ID if ticket == "huge" else self.tickets[ticket].pk
        if file is None:
            return {"pk": pk, "attachment_id": MISSING_ID, "name": "x.png"}
        attachment = self.attachments[file]
        return {"pk": pk, "attachment_id": attachment.pk, "name": attachment.name}

    def mail_params(self, target: str, actor: str) -> dict:
        own = {"customer_b": "b", "inactive": "inactive"}.get(actor, "a")
        other = "a" if own == "b" else "b"
        ticket, message = {
            "own": (own, self.mails[own].pk),
            "others": (other, self.mails[other].pk),
            "missing": (own, MISSING_ID),
            "huge": ("huge", self.mails[own].pk),
            "elsewhere": (own, self.mails[other].pk),
            "not-mail": (own, self.attachments[(own, "public")].message_id),
        }[target]
        pk = HUGE_ID if ticket == "huge" else self.tickets[ticket].pk
        return {"pk": pk, "message_id": message}

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
        route = route.removeprefix(API)
        if params == {"pk"} and route.startswith("tickets/"):
            return {"pk": self.ticket_id(target, actor)}
        if params == {"pk", "attachment_id", "name"}:
            return self.file_params(target, actor)
        if params == {"pk", "message_id"} and route.startswith("tickets/"):
            return self.mail_params(target, actor)
        if params == {"pk", "file_id"}:
            found = self.file_params(target, actor)
            return {"pk": found["pk"], "file_id": found["attachment_id"]}
        if params == {"pk", "message_id"}:
            # The message of a public file on that ticket (its reporter's own message).
            pk = self.ticket_id(target, actor)
            whose = {ticket.pk: key for key, ticket in self.tickets.items()}.get(pk)
            message_id = self.attachments[(whose, "public")].message_id if whose else MISSING_ID
            if target == "missing":
                message_id = MISSING_ID
            return {
                "pk": pk if target != "missing" else self.ticket_id("own", actor),
                "message_id": message_id,
            }
        if params == {"reply_id"}:
            reply = self.admin_objects["messaging.cannedreply"]
            return {"reply_id": reply.pk if target == "own" else MISSING_ID}
        if params == {"uidb64", "token"}:
            return dict(zip(("uidb64", "token"), self.reset_link(target), strict=True))
        if params == {"token"} and route.startswith("accounts/unsubscribe/"):
            customer_a = self.users["customer_a"]
            return {"token": unsubscribe_token(customer_a) if target == "own" else "1:not-ours"}
        if params == {"token"} and route.startswith("accounts/email/"):
            if target != "own":
                return {"token": "not-a-link"}
            # As the account is now: an earlier actor's button may have changed its address
            # (to this one) in this case's savepoint, which ends the links made before.
            customer_a = User.objects.get(pk=self.users["customer_a"].pk)
            return {"token": email_change_token(customer_a, "a.new.address@example.com")}
        if params == {"token"}:
            pending = self.users["pending"]
            return {"token": confirmation_token(pending) if target == "own" else "not-a-link"}
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
NOT_A_TOKEN = "hd_0123456789abcdef_not-a-token"


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
        # Registered, waiting for the link emailed to them.
        "pending": _user("pending_customer"),
    }
    users["pending"].email_verified_at = None
    users["pending"].save(update_fields=["email_verified_at"])
    tickets = {
        "a": ticket_create(reporter=users["customer_a"], title="A's printer", description="."),
        "b": ticket_create(reporter=users["customer_b"], title="B's printer", description="."),
        "inactive": ticket_create(reporter=users["inactive"], title="Old one", description="."),
    }
    # A staff reply, so that the reporter opening the ticket has something to mark as seen.
    message = message_send(ticket=tickets["a"], sender=users["agent"], content="On it")
    message_send(ticket=tickets["b"], sender=users["customer_b"], content="Any news?")
    event = ticket_assign(ticket=tickets["a"], assignee=users["agent"], by=users["agent"])
    # On each ticket: a file on a public message, one on an internal note, one removed.
    attachments = {}
    for key, ticket in tickets.items():
        for kind, sender, internal in (
            ("public", ticket.reporter, False),
            ("internal", users["agent"], True),
            ("removed", users["agent"], False),
        ):
            note = message_send(
                ticket=ticket,
                sender=sender,
                content=f"A {kind} file",
                is_internal=internal,
                files=[png_upload(f"{key}-{kind}.png")],
            )
            attachments[(key, kind)] = note.attachments.get()
        attachment_remove(attachment=attachments[(key, "removed")], by=users["agent"])
    # On each ticket: a reply that came by mail.
    mails = {}
    for key, ticket in tickets.items():
        mails[key] = message_send(ticket=ticket, sender=ticket.reporter, content="By mail")
        InboundEmail.objects.create(
            key=f"{key:>64}",
            sha256=f"{key:1>64}",  # one mail each: the digest is unique
            raw=b"From: someone\r\n\r\nBy mail",
            size=30,
            source="test",
            status=InboundEmail.Status.PROCESSED,
            reason="a test",
            ticket=ticket,
            reply=mails[key],
            text="By mail\n\n> quoted",
        )
    sessions, tokens = {}, {}
    for actor, user in users.items():
        if user is not None:
            client = Client()
            client.force_login(user, backend=BACKEND)
            sessions[actor] = client.session.session_key
            tokens[actor] = api_token_create(user=user, name="The access matrix")[1]
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
        "accounts.apitoken": api_token_create(user=users["customer_a"], name="CRM")[0],
        "auth.group": Group.objects.get(name=AGENTS_GROUP),
        "tickets.ticket": tickets["a"],
        "tickets.category": Category.objects.create(name="Printers"),
        "tickets.ticketevent": event,
        "messaging.message": message,
        "messaging.cannedreply": CannedReply.objects.create(
            title="Printer", body="Hi {{ customer.first_name }}", owner=users["agent"]
        ),
        "post_office.email": Email.objects.create(
            from_email="helpdesk@localhost",
            to=["customer_a@example.com"],
            subject="[#1] A's printer",
            message="On it",
            status=MAIL_STATUS.failed,
        ),
        "messaging.inboundemail": InboundEmail.objects.create(
            key="k" * 64,
            sha256="0" * 64,
            raw=b"From: customer_a@example.com\r\n\r\nHello",
            size=38,
            source="test",
            from_address="customer_a@example.com",
            status=InboundEmail.Status.IGNORED,
            reason="a test",
        ),
        "axes.accessattempt": AccessAttempt.objects.create(
            **axes_fields, get_data="", post_data="", failures_since_start=1
        ),
        "axes.accesslog": AccessLog.objects.create(**axes_fields),
        "axes.accessfailurelog": AccessFailureLog.objects.create(**axes_fields),
    }
    return World(users, sessions, tickets, admin_objects, attachments, mails, tokens)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The cast and their objects, made once for the module (like TestCase.setUpTestData): in a
    transaction rolled back at the end; each test runs in a savepoint inside it (`db`)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)


# --- Requests and the database -----------------------------------------------------------------

# Every row of these tables is compared; every other table by its number of rows.
WATCHED_ROWS = (User, Group, Ticket, TicketEvent, Message, Attachment, Category)


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


# The pages' own valid forms (the FORM answers): what changes the ticket (or makes one), if the
# actor may. `version` is the ticket's as it is now (1 for an id no ticket has).
VALID_FORMS: dict[str, Callable[[World, int], dict]] = {
    "accounts/tokens/": lambda world, version: {"name": "Made by the access matrix"},
    "accounts/profile/language/": lambda world, version: {
        "language": "de",
        "time_zone": "Europe/Berlin",
    },
    "tickets/bulk/": lambda world, version: {
        "tickets": [world.tickets["a"].pk],
        "action": "priority:urgent",
    },
    "tickets/new/": lambda world, version: {
        "title": "Reported through the access matrix",
        "description": "It beeps.",
        "priority": "high",
        "files": png_upload("reported.png"),
        # Staff open it for customer B; a customer's form has no such field (it is not read).
        "customer": world.users["customer_b"].username,
    },
    "tickets/<int:pk>/reply/": lambda world, version: reply_data(
        "A reply from the access matrix", files=png_upload("replied.png")
    ),
    "tickets/<int:pk>/status/": lambda world, version: {"status": "closed", "version": version},
    "tickets/<int:pk>/triage/": lambda world, version: {
        "priority": "urgent",
        "shown_priority": "normal",
        "tags": "from-the-matrix",
        "shown_tags": "",
    },
}


# The API's valid bodies (FORM: a POST, PATCH: a change), JSON unless they carry a file.
API_BODIES: dict[str, dict[str, Callable[[World, int], dict]]] = {
    f"{API}tickets/": {
        FORM: lambda world, version: {
            "title": "Opened through the API by the access matrix",
            "description": "It beeps.",
            "priority": "high",
            "customer": world.users["customer_b"].username,
        }
    },
    f"{API}tickets/<int:pk>/": {
        PATCH: lambda world, version: {"priority": "high", "version": version},
    },
    f"{API}tickets/<int:pk>/messages/": {
        FORM: lambda world, version: {"content": "A reply through the API"},
    },
    f"{API}tickets/<int:pk>/messages/<int:message_id>/files/": {
        FORM: lambda world, version: {"file": png_upload("through-the-api.png")},
    },
}


def valid_form(world: World, route: str, path: str, method: str = FORM) -> dict:
    if route.startswith("admin/") and route.endswith("/delete/"):
        return {"post": "yes"}  # the delete page's "Yes, I'm sure"
    ticket_id = re.match(rf"/(?:{API})?tickets/(\d+)/", path)
    pk = int(ticket_id.group(1)) if ticket_id else None
    version = Ticket.objects.get(pk=pk).version if pk in world.tickets_by_id() else 1
    if route.startswith(API):
        return API_BODIES[route][method](world, version)
    return VALID_FORMS[route](world, version)


def send(client: Client, method: str, path: str, form: dict | None = None):
    if method == PATCH:
        return client.patch(path, form, content_type="application/json")
    if method == FORM:
        if path.startswith(f"/{API}") and not any(hasattr(v, "read") for v in form.values()):
            return client.post(path, form, content_type="application/json")
        return client.post(path, form)
    if method == "POST":
        return client.post(path, {})  # an empty form: enough to be refused, or to be invalid
    return client.head(path) if method == "HEAD" else client.get(path)


def _without_csrf(content: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


def _answer(client: Client, method: str, path: str, form: dict | None = None):
    """(outcome, response), or a server error's description and None."""
    try:
        response = send(client, method, path, form)
    except Exception as exc:  # a server error: reported with the others
        return f"raised {exc!r}", None
    return outcome(response, path), response


def _allowed(response) -> set[str]:
    return {method.strip() for method in response.get("Allow", "").split(",")} - {""}


def check_row(
    world: World,
    route: str,
    row: Row,
    actor: str,
    *,
    column: str,
    methods: tuple[str, ...] = METHODS,
    responses: dict | None = None,
    token: bool = False,
) -> list[str]:
    """Send each method to each target of the row as `actor` (with their session, or with
    `token` their API token); compare every answer, and the database, with the row's `column`
    (the answers this actor must get). Returns what differs."""
    wrong = []
    client = world.client(actor, token=token)
    before = snapshot()
    login_page_seen = False
    index = ACTORS.index(column)
    for target, answers in row.items():
        for method in methods:
            if method not in answers:
                continue
            path = world.path(route, target, actor)  # anew each time: a login voids reset links
            expected = answers[method][index]
            where = f"{method} {path} as {actor} [{target}]"
            if method in VALID_BODY:
                # A savepoint, rolled back: every actor sends the form to the rows as they were.
                with transaction.atomic():
                    body = valid_form(world, route, path, method)
                    got, response = _answer(client, method, path, body)
                    changed = changes(before, snapshot())
                    transaction.set_rollback(True)
                # The form's flash message is in the cookies: not for the next page.
                client = world.client(actor, token=token)
            else:
                got, response = _answer(client, method, path)
                after = snapshot()
                changed = changes(before, after)
            if got != _status(expected):
                wrong.append(f"{where}: expected {expected!r}, got {got!r}")
            if isinstance(expected, Write) and expected.required and not changed:
                wrong.append(f"{where}: answered {got!r} but changed nothing")
            if isinstance(expected, Write) and method not in VALID_BODY:
                # Allowed to write (the session, at least): start again as the same person.
                client = world.login_again(actor, token=token)
                after = snapshot()
            elif changed and not isinstance(expected, Write):
                wrong.append(f"{where}: answered {got!r} but changed {changed}")
            if method not in VALID_BODY:
                before = after
            if response is None:
                continue
            if got == 405:
                # The Allow header names exactly the methods the row lets through.
                named = {"GET", "HEAD", "POST"} | ({PATCH} & set(answers))
                taken = {m for m in named if _status(answers[m][index]) != 405}
                if _allowed(response) & named != taken:
                    wrong.append(f"{where}: Allow: {response.get('Allow')!r}, not {sorted(taken)}")
            if got == expected == C302 and route.startswith("tickets/"):
                # Accepted: back to the ticket's page (the new one's, for a new ticket).
                page = re.match(r"/tickets/\d+/", path)
                back = response["Location"]
                if not (back == page.group(0) if page else re.fullmatch(r"/tickets/\d+/", back)):
                    wrong.append(f"{where}: accepted, then sent to {back!r}")
            if got in {LOGIN, ADMIN_LOGIN} and not login_page_seen:
                # The login page it is sent to opens (once per row: they are all alike).
                login_page_seen = True
                if (status := Client().get(response["Location"]).status_code) != 200:
                    wrong.append(f"{where}: the login page answers {status}")
            if responses is not None and method != "HEAD":
                responses[(actor, method, target)] = response
    return wrong


ALL_ROUTES = sorted(set(PATTERNS) | set(ACCESS))
TICKET_PAGES = "tickets/<int:pk>/"
TURNED_AWAY_BY_THE_ADMIN = {"anonymous", "customer_a", "customer_b", "inactive"}
SIGNED_IN = ("customer_a", "customer_b", "agent", "admin")


def to_send(route: str, row: Row, actor: str) -> Row:
    """The part of a row whose requests are sent: the rest cannot answer differently (and
    leaving it out keeps the file fast).

    - The admin site turns away anyone who is not active staff in `AdminSite.admin_view`, before
      any of its views runs or any object is looked up: they are sent to an admin URL's first
      object only (every method).
    - Customer B is customer A's twin except where an object can be theirs: sent on the ticket
      pages only (elsewhere the table's two columns must be the same, see the rules test).
    """
    if actor == "customer_b" and not route.removeprefix(API).startswith(TICKET_PAGES):
        return {}
    if actor in TURNED_AWAY_BY_THE_ADMIN and route.startswith("admin/") and route not in PUBLIC:
        return dict([next(iter(row.items()))])
    return row


def must_show(world: World, route: str, actor: str, target: str) -> list[str]:
    """What a page that opens (200 on GET) for someone signed in shows, beyond its status: who
    they are (the menu), and on the ticket pages the ticket asked for (or the form to report)."""
    if route.startswith(API):
        return []  # the API's documentation pages: the same for everyone
    shown = [escape(world.users[actor].username)]
    titles = {pk: ticket.title for pk, ticket in world.tickets_by_id().items()}
    if route == "tickets/":
        shown.append(escape(titles[world.ticket_id("own", actor)]))
    elif route == "tickets/new/":
        shown.append('name="title"')
    elif route == TICKET_PAGES:
        shown.append(escape(titles[world.ticket_id(target, actor)]))
    return shown


def check_route(world: World, route: str, *, token: bool = False) -> list[str]:
    """Every method, actor and object on one URL pattern (but see `to_send`) against its row,
    with the actors' sessions or (`token`) their API tokens. Returns what differs."""
    wrong = []
    responses: dict[tuple, object] = {}
    for actor in ACTORS:
        row = to_send(route, ACCESS[route], actor)
        wrong += check_row(world, route, row, actor, column=actor, responses=responses, token=token)
    for (actor, method, target), response in responses.items():
        html = response.get("Content-Type", "").startswith("text/html")
        if method == "GET" and response.status_code == 200 and actor in SIGNED_IN and html:
            content = response.content.decode()
            for text in must_show(world, route, actor, target):
                if text not in content:
                    wrong.append(f"GET {route} [{target}] as {actor}: {text!r} is not shown")
    if route.removeprefix(API).startswith(TICKET_PAGES):
        # Someone else's ticket looks exactly like a missing one: same status, same page, and
        # an id past 2**63 too.
        for actor in ("customer_a", "customer_b"):
            for method in ("GET", "POST", FORM, PATCH):
                pages = {
                    target: _without_csrf(responses[(actor, method, target)].content)
                    for target in ("others", "missing", "huge")
                    if (actor, method, target) in responses
                }
                if len(set(pages.values())) > 1:
                    wrong.append(f"{method} {route} as {actor}: someone else's ticket shows")
                theirs = world.tickets_by_id()[world.ticket_id("others", actor)]
                if escape(theirs.title).encode() in pages.get("others", b""):
                    wrong.append(f"{method} {route} as {actor}: shows {theirs.title!r}")
    return wrong


@pytest.mark.parametrize("route", ALL_ROUTES, ids=lambda route: f"/{route}")
def test_url_access(route, world, db):
    """Every method, actor and object on one URL pattern (but see `to_send`) against its row."""
    if route not in ACCESS:
        pytest.fail("\n".join(missing_rows()))
    if route not in PATTERNS:
        pytest.fail("\n".join(stale_rows()))
    assert check_route(world, route) == []


@pytest.mark.parametrize("route", sorted(API_ROWS), ids=lambda route: f"/{route}")
def test_api_access_with_a_token(route, world, db):
    """The API's rows again, each actor with their personal API token (Authorization: Bearer)
    instead of the session: the same answers, the same writes. The anonymous program sends a
    token that is none; the deactivated customer's token stopped working with the account."""
    assert check_route(world, route, token=True) == []


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
                methods=("GET", "POST", FORM, PATCH),
            )
    assert wrong == []


# --- Forms and their CSRF tokens -----------------------------------------------------------------

HELP_DESK_FORMS = sorted(route for route in VALID_FORMS if route in ACCESS)


def _form_token(html: str, action: str) -> str | None:
    """The CSRF token inside the page's POST form that is sent to `action` (no action: the page
    itself), or None if that form has none."""
    for attributes, body in re.findall(r"<form\b([^>]*)>(.*?)</form>", html, re.DOTALL):
        if 'method="post"' not in attributes:
            continue
        sent_to = re.search(r'action="([^"]*)"', attributes)
        if (sent_to.group(1) if sent_to else None) == action:
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
            return token.group(1) if token else None
    raise AssertionError(f"no form sent to {action!r} on the page")


@pytest.mark.parametrize("route", HELP_DESK_FORMS, ids=lambda route: f"/{route}")
def test_a_form_without_the_pages_csrf_token_is_refused(route, world, db):
    """With CSRF checks on, as in a browser: the page's valid form sent by someone who may send
    it (customer A, or the agent for the staff actions) is refused (403) without a token and
    changes nothing; with the token the page put in that form, it is accepted."""
    target = next(iter(ACCESS[route]))  # "own", or none
    actor = "customer_a" if ACCESS[route][target][FORM][1] in (C302, C200) else "agent"
    client = world.client(actor, enforce_csrf_checks=True)
    path = world.path(route, target, actor)
    before = snapshot()

    refused = client.post(path, valid_form(world, route, path))

    assert refused.status_code == 403
    assert changes(before, snapshot()) == []
    # The bulk action's form is on the list; every other on the page it is sent to.
    if route in ("accounts/tokens/", "accounts/profile/language/"):
        shown_on = "/accounts/profile/"
    elif route == "tickets/bulk/":
        shown_on = "/tickets/"
    else:
        shown_on = re.match(r"/tickets/(\d+/|new/)", path)[0]
    page = client.get(shown_on)
    token = _form_token(page.content.decode(), None if path == shown_on else path)
    assert token is not None, f"the form sent to {path} on {shown_on} carries no CSRF token"
    before = snapshot()
    accepted = client.post(path, {**valid_form(world, route, path), "csrfmiddlewaretoken": token})
    # A new API token is shown on the page that answers (it is stored nowhere to redirect to).
    assert accepted.status_code == (200 if route == "accounts/tokens/" else 302)
    assert changes(before, snapshot()) != []


API_WRITES = sorted((route, method) for route, bodies in API_BODIES.items() for method in bodies)


@pytest.mark.parametrize(("route", "method"), API_WRITES, ids=lambda value: str(value))
def test_an_api_write_with_the_session_needs_the_csrf_token_and_with_a_token_does_not(
    route, method, world, db
):
    """With CSRF checks on, as in a browser: the API's valid body sent with the session of
    someone who may send it is refused (403) without the CSRF token and changes nothing; the
    same body with their API token (a program: no cookie to forge) is accepted."""
    target = next(iter(ACCESS[route]))  # "own", or none
    answers = ACCESS[route][target][method]
    actor = "customer_a" if isinstance(answers[1], Write) else "agent"
    path = world.path(route, target, actor)
    before = snapshot()

    with transaction.atomic():
        refused = send(
            world.client(actor, enforce_csrf_checks=True),
            method,
            path,
            valid_form(world, route, path, method),
        )
        assert refused.status_code == 403
        assert "CSRF" in refused.json()["detail"]
        assert changes(before, snapshot()) == []
        accepted = send(
            world.client(actor, token=True, enforce_csrf_checks=True),
            method,
            path,
            valid_form(world, route, path, method),
        )
        assert accepted.status_code == answers[ACTORS.index(actor)].status
        assert changes(before, snapshot()) != []
        transaction.set_rollback(True)


def test_the_assignee_autocomplete_offers_staff_only(world, db):
    """The admin's assignee box, searched by an agent: staff users matching the term, never a
    customer (whatever the term)."""
    client = world.client("agent")

    def offered(term: str) -> set[str]:
        response = client.get(
            "/admin/autocomplete/",
            {
                "app_label": "tickets",
                "model_name": "ticket",
                "field_name": "assignee",
                "term": term,
            },
        )
        assert response.status_code == 200
        return {result["text"] for result in response.json()["results"]}

    staff = User.objects.filter(is_staff=True)
    for term in ("", "agent", "admin"):
        expected = set(staff.filter(username__icontains=term).values_list("username", flat=True))
        assert offered(term) == expected
    assert {"agent", "admin"} <= offered("")
    assert offered("customer") == set()
