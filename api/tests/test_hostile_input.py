"""Hostile text through the API, then on the pages: every payload of tests/test_hostile_input.py
goes in through the API (as a customer's token: the title, the description, a reply and the
name of a file sent with the ticket; as an agent's: an internal note and a reply), is read back
through the API exactly as sent, and is shown as text on the customer's ticket page, the
staff's ticket page and the staff's ticket list: escaped, never evaluated, and never live
markup (the pages hold the same elements as with harmless text, and no event handler or
javascript: link at all)."""

from __future__ import annotations

import uuid
from collections import Counter
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from django.utils.html import escape

from messaging.attachments import clean_name
from messaging.models import Attachment
from messaging.tests.file_helpers import png_bytes
from tests.test_hostile_input import (
    DESCRIPTION,
    MESSAGE,
    NOTE,
    PAYLOADS,
    REPLY,
    TITLE,
    _ids,
    assert_shown_safely,
)
from tickets.models import Ticket
from tickets.tests.page_helpers import client_for

pytestmark = pytest.mark.django_db

# tests/test_hostile_input.py's payloads, and what the API's first test of them sent besides.
API_PAYLOADS = [
    *PAYLOADS,
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE tickets_ticket; --",
    "\u202eevil\u202c",
    "{{ 7*7 }} {% debug %}",
]
HARMLESS = "harmless words"
TICKETS = "/api/v1/tickets/"
# Where a browser follows (or loads) what an attribute says.
URL_ATTRIBUTES = {"href", "src", "srcset", "action", "formaction", "xlink:href", "data", "poster"}


def multipart(fields: dict[str, str], file_name: str, data: bytes) -> tuple[bytes, str]:
    """A multipart body with `fields` and one file in `files`, its name sent exactly (RFC 2231
    `filename*`: the test client would cut it at a "/" and cannot quote a '"')."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename*=UTF-8''"
        f"{quote(file_name, safe='')}\r\nContent-Type: image/png\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def through_the_api(api, customer, agent, payload: str) -> dict:
    """The payload put in everywhere the API takes text, then read back through it."""
    as_customer, as_agent = api.as_(customer), type(api)().as_(agent)
    body, content_type = multipart(
        {"title": TITLE + payload, "description": DESCRIPTION + payload},
        f"{payload}.png",
        png_bytes(),
    )
    created = as_customer.post(TICKETS, body, content_type=content_type)
    assert created.status_code == 201, created.content
    ticket = f"{TICKETS}{created.json()['id']}/"
    sent = [
        (as_customer, {"content": MESSAGE + payload}),
        (as_agent, {"content": NOTE + payload, "is_internal": True}),
        (as_agent, {"content": REPLY + payload}),
    ]
    for client, message in sent:
        response = client.post(f"{ticket}messages/", message, format="json")
        assert response.status_code == 201, response.content
    read = {
        "the ticket": as_customer.get(ticket),
        "customer_messages": as_customer.get(f"{ticket}messages/"),
        "staff_messages": as_agent.get(f"{ticket}messages/"),
        "files": as_customer.get(f"{ticket}files/"),
    }
    for response in read.values():
        assert response.status_code == 200
        # JSON, which no browser renders as a page.
        assert response["Content-Type"] == "application/json"
        assert response["X-Content-Type-Options"] == "nosniff"
    return {
        "ticket": Ticket.objects.get(pk=created.json()["id"]),
        **{key: response.json() for key, response in read.items()},
    }


class Markup(HTMLParser):
    """The elements of a page as a browser would build them, and what in them could run."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: Counter[str] = Counter()
        self.runnable: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements[tag] += 1
        for name, value in attrs:
            if name.startswith("on"):
                self.runnable.append(f"<{tag} {name}=…>")
            link = name in URL_ATTRIBUTES
            if link and (value or "").strip().lower().startswith(("javascript:", "data:")):
                self.runnable.append(f"<{tag} {name}={value!r}>")

    def handle_comment(self, data):
        self.elements["<!-- -->"] += 1

    def unknown_decl(self, data):
        self.elements["<![ ]]>"] += 1


def markup(html: str) -> Markup:
    parser = Markup()
    parser.feed(html)
    parser.close()
    return parser


def pages(customer, agent, ticket: Ticket) -> dict[str, str]:
    """The customer's ticket page, the staff's ticket page and the staff's list."""
    shown = {
        "customer ticket page": client_for(customer).get(ticket.get_absolute_url()),
        "staff ticket page": client_for(agent).get(ticket.get_absolute_url()),
        "staff ticket list": client_for(agent).get("/tickets/"),
    }
    for where, response in shown.items():
        assert response.status_code == 200, where
    return {where: response.content.decode() for where, response in shown.items()}


_HARMLESS_PAGES: dict[str, Counter] = {}


@pytest.fixture
def harmless_pages(api, customer, agent) -> dict[str, Counter]:
    """The elements of the same pages with harmless text in place of the payload (made once:
    they depend on the templates only)."""
    if not _HARMLESS_PAGES:
        scene = through_the_api(api, customer, agent, HARMLESS)
        shown = pages(customer, agent, scene["ticket"])
        _HARMLESS_PAGES.update({where: markup(html).elements for where, html in shown.items()})
        scene["ticket"].delete()  # the staff list shows the payload's ticket alone
    return _HARMLESS_PAGES


@pytest.mark.parametrize("payload", API_PAYLOADS, ids=[_ids(p) for p in API_PAYLOADS])
def test_hostile_text_through_the_api_is_stored_exactly_and_is_text_on_the_pages(
    payload, api, customer, agent, harmless_pages
):
    scene = through_the_api(api, customer, agent, payload)
    ticket = scene["ticket"]

    # Stored exactly as sent, and read back exactly through the API.
    assert (ticket.title, ticket.description) == (TITLE + payload, DESCRIPTION + payload)
    read = scene["the ticket"]
    assert (read["title"], read["description"]) == (ticket.title, ticket.description)
    customer_sees = [row["content"] for row in scene["customer_messages"]["results"]]
    staff_see = [row["content"] for row in scene["staff_messages"]["results"]]
    assert customer_sees == [MESSAGE + payload, REPLY + payload]
    assert staff_see == [MESSAGE + payload, NOTE + payload, REPLY + payload]
    (file,) = scene["files"]["results"]
    stored = Attachment.objects.get(ticket=ticket)
    assert file["name"] == stored.name == clean_name(stored.name)
    if not set(payload) & set("/\\&") and payload.isprintable():
        assert stored.name == clean_name(f"{payload}.png")

    # On the pages: escaped text, after its prefix; never raw, evaluated or live.
    shown = pages(customer, agent, ticket)
    prefixes = {
        "customer ticket page": (TITLE, DESCRIPTION, MESSAGE, REPLY),
        "staff ticket page": (TITLE, DESCRIPTION, MESSAGE, NOTE, REPLY),
        "staff ticket list": (TITLE,),
    }
    for where, html in shown.items():
        assert_shown_safely(html, payload, *prefixes[where], where=where)
        found = markup(html)
        assert found.runnable == [], where
        assert found.elements == harmless_pages[where], f"the payload made markup on the {where}"
        if where.endswith("ticket page"):
            assert escape(stored.name) in html, where
    assert NOTE not in shown["customer ticket page"], "the customer sees the internal note"
