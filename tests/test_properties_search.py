"""Property tests of the search (tickets/search.py), hypothesis, on the list page itself.

Any query string, from anyone: never a server error (the test client raises it), and never a
hit outside the list's visibility query: a customer's search shows only their own tickets and
never a word that only an internal note (or another customer's ticket) holds.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client
from hypothesis import example, given
from hypothesis import strategies as st

from tests.property_helpers import PROPERTY, texts
from tickets.models import Ticket
from tickets.search import search_tickets

BACKEND = "accounts.backends.UsernameOrEmailBackend"
# Words of the fixture's tickets, so that many examples find something.
WORDS = ["printer", "offline", "floor", "2", "vpn", "invoice", "secretword", "notesecret", "café"]
SYNTAX = ['"', "-", "or", "OR", "(", ")", "*", ":", "^", "+", "#", "NOT", "AND", "NEAR", "'", "\\"]
QUERIES = st.one_of(
    texts(1000),
    st.lists(
        st.one_of(st.sampled_from(WORDS), st.sampled_from(SYNTAX), st.text(max_size=6)),
        max_size=8,
    ).flatmap(lambda parts: st.sampled_from([" ", "", '"', " -"]).map(lambda sep: sep.join(parts))),
)


@pytest.fixture
def corpus(make_ticket, make_message, customer, other_customer, agent):
    mine = make_ticket(customer, title="Printer offline", description="On floor 2, café.")
    theirs = make_ticket(
        other_customer, title="Invoice wrong", description="It says secretword in red."
    )
    make_message(mine, agent, "Reset the VPN and the printer.")
    make_message(mine, agent, "notesecret: the account is locked.", is_internal=True)
    return {"mine": mine.pk, "theirs": theirs.pk}


@pytest.fixture
def clients(customer, agent) -> dict[str, Client]:
    made = {}
    for name, user in (("customer", customer), ("agent", agent)):
        client = Client()
        client.force_login(user, backend=BACKEND)
        made[name] = client
    return made


@PROPERTY
@given(query=QUERIES, role=st.sampled_from(["customer", "agent"]))
@example(query="secretword", role="customer")
@example(query="notesecret", role="customer")
@example(query=f'"{"x" * 999}', role="customer")
def test_any_query_is_answered_within_the_visibility(clients, corpus, customer, query, role):
    params = {"q": query, "status": "all"}
    response = clients[role].get("/tickets/", params)
    if "\x00" in query or len(urlencode(params)) > settings.MAX_QUERY_STRING_LENGTH:
        # Refused before any view, saying why (helpdesk_site.middleware.RequestInputMiddleware):
        # 1,000 characters fit, unless most are emoji (12 bytes each in a URL).
        assert response.status_code == 400
        return
    if response.status_code == 302:  # "#123": a jump, only to a ticket the person may see
        target = int(response["Location"].strip("/").rsplit("/", 1)[1])
        assert role == "agent" or target == corpus["mine"]
        return
    assert response.status_code == 200
    shown = {row["pk"] for row in response.context["tickets"]}
    if role == "customer":
        assert shown <= {corpus["mine"]}
        # The query is shown back (the box, "no tickets match"); the hidden texts never are.
        html = response.content.decode()
        assert "in red" not in html
        assert "is locked" not in html


@PROPERTY
@given(query=QUERIES)
def test_a_customers_hits_are_a_part_of_the_agents(corpus, customer, agent, query):
    mine = set(search_tickets(customer, query, {"status": "all"}).hits)
    everyone = set(search_tickets(agent, query, {"status": "all"}).hits)
    assert mine <= everyone
    assert mine <= set(Ticket.objects.filter(reporter=customer).values_list("pk", flat=True))
