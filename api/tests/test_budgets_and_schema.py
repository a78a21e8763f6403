"""Fixed query counts as data grows; the OpenAPI document validates (hostile input: in
test_hostile_input.py)."""

import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets.services import ticket_assign

pytestmark = pytest.mark.django_db


def queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("viewer", ["customer", "agent"])
def test_the_list_costs_the_same_whatever_its_length(
    api, request, viewer, customer, agent, make_ticket, django_assert_max_num_queries
):
    client = api.as_(request.getfixturevalue(viewer))
    client.get("/api/v1/users/me/")  # the token's first use is recorded once
    for _ in range(2):
        make_ticket(customer)
    few = queries(client, "/api/v1/tickets/")
    for _ in range(20):
        ticket = make_ticket(customer)
    ticket_assign(ticket=ticket, assignee=agent, by=agent)
    many = queries(client, "/api/v1/tickets/")
    assert many == few
    with django_assert_max_num_queries(2):  # token and user, the page
        client.get("/api/v1/tickets/?page_size=100")


def test_the_conversation_costs_the_same_whatever_its_length(
    api, agent, customer, ticket, make_message, django_assert_max_num_queries
):
    client = api.as_(agent)
    client.get("/api/v1/users/me/")  # the token's first use is recorded once
    make_message(ticket, customer, "one")
    few = queries(client, f"/api/v1/tickets/{ticket.pk}/messages/")
    for number in range(50):
        make_message(ticket, agent if number % 2 else customer, f"m{number}")
    many = queries(client, f"/api/v1/tickets/{ticket.pk}/messages/?page_size=100")
    assert many == few
    with django_assert_max_num_queries(3):  # token and user, ticket, messages
        client.get(f"/api/v1/tickets/{ticket.pk}/messages/")


def test_the_ticket_costs_a_fixed_number(api, agent, ticket, django_assert_max_num_queries):
    client = api.as_(agent)
    client.get("/api/v1/users/me/")  # the token's first use is recorded once
    with django_assert_max_num_queries(2):  # token and user, ticket
        client.get(f"/api/v1/tickets/{ticket.pk}/")


def test_the_schema_validates_as_openapi_3_1(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert text.startswith("openapi: 3.1.0")
    for path in ("/api/v1/tickets/", "/api/v1/tickets/{id}/messages/", "/api/v1/users/me/"):
        assert f"  {path}:" in text
    # Descriptions are written for the reader, never the code's own docstrings.
    assert "mix-in" not in text and "throttles are checked" not in text


def test_the_schema_and_its_pages_are_served(client):
    schema = client.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"] == "3.1.0"
    assert "tokenAuth" in document["components"]["securitySchemes"]
    patch = document["paths"]["/api/v1/tickets/{id}/"]["patch"]
    assert {"400", "401", "403", "404", "409", "429"} <= set(patch["responses"])
    for page in ("/api/v1/docs/", "/api/v1/redoc/"):
        html = client.get(page).content.decode()
        assert "googleapis" not in html and "cdn.jsdelivr" not in html
        assert re.search(r"/static/drf_spectacular_sidecar/[\w./-]+\.js", html)
