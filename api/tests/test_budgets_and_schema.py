"""Fixed query counts as data grows; the OpenAPI document validates (hostile input: in
test_hostile_input.py)."""

import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets.models import Ticket
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


# The operations that read a body, and a path to send one to (the ids are filled in).
BODY_OPERATIONS = {
    ("post", "/api/v1/tickets/"): "/api/v1/tickets/",
    ("patch", "/api/v1/tickets/{id}/"): "/api/v1/tickets/{ticket}/",
    ("post", "/api/v1/tickets/{id}/messages/"): "/api/v1/tickets/{ticket}/messages/",
    (
        "post",
        "/api/v1/tickets/{id}/messages/{message_id}/files/",
    ): "/api/v1/tickets/{ticket}/messages/{message}/files/",
}
# Where each code can be answered, besides the 401, 403 and 429 of every operation: 404 where
# the path names something (a ticket, a message, a file, a canned reply), 409 where a change
# can meet a newer one, 413 and 415 wherever a body is read.
WITH_AN_ID = {
    ("get", "/api/v1/tickets/{id}/"),
    ("patch", "/api/v1/tickets/{id}/"),
    ("get", "/api/v1/tickets/{id}/messages/"),
    ("post", "/api/v1/tickets/{id}/messages/"),
    ("post", "/api/v1/tickets/{id}/messages/{message_id}/files/"),
    ("get", "/api/v1/tickets/{id}/files/"),
    ("get", "/api/v1/tickets/{id}/files/{file_id}/"),
    ("get", "/api/v1/canned-replies/{reply_id}/"),
}
CONFLICTS = {
    ("patch", "/api/v1/tickets/{id}/"): "TicketConflict",
    ("post", "/api/v1/tickets/{id}/messages/"): "HeldReply",
}


def operations(document: dict) -> dict:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def component(response: dict) -> str:
    return response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]


def test_the_schema_and_its_pages_are_served(client):
    schema = client.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"] == "3.1.0"
    assert "tokenAuth" in document["components"]["securitySchemes"]
    patch = document["paths"]["/api/v1/tickets/{id}/"]["patch"]
    assert {"400", "401", "403", "404", "409", "413", "415", "429"} <= set(patch["responses"])
    for page in ("/api/v1/docs/", "/api/v1/redoc/"):
        html = client.get(page).content.decode()
        assert "googleapis" not in html and "cdn.jsdelivr" not in html
        assert re.search(r"/static/drf_spectacular_sidecar/[\w./-]+\.js", html)


def test_the_schema_documents_each_error_where_it_can_occur(client):
    document = client.get("/api/v1/schema/?format=json").json()
    found = operations(document)
    assert {key for key, operation in found.items() if "requestBody" in operation} == set(
        BODY_OPERATIONS
    )
    assert set(found) >= WITH_AN_ID | set(CONFLICTS)
    for key, operation in found.items():
        responses = operation["responses"]
        codes = set(responses)
        assert {"401", "403", "429"} <= codes, key
        assert ("404" in codes) == (key in WITH_AN_ID), key
        assert ("409" in codes) == (key in CONFLICTS), key
        assert {"413", "415"} <= codes if key in BODY_OPERATIONS else not {"413", "415"} & codes
        for code in codes - {"200", "201"}:
            assert responses[code]["description"], (key, code)
            if code != "409":
                assert component(responses[code]) == "Error", (key, code)
        if key in CONFLICTS:
            assert component(responses["409"]) == CONFLICTS[key]
        retry_after = responses["429"]["headers"]["Retry-After"]
        assert retry_after["required"] and retry_after["schema"] == {"type": "integer"}, key
    # A download is served in the type read from its bytes, each one documented.
    download = found[("get", "/api/v1/tickets/{id}/files/{file_id}/")]["responses"]["200"]
    assert {"image/png", "application/pdf", "text/plain", "text/*"} <= set(download["content"])
    conflict = document["components"]["schemas"]["TicketConflict"]
    assert {"type", "detail", "errors", "current"} <= set(conflict["required"])
    assert conflict["properties"]["current"]["allOf"] == [{"$ref": "#/components/schemas/Ticket"}]


@pytest.mark.parametrize("operation", list(BODY_OPERATIONS))
def test_every_operation_that_reads_a_body_answers_413_and_415(
    api, settings, customer, ticket, make_message, operation
):
    """What the schema says of each: a body of a type the API does not read is a 415, one
    over DATA_UPLOAD_MAX_MEMORY_SIZE a 413, both in the error shape."""
    message = make_message(ticket, customer, "mine")
    ticket.refresh_from_db()
    before = (ticket.version, Ticket.objects.count(), ticket.messages.count())
    method, _ = operation
    path = BODY_OPERATIONS[operation].format(ticket=ticket.pk, message=message.pk)
    client = api.as_(customer)
    send = getattr(client, method)
    refused = send(path, b"<ticket/>", content_type="application/xml")
    assert refused.status_code == 415, refused.content
    assert refused.json()["type"] == "unsupported_media_type"
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    too_large = send(path, {"version": 1, "content": "x" * 2000}, format="json")
    assert too_large.status_code == 413, too_large.content
    assert too_large.json()["type"] == "too_large"
    ticket.refresh_from_db()
    assert (ticket.version, Ticket.objects.count(), ticket.messages.count()) == before
