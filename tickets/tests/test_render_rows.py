"""render_rows: the lists' rows, the conversation's messages and the timeline's events are
rendered once and then kept by what they show, and a row that changes is never shown stale."""

from collections import Counter

import pytest
from django.test.signals import template_rendered
from django.urls import set_script_prefix
from django.utils import timezone

from tickets.models import Ticket
from tickets.services import ticket_set_priority
from tickets.templatetags.ticket_display import render_rows

from .page_helpers import client_for

ROW = "tickets/_list_row.html"
MESSAGE = "tickets/_message.html"
EVENT = "tickets/_event.html"


@pytest.fixture
def rendered():
    """How many times each template was rendered while the test ran."""
    counts: Counter = Counter()

    def count(sender, template, context, **kwargs):
        counts[template.name] += 1

    template_rendered.connect(count)
    yield counts
    template_rendered.disconnect(count)


def test_a_list_renders_its_rows_once_then_only_the_row_that_changed(
    agent, customer, make_ticket, rendered
):
    tickets = [make_ticket(customer, title=f"Printer {number}") for number in range(3)]
    client = client_for(agent)

    first = client.get("/tickets/").content.decode()
    assert rendered[ROW] == 3
    second = client.get("/tickets/").content.decode()
    assert rendered[ROW] == 3  # all three from the cache
    assert all(f"Printer {number}</a>" in second for number in range(3))
    assert "Printer 1</a>" in first

    ticket_set_priority(ticket=tickets[1], priority=Ticket.Priority.URGENT, by=agent)
    third = client.get("/tickets/").content.decode()
    assert rendered[ROW] == 4  # the changed row alone
    urgent = '<span class="badge text-bg-danger">Urgent</span>'
    assert urgent in third and urgent not in second


def test_a_row_is_kept_apart_for_each_language_time_zone_and_audience(
    agent, customer, make_ticket, rendered
):
    make_ticket(customer, title="Printer")
    client_for(agent).get("/tickets/")
    client_for(customer).get("/tickets/")
    assert rendered[ROW] == 2  # staff and the customer see different rows

    customer.language = "de"
    customer.save(update_fields=["language"])
    german = client_for(customer).get("/tickets/").content.decode()
    assert rendered[ROW] == 3
    assert "Wartet auf den Support" in german

    customer.time_zone = "Asia/Tokyo"
    customer.save(update_fields=["time_zone"])
    client_for(customer).get("/tickets/")
    assert rendered[ROW] == 4


def test_a_conversation_renders_only_its_new_message_and_the_new_event(
    agent, customer, ticket, make_message, rendered
):
    for number in range(3):
        make_message(ticket, customer, f"Still broken ({number})")
    client = client_for(agent)
    client.get(f"/tickets/{ticket.pk}/")
    messages, events = rendered[MESSAGE], rendered[EVENT]
    assert messages == 3

    client.get(f"/tickets/{ticket.pk}/")
    assert (rendered[MESSAGE], rendered[EVENT]) == (messages, events)

    make_message(ticket, agent, "Try turning it off and on.")
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert rendered[MESSAGE] == messages + 1
    assert "Try turning it off and on." in page


def test_a_row_that_holds_anything_but_plain_data_is_refused(ticket):
    with pytest.raises(TypeError, match="a row holds Ticket, not plain data"):
        render_rows(ROW, [{"pk": 1, "ticket": ticket}])


def test_a_row_is_kept_apart_for_each_address_the_site_is_mounted_at(ticket):
    row = {
        "pk": 7,
        "sender_id": ticket.reporter_id,
        "sender_name": "alice",
        "from_staff": False,
        "is_internal": False,
        "created_at": timezone.now(),
        "content": "It came by mail.",
        "by_mail": True,  # a link to the whole mail: {% url %}
    }
    set_script_prefix("/help/")
    try:
        mounted = render_rows(MESSAGE, [row], item="message", ticket_pk=ticket.pk)[0]
    finally:
        set_script_prefix("/")
    at_the_root = render_rows(MESSAGE, [row], item="message", ticket_pk=ticket.pk)[0]

    assert f'href="/help/tickets/{ticket.pk}/' in mounted
    assert f'href="/tickets/{ticket.pk}/' in at_the_root
