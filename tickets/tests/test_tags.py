"""Tags: free labels staff put on tickets, an event each, shown as chips, filterable."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.html import escape

from tickets.models import StaleTicketError, Tag, Ticket, TicketEvent
from tickets.selectors import ticket_timeline
from tickets.services import parse_tags, ticket_add_tag, ticket_set_tags

from .page_helpers import client_for

HOSTILE = '<script>alert("x")</script>'


def tag_events(ticket: Ticket) -> list[tuple[str, str]]:
    return list(
        TicketEvent.objects.filter(ticket=ticket, kind="tag")
        .order_by("pk")
        .values_list("from_value", "to_value")
    )


def ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r"<td>(\d+)</td>", html)]


class TestParsing:
    def test_names_are_trimmed_collapsed_and_unique_in_any_case(self):
        assert parse_tags(" vip ,,Printer   jam, VIP, printer jam ") == ["vip", "Printer jam"]
        assert parse_tags("") == [] == parse_tags(" , ")

    @pytest.mark.parametrize("text", ["x" * 41, "bad\x00name", "ok, right\u202eleft"])
    def test_a_name_that_cannot_be_a_tag_is_refused(self, text):
        with pytest.raises(ValidationError):
            parse_tags(text)


class TestService:
    def test_set_add_and_remove_each_leave_an_event(self, ticket, agent):
        ticket_set_tags(ticket=ticket, names=["vip", "Toner"], by=agent)
        ticket_add_tag(ticket=ticket, name="outage", by=agent)
        ticket_set_tags(ticket=ticket, names=["VIP", "outage"], by=agent)

        ticket.refresh_from_db()
        assert ticket.tag_names == ["outage", "vip"]
        assert sorted(ticket.tags.values_list("name", flat=True)) == ["outage", "vip"]
        assert tag_events(ticket) == [("", "vip"), ("", "Toner"), ("", "outage"), ("Toner", "")]
        assert [row["description"] for row in ticket_timeline(ticket)][-1] == (
            "removed the tag Toner"
        )
        # One tag of each name, whoever typed it in which case.
        assert Tag.objects.count() == 3

    def test_no_change_is_no_event_and_no_new_version(self, ticket, agent):
        ticket_set_tags(ticket=ticket, names=["vip"], by=agent)
        version = Ticket.objects.get(pk=ticket.pk).version

        assert ticket_set_tags(ticket=ticket, names=["VIP"], by=agent) == []
        assert ticket_add_tag(ticket=ticket, name="vip", by=agent) is None
        assert Ticket.objects.get(pk=ticket.pk).version == version

    def test_only_staff_and_only_from_a_fresh_page(self, ticket, customer, agent):
        with pytest.raises(PermissionDenied):
            ticket_set_tags(ticket=ticket, names=["mine"], by=customer)
        with pytest.raises(StaleTicketError):
            ticket_set_tags(ticket=ticket, names=["late"], by=agent, expected_version=99)
        assert not Tag.objects.exists()
        assert tag_events(ticket) == []


class TestPages:
    def test_staff_see_chips_that_filter_the_list(self, make_ticket, customer, agent):
        tagged = make_ticket(customer, title="Tagged")
        make_ticket(customer, title="Plain")
        ticket_set_tags(ticket=tagged, names=["vip", "Printer jam"], by=agent)
        client = client_for(agent)

        html = client.get("/tickets/").content.decode()
        assert '<a class="badge rounded-pill text-bg-secondary text-decoration-none ms-1" ' in html
        assert 'href="?tag=Printer%20jam">Printer jam</a>' in html

        assert ids(client.get("/tickets/?tag=PRINTER JAM").content.decode()) == [tagged.pk]
        assert ids(client.get("/tickets/?tag=nothing").content.decode()) == []
        detail = client.get(f"/tickets/{tagged.pk}/").content.decode()
        assert 'href="/tickets/?tag=vip">vip</a>' in detail

    def test_customers_see_no_tags_and_no_tag_filter(self, ticket, customer, agent):
        ticket_set_tags(ticket=ticket, names=["difficult customer"], by=agent)
        client = client_for(customer)

        for path in ("/tickets/?tag=x", f"/tickets/{ticket.pk}/"):
            html = client.get(path).content.decode()
            assert "difficult customer" not in html
            assert 'name="tag"' not in html

    def test_a_hostile_tag_is_shown_as_text(self, ticket, agent):
        ticket_set_tags(ticket=ticket, names=[HOSTILE], by=agent)

        for path in (
            "/tickets/",
            f"/tickets/{ticket.pk}/",
            f"/admin/tickets/ticket/{ticket.pk}/change/",
        ):
            html = client_for(agent).get(path).content.decode()
            assert HOSTILE not in html
            assert escape(HOSTILE) in html or escape(HOSTILE).replace("&quot;", "&#x27;") in html

    def test_a_too_long_tag_filter_is_refused(self, agent):
        assert client_for(agent).get("/tickets/?tag=" + "x" * 41).status_code == 400


class TestAdmin:
    def test_the_change_page_sets_the_tags(self, login, agent, ticket):
        ticket_set_tags(ticket=ticket, names=["old"], by=agent)
        ticket.refresh_from_db()
        page = login(agent).get(f"/admin/tickets/ticket/{ticket.pk}/change/")
        form = page.context["adminform"].form
        assert form["tag_text"].initial == "old"

        response = login(agent).post(
            f"/admin/tickets/ticket/{ticket.pk}/change/",
            {
                "new_status": ticket.status,
                "priority": ticket.priority,
                "tag_text": "new, vip",
                "seen_version": ticket.version,
                "submission": form["submission"].initial,
            },
        )

        assert response.status_code == 302
        ticket.refresh_from_db()
        assert ticket.tag_names == ["new", "vip"]
        assert tag_events(ticket) == [("", "old"), ("old", ""), ("", "new"), ("", "vip")]

    def test_a_bad_tag_is_an_error_next_to_the_field(self, login, agent, ticket):
        response = login(agent).post(
            f"/admin/tickets/ticket/{ticket.pk}/change/",
            {
                "new_status": ticket.status,
                "priority": ticket.priority,
                "tag_text": "x" * 41,
                "seen_version": ticket.version,
                "submission": "7f0c1d1e-0000-4000-8000-000000000000",
            },
        )

        assert response.status_code == 200
        assert "is longer than 40 characters" in response.content.decode()
        assert tag_events(ticket) == []

    def test_the_bulk_action_adds_a_tag_and_the_filter_finds_them(
        self, login, agent, make_ticket, customer
    ):
        tickets = [make_ticket(customer) for _ in range(2)]
        make_ticket(customer)
        data = {
            "action": "add_tag",
            "_selected_action": [t.pk for t in tickets],
            "tag": " outage ",
            "apply": "1",
        }

        response = login(agent).post("/admin/tickets/ticket/", data, follow=True)

        assert "Tagged outage: 2 tickets." in response.content.decode()
        listed = login(agent).get("/admin/tickets/ticket/?tag=OUTAGE")
        assert sorted(t.pk for t in listed.context["cl"].result_list) == [t.pk for t in tickets]

    def test_the_bulk_action_takes_one_tag(self, login, agent, ticket):
        data = {"action": "add_tag", "_selected_action": [ticket.pk], "tag": "a, b", "apply": "1"}

        response = login(agent).post("/admin/tickets/ticket/", data)

        assert response.status_code == 200
        assert "Give one tag (no commas)." in response.content.decode()
        assert not Tag.objects.exists()
