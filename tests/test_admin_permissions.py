"""Who may open which admin page: every URL the admin site has, for every kind of person.

The tables below are the whole policy. The URLs are collected from the admin site itself, so a
new model admin or a new admin URL without a row here fails `test_every_admin_url_has_a_row`.
"""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, reverse

from accounts.models import AGENTS_GROUP, User
from tickets.models import Ticket
from tickets.services import ticket_assign
from tickets.tests.page_helpers import BACKEND, db_state

LOGIN = "login"  # redirected to the admin's login page, with ?next= the page asked for
ACTORS = ["anonymous", "customer", "agent", "admin"]

# model -> view -> (agent, superuser). Anonymous visitors and customers (not staff) are always
# sent to the admin login. "object" is the bare /<id>/ URL, which redirects to the change page.
# 200 on "change" without the change permission is the read-only view (no save button).
SUPERUSER_ONLY = dict.fromkeys(["changelist", "add", "change", "delete", "history"], (403, 200))
READ_ONLY_LOG = {
    "changelist": (200, 200),
    "add": (403, 403),
    "change": (200, 200),  # read-only for both
    "delete": (403, 403),
    "history": (200, 200),
    "object": (302, 302),
}
AXES_LOG = {
    "changelist": (403, 200),
    "add": (403, 403),  # axes records attempts itself
    "change": (403, 200),  # read-only fields
    "delete": (403, 200),
    "history": (403, 200),
    "object": (302, 302),
}
MODEL_PAGES: dict[str, dict[str, tuple[int, int]]] = {
    "accounts.user": {
        "changelist": (200, 200),
        "add": (403, 200),
        "change": (200, 200),  # read-only for agents
        "delete": (403, 200),
        "history": (200, 200),
        "object": (302, 302),
        "auth_user_password_change": (403, 200),
    },
    "auth.group": {**SUPERUSER_ONLY, "object": (302, 302)},
    "tickets.ticket": {
        "changelist": (200, 200),
        "add": (403, 403),  # tickets are reported on the help desk's "New ticket" page
        "change": (200, 200),
        "delete": (403, 200),
        "history": (200, 200),
        "object": (302, 302),
    },
    "tickets.ticketevent": READ_ONLY_LOG,
    "messaging.message": READ_ONLY_LOG,
    "axes.accessattempt": AXES_LOG,
    "axes.accesslog": AXES_LOG,
    "axes.accessfailurelog": AXES_LOG,
}

# The site's own pages: name -> {variant: (anonymous, customer, agent, superuser)}.
SITE_PAGES: dict[str, dict[str, tuple]] = {
    "index": {"/admin/": (LOGIN, LOGIN, 200, 200)},
    # A signed-in customer sees the form with "you are not authorised"; staff go to the index.
    "login": {"/admin/login/": (200, 200, 302, 302)},
    # Logging out is a POST; a GET by someone not signed in to the admin goes to its index.
    "logout": {"/admin/logout/": (302, 302, 405, 405)},
    "password_change": {"/admin/password_change/": (LOGIN, LOGIN, 200, 200)},
    "password_change_done": {"/admin/password_change/done/": (LOGIN, LOGIN, 200, 200)},
    "jsi18n": {"/admin/jsi18n/": (LOGIN, LOGIN, 200, 200)},
    "autocomplete": {
        "/admin/autocomplete/?app_label=tickets&model_name=ticket&field_name=assignee": (
            LOGIN,
            LOGIN,
            200,
            200,
        ),
        # Not a relation: refused, not a server error.
        "/admin/autocomplete/?app_label=tickets&model_name=ticket&field_name=title": (
            LOGIN,
            LOGIN,
            403,
            403,
        ),
    },
    "view_on_site": {
        "/admin/r/{ticket_type}/{ticket}/": (LOGIN, LOGIN, 302, 302),
        "/admin/r/{ticket_type}/999999/": (LOGIN, LOGIN, 404, 404),
    },
    # One row per app with registered models: agents see only the apps they have a model in.
    "app_list": {
        "/admin/accounts/": (LOGIN, LOGIN, 200, 200),
        "/admin/auth/": (LOGIN, LOGIN, 404, 200),
        "/admin/tickets/": (LOGIN, LOGIN, 200, 200),
        "/admin/messaging/": (LOGIN, LOGIN, 200, 200),
        "/admin/axes/": (LOGIN, LOGIN, 404, 200),
    },
    "catch_all": {"/admin/no-such-page/": (LOGIN, LOGIN, 404, 404)},
}


def registered_models() -> list:
    return [model for model in apps.get_models() if admin.site.is_registered(model)]


def view_key(model, pattern: URLPattern) -> str:
    """The table's name for one of a model admin's URLs."""
    prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
    if pattern.name is None:
        assert str(pattern.pattern) == "<path:object_id>/", pattern
        return "object"
    return pattern.name.removeprefix(prefix)


def site_key(pattern: URLPattern) -> str:
    if pattern.name is None:
        assert str(pattern.pattern) == "(?P<url>.*)$", pattern
        return "catch_all"
    return pattern.name


def test_every_admin_url_has_a_row():
    models = {
        model._meta.label_lower: {
            view_key(model, pattern) for pattern in admin.site.get_model_admin(model).get_urls()
        }
        for model in registered_models()
    }
    site = {
        site_key(pattern) for pattern in admin.site.get_urls() if isinstance(pattern, URLPattern)
    }
    app_labels = {model._meta.app_label for model in registered_models()}

    assert models == {label: set(views) for label, views in MODEL_PAGES.items()}
    assert site == set(SITE_PAGES)
    assert {path.split("/")[2] for path in SITE_PAGES["app_list"]} == app_labels


