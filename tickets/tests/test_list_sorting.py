"""The lists sort by status, priority, created and last activity, from the column headers."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from tickets.models import Ticket

from .page_helpers import client_for


def ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r"<td>(\d+)</td>", html)]


def header(html: str, name: str) -> tuple[str, str]:
    """A sortable column header's aria-sort and link."""
    state, link = re.search(
        rf'<th scope="col"[^>]* aria-sort="(\w+)"><a class="sort-link" href="\?([^"]*)">{name}</a>',
        html,
    ).groups()
    return state, unescape(link)


@pytest.fixture
def four(make_ticket, customer, agent) -> dict[str, Ticket]:
    """Four tickets whose orders differ by each column."""
    now = timezone.now()
    made = {}
    for name, created_days, activity_days, priority, status in [
        ("a", 4, 1, "low", "open"),
        ("b", 3, 4, "urgent", "active"),
        ("c", 2, 3, "normal", "closed"),
        ("d", 1, 2, "high", "open"),
    ]:
        ticket = make_ticket(customer, title=name, priority=priority)
        if status != "open":
            ticket.update_status(status, by=agent)
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=now - timedelta(days=created_days),
            last_activity_at=now - timedelta(days=activity_days),
        )
        made[name] = ticket
    return made


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("", "adcb"),
        ("-activity", "adcb"),
        ("activity", "bcda"),
        ("-created", "dcba"),
        ("created", "abcd"),
        ("priority", "bdca"),
        ("-priority", "acdb"),
        ("status", "adbc"),
        ("-status", "cbad"),
    ],
)
def test_each_order(four, agent, customer, sort, order):
    expected = [four[name].pk for name in order]
    for user in (agent, customer):
        html = client_for(user).get(f"/tickets/?status=all&sort={sort}").content.decode()
        assert ids(html) == expected, (user, sort)


def test_a_header_sorts_by_its_column_and_a_second_click_turns_it_around(four, agent):
    client = client_for(agent)
    html = client.get("/tickets/?status=all&priority=&page=1").content.decode()
    assert header(html, "Last activity") == ("descending", "status=all&priority=&sort=activity")
    state, link = header(html, "Priority")
    assert (state, link) == ("none", "status=all&priority=&sort=priority")
    assert "4 tickets, most recent activity first" in html

    html = client.get(f"/tickets/?{link}").content.decode()
    assert header(html, "Priority") == ("ascending", "status=all&priority=&sort=-priority")
    assert header(html, "Last activity")[0] == "none"
    assert "4 tickets, most urgent first" in html
    # The filter form keeps the order.
    assert '<input type="hidden" name="sort" value="priority" id="id_sort">' in html


def test_an_unknown_order_is_a_bad_filter(agent):
    response = client_for(agent).get("/tickets/?sort=title")

    assert response.status_code == 400
    assert "That filter is not valid" in response.content.decode()
