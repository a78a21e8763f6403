"""Who may open or change which ticket, over every ticket page and endpoint."""

import re

import pytest

from tickets.models import Ticket

from .page_helpers import (
    HUGE_ID,
    MISSING_ID,
    client_for,
    db_state,
    login_redirect,
    reply_data,
)

ACTORS = ["anonymous", "owner", "other_customer", "agent", "admin"]
TARGETS = ["own_ticket", "missing_id", "huge_id"]
ENDPOINTS = ["detail", "reply", "status", "assign", "priority"]
POST_ONLY = ["reply", "status", "assign", "priority"]


@pytest.fixture
def cast(customer, other_customer, agent, other_agent, admin_user) -> dict:
    return {
        "anonymous": None,
        "owner": customer,
        "other_customer": other_customer,
        "agent": agent,
        "admin": admin_user,
        "other_agent": other_agent,
    }


def _path(pk: int, endpoint: str) -> str:
    return f"/tickets/{pk}/" if endpoint == "detail" else f"/tickets/{pk}/{endpoint}/"


def _valid_post(endpoint: str, ticket: Ticket, cast: dict) -> dict:
    """A POST that would change the ticket if the actor were allowed to make it."""
    return {
        "reply": reply_data("A reply from the access matrix"),
        "status": {"status": Ticket.Status.CLOSED, "version": ticket.version},
        "assign": {"assignee": cast["other_agent"].pk, "version": ticket.version},
        "priority": {"priority": Ticket.Priority.URGENT, "version": ticket.version},
    }.get(endpoint, {})


def _expected(actor: str, target: str, endpoint: str):
    if actor == "anonymous":
        return "login"
    if target != "own_ticket" or actor == "other_customer":
        return 404
    if endpoint == "detail":
        return 200
    if actor == "owner" and endpoint in {"assign", "priority"}:
        return 403
    return 302


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("actor", ACTORS)
def test_access_matrix(actor, target, endpoint, cast, ticket):
    pk = {"own_ticket": ticket.pk, "missing_id": MISSING_ID, "huge_id": HUGE_ID}[target]
    path = _path(pk, endpoint)
    client = client_for(cast[actor])
    before = db_state()

    if endpoint == "detail":
        response = client.get(path)
    else:
        response = client.post(path, _valid_post(endpoint, ticket, cast))

    expected = _expected(actor, target, endpoint)
    after = db_state()
    if expected == "login":
        assert response.status_code == 302
        assert response["Location"] == login_redirect(path)
    else:
        assert response.status_code == expected
    if expected == 302:
        # Allowed changes happen, and the browser is sent back to the ticket.
        assert response["Location"] == ticket.get_absolute_url()
        assert after != before
    else:
        assert after == before
    if expected == 200:
        assert ticket.title in response.content.decode()


def _without_csrf(content: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_someone_elses_ticket_looks_exactly_like_a_missing_one(endpoint, cast, ticket):
    client = client_for(cast["other_customer"])
    method = client.get if endpoint == "detail" else client.post

    theirs = method(_path(ticket.pk, endpoint), _valid_post(endpoint, ticket, cast))
    missing = method(_path(MISSING_ID, endpoint), _valid_post(endpoint, ticket, cast))

    assert theirs.status_code == missing.status_code == 404
    # Identical but for the CSRF token of the page's logout form, masked anew per response.
    assert _without_csrf(theirs.content) == _without_csrf(missing.content)
    assert ticket.title.encode() not in theirs.content


@pytest.mark.parametrize("endpoint", POST_ONLY)
@pytest.mark.parametrize("actor", ["owner", "agent", "admin"])
def test_post_only_endpoints_reject_get(actor, endpoint, cast, ticket):
    before = db_state()

    response = client_for(cast[actor]).get(_path(ticket.pk, endpoint))

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert db_state() == before


@pytest.mark.parametrize("role", ["customer", "agent", "admin_user"])
@pytest.mark.parametrize("page", ["list", "new", "detail"])
def test_every_page_opens_for_every_role(page, role, request, ticket):
    user = request.getfixturevalue(role)
    path = {"list": "/tickets/", "new": "/tickets/new/", "detail": f"/tickets/{ticket.pk}/"}[page]

    response = client_for(user).get(path)

    assert response.status_code == 200
    content = response.content.decode()
    assert user.username in content  # the navigation bar shows who is logged in
    if page == "new":
        assert 'name="title"' in content
    else:
        assert ticket.title in content


@pytest.mark.parametrize("path", ["/tickets/", "/tickets/new/", "/tickets/{pk}/"])
def test_anonymous_visitor_is_sent_to_the_login_page(path, client, ticket):
    path = path.format(pk=ticket.pk)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == login_redirect(path)
    assert client.get(response["Location"]).status_code == 200


def test_anonymous_post_to_new_ticket_creates_nothing(client, db):
    response = client.post("/tickets/new/", {"title": "Spam", "description": "Spam"})

    assert response.status_code == 302
    assert response["Location"] == login_redirect("/tickets/new/")
    assert not Ticket.objects.exists()


def test_status_change_without_csrf_token_is_refused(customer, ticket):
    client = client_for(customer, enforce_csrf_checks=True)
    before = db_state()

    response = client.post(f"/tickets/{ticket.pk}/status/", {"status": "closed", "version": 1})

    assert response.status_code == 403
    assert db_state() == before
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


def test_reply_without_csrf_token_is_refused(customer, ticket):
    client = client_for(customer, enforce_csrf_checks=True)
    before = db_state()

    response = client.post(f"/tickets/{ticket.pk}/reply/", reply_data("Sneaky"))

    assert response.status_code == 403
    assert db_state() == before


def test_forms_on_the_ticket_page_carry_a_csrf_token(agent, ticket):
    """The other half of the CSRF check: the real forms still work with enforcement on."""
    client = client_for(agent, enforce_csrf_checks=True)
    page = client.get(f"/tickets/{ticket.pk}/")
    token = page.context["csrf_token"]
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()

    response = client.post(
        f"/tickets/{ticket.pk}/status/",
        {"status": "active", "version": ticket.version, "csrfmiddlewaretoken": str(token)},
    )

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.ACTIVE