@pytest.fixture
def objects(customer, other_customer, agent, make_ticket, make_message) -> dict:
    """One existing object per registered model (for its change, delete and history pages)."""
    ticket = make_ticket(customer)
    message = make_message(ticket, customer, "Hello")
    event = ticket_assign(ticket=ticket, assignee=agent, by=agent)
    axes_fields = {
        "user_agent": "pytest",
        "ip_address": "127.0.0.1",
        "username": "customer",
        "http_accept": "*/*",
        "path_info": "/accounts/login/",
    }
    return {
        "accounts.user": other_customer,
        "auth.group": Group.objects.get(name=AGENTS_GROUP),
        "tickets.ticket": ticket,
        "tickets.ticketevent": event,
        "messaging.message": message,
        "axes.accessattempt": AccessAttempt.objects.create(
            **axes_fields, get_data="", post_data="", failures_since_start=1
        ),
        "axes.accesslog": AccessLog.objects.create(**axes_fields),
        "axes.accessfailurelog": AccessFailureLog.objects.create(**axes_fields),
    }


def model_path(label: str, view: str, obj) -> str:
    app_label, model_name = label.split(".")
    if view in {"changelist", "add"}:
        return reverse(f"admin:{app_label}_{model_name}_{view}")
    if view == "object":
        return f"{reverse(f'admin:{app_label}_{model_name}_changelist')}{obj.pk}/"
    if view in {"change", "delete", "history"}:
        return reverse(f"admin:{app_label}_{model_name}_{view}", args=[obj.pk])
    return reverse(f"admin:{view}", args=[obj.pk])


def all_pages(objects: dict) -> list[tuple[str, tuple]]:
    """(path, expectations for ACTORS) for every row of both tables."""
    pages = []
    for label, views in MODEL_PAGES.items():
        for view, (agent, superuser) in views.items():
            pages.append(
                (model_path(label, view, objects[label]), (LOGIN, LOGIN, agent, superuser))
            )
    ticket = objects["tickets.ticket"]
    names = {
        "ticket": ticket.pk,
        "ticket_type": ContentType.objects.get_for_model(Ticket).pk,
    }
    for variants in SITE_PAGES.values():
        for path, expected in variants.items():
            pages.append((path.format(**names), expected))
    return pages


def client_as(actor: str, cast: dict) -> Client:
    client = Client()
    if cast[actor] is not None:
        client.force_login(cast[actor], backend=BACKEND)
    return client


@pytest.fixture
def cast(customer, agent, admin_user) -> dict:
    return {"anonymous": None, "customer": customer, "agent": agent, "admin": admin_user}


def outcome(response, path: str):
    """The response's status, or LOGIN for a redirect to the admin login that comes back here."""
    location = response.get("Location", "")
    if response.status_code == 302 and location.startswith("/admin/login/?next="):
        assert unquote(location.removeprefix("/admin/login/?next=")) == path
        return LOGIN
    return response.status_code


@pytest.mark.parametrize("actor", ACTORS)
def test_get_every_admin_page(cast, objects, actor):
    client = client_as(actor, cast)
    column = ACTORS.index(actor)
    before = db_state()

    wrong = []
    for path, expected in all_pages(objects):
        got = outcome(client.get(path), path)
        if got != expected[column]:
            wrong.append(f"{path}: expected {expected[column]}, got {got}")

    assert wrong == []
    assert db_state() == before


@pytest.mark.parametrize("actor", ["anonymous", "customer", "agent"])
def test_post_to_every_add_change_and_delete_page_changes_nothing(cast, objects, actor):
    """An empty POST to every write page: refused (or, on the ticket's form, invalid)."""
    client = client_as(actor, cast)
    users = list(User.objects.order_by("pk").values_list("pk", "is_staff", "is_superuser"))
    counts = {label: type(obj).objects.count() for label, obj in objects.items()}
    before = db_state()

    wrong = []
    for label, views in MODEL_PAGES.items():
        for view in views:
            if view in {"changelist", "history", "object"}:
                continue
            path = model_path(label, view, objects[label])
            if actor != "agent":
                expected = LOGIN
            elif (label, view) == ("tickets.ticket", "change"):
                expected = 200  # the form again, with "this field is required"
            else:
                expected = 403
            got = outcome(client.post(path, {"post": "yes"}), path)
            if got != expected:
                wrong.append(f"POST {path}: expected {expected}, got {got}")

    assert wrong == []
    assert db_state() == before
    assert {label: type(obj).objects.count() for label, obj in objects.items()} == counts
    assert list(User.objects.order_by("pk").values_list("pk", "is_staff", "is_superuser")) == users


class TestAutocomplete:
    URL = "/admin/autocomplete/"

    def search(self, client, term: str) -> list[str]:
        response = client.get(
            self.URL,
            {
                "app_label": "tickets",
                "model_name": "ticket",
                "field_name": "assignee",
                "term": term,
            },
        )
        assert response.status_code == 200
        return sorted(result["text"] for result in response.json()["results"])

    def test_the_assignee_autocomplete_offers_staff_only(
        self, cast, customer, other_customer, agent, other_agent, admin_user
    ):
        client = client_as("agent", cast)

        assert self.search(client, "agent") == ["agent", "other_agent"]
        assert self.search(client, "customer") == []
        assert self.search(client, "") == ["admin", "agent", "other_agent"]
