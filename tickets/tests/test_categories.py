"""Categories: chosen when a ticket is reported, changed by staff (service, admin, bulk action),
routed to a default assignee, filtered on in the lists and the admin, carried by backups."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from django.utils.html import escape

from tickets.models import Category, StaleTicketError, Ticket, TicketEvent
from tickets.selectors import ticket_timeline
from tickets.services import ticket_create, ticket_set_category, ticket_update

from .page_helpers import client_for

HOSTILE = '<img src=x onerror="alert(1)">Billing'


@pytest.fixture
def billing(db, other_agent) -> Category:
    return Category.objects.create(name="Billing", default_assignee=other_agent)


@pytest.fixture
def network(db) -> Category:
    return Category.objects.create(name="Network")


def events(ticket: Ticket) -> list[tuple]:
    return list(
        ticket.events.order_by("pk").values_list("kind", "actor_id", "from_value", "to_value")
    )


class TestReporting:
    def test_a_category_with_a_default_assignee_hands_the_ticket_to_them(
        self, customer, other_agent, billing
    ):
        ticket = ticket_create(
            reporter=customer, title="Charged twice", description=".", category=billing
        )

        ticket.refresh_from_db()
        assert (ticket.category, ticket.assignee, ticket.status) == (billing, other_agent, "active")
        # The system assigned it (no actor), which made it active, as any assignment does.
        assert events(ticket) == [
            ("assignment", None, "", "other_agent"),
            ("status", None, "open", "active"),
        ]
        assert ticket_timeline(ticket)[0]["actor_name"] is None

    def test_no_default_assignee_or_one_who_left_leaves_it_open(
        self, customer, other_agent, billing, network, deactivate
    ):
        plain = ticket_create(reporter=customer, title="VPN", description=".", category=network)
        deactivate(other_agent)
        billing.refresh_from_db()
        routed = ticket_create(reporter=customer, title="Bill", description=".", category=billing)

        for ticket in (plain, routed):
            ticket.refresh_from_db()
            assert (ticket.assignee, ticket.status, events(ticket)) == (None, "open", [])

    def test_a_retired_category_is_refused(self, customer, network):
        network.active = False
        network.save()

        with pytest.raises(ValidationError, match="no longer offered"):
            ticket_create(reporter=customer, title="VPN", description=".", category=network)
        assert not Ticket.objects.exists()

    def test_the_form_offers_the_active_categories_and_keeps_the_choice(
        self, customer, billing, network
    ):
        Category.objects.create(name="Old", active=False)
        client = client_for(customer)

        html = client.get("/tickets/new/").content.decode()
        select = re.search(r'<select name="category".*?</select>', html, re.S).group(0)
        assert re.findall(r'<option value="(\d*)"[^>]*>([^<]+)</option>', select) == [
            ("", "Not sure"),
            (str(billing.pk), "Billing"),
            (str(network.pk), "Network"),
        ]
        assert "Old" not in html

        response = client.post(
            "/tickets/new/",
            {
                "title": "VPN drops",
                "description": "Every 5 min.",
                "priority": "normal",
                "category": network.pk,
            },
        )
        assert response.status_code == 302
        assert Ticket.objects.get().category == network

    def test_the_form_refuses_a_retired_or_unknown_category_and_keeps_the_rest(
        self, customer, network
    ):
        retired = Category.objects.create(name="Old", active=False)
        client = client_for(customer)

        for value in (retired.pk, 10**6, "x"):
            response = client.post(
                "/tickets/new/",
                {
                    "title": "Kept title",
                    "description": "Kept.",
                    "priority": "normal",
                    "category": value,
                },
            )
            assert response.status_code == 400
            html = response.content.decode()
            assert "Select a valid choice" in html
            assert 'value="Kept title"' in html
        assert not Ticket.objects.exists()

    def test_with_no_categories_the_form_has_no_such_field(self, customer):
        html = client_for(customer).get("/tickets/new/").content.decode()

        assert 'name="category"' not in html


class TestChanging:
    def test_staff_put_a_ticket_in_a_category_change_it_and_take_it_off(
        self, ticket, agent, billing, network
    ):
        ticket_set_category(ticket=ticket, category=network, by=agent)
        ticket_set_category(
            ticket=ticket, category=billing, by=agent, expected_version=ticket.version
        )
        assert ticket_set_category(ticket=ticket, category=billing, by=agent) is None
        ticket_set_category(ticket=ticket, category=None, by=agent)

        ticket.refresh_from_db()
        assert ticket.category is None
        assert [row["description"] for row in ticket_timeline(ticket)] == [
            "set the category to Network",
            "changed the category from Network to Billing",
            "removed the category Billing",
        ]
        # Putting it in a category with a default assignee later does not reassign it.
        assert ticket.assignee is None

    def test_only_staff_and_only_from_a_fresh_page(self, ticket, customer, agent, network):
        with pytest.raises(PermissionDenied):
            ticket_set_category(ticket=ticket, category=network, by=customer)
        with pytest.raises(StaleTicketError):
            ticket_set_category(ticket=ticket, category=network, by=agent, expected_version=99)
        network.active = False
        network.save()
        with pytest.raises(ValidationError, match="no longer offered"):
            ticket_set_category(ticket=ticket, category=network, by=agent)
        assert not TicketEvent.objects.filter(kind="category").exists()

    def test_a_retired_category_stays_on_its_tickets(self, ticket, agent, network):
        ticket_set_category(ticket=ticket, category=network, by=agent)
        network.active = False
        network.save()

        # The ticket keeps it; "changing" it to the same is no change, not a refusal.
        assert ticket_update(
            ticket=ticket, by=agent, expected_version=ticket.version, category=network,
            change_category=True, priority="high",
        )[0].kind == "priority"  # fmt: skip
        ticket.refresh_from_db()
        assert ticket.category == network

    def test_names_are_unique_whatever_their_case(self, billing):
        with pytest.raises(ValidationError, match="already a category with this name"):
            Category(name="  billing ").full_clean()

    def test_the_refusal_of_a_taken_name_is_in_the_readers_language(self, billing):
        with translation.override("de"), pytest.raises(ValidationError) as refused:
            Category(name="Billing").full_clean()
        assert "Es gibt bereits eine Kategorie mit diesem Namen." in str(refused.value)


class TestLists:
    def test_staff_filter_by_category_and_see_it_beside_the_title(
        self, make_ticket, customer, agent, network, billing
    ):
        in_network = make_ticket(customer, title="VPN", category=network)
        make_ticket(customer, title="Invoice", category=billing)
        make_ticket(customer, title="Other")

        html = client_for(agent).get(f"/tickets/?category={network.pk}").content.decode()

        assert re.findall(r'href="(\d+)/"', html) == [str(in_network.pk)]
        assert f'<option value="{network.pk}" selected>Network</option>' in html
        assert '<span class="badge text-bg-light border ms-1">Network</span>' in html

    def test_an_unknown_category_is_a_bad_filter(self, agent, network):
        response = client_for(agent).get("/tickets/?category=999999")

        assert response.status_code == 400
        assert "That filter is not valid" in response.content.decode()

    def test_customers_have_no_category_filter(self, customer, network, make_ticket):
        make_ticket(customer, category=network)

        html = client_for(customer).get(f"/tickets/?category={network.pk}").content.decode()

        assert 'name="category"' not in html
        assert len(re.findall(r'href="(\d+)/"', html)) == 1  # the filter is ignored

    def test_a_hostile_name_is_shown_as_text(self, make_ticket, customer, agent):
        hostile = Category.objects.create(name=HOSTILE)
        ticket = make_ticket(customer, category=hostile)

        for path in ("/tickets/", f"/tickets/{ticket.pk}/", "/tickets/new/"):
            html = client_for(agent).get(path).content.decode()
            assert HOSTILE not in html
            assert escape(HOSTILE) in html


class TestAdmin:
    def test_the_change_page_sets_the_category_through_the_service(
        self, login, agent, ticket, network
    ):
        page = login(agent).get(f"/admin/tickets/ticket/{ticket.pk}/change/")
        form = page.context["adminform"].form
        data = {
            "new_status": ticket.status,
            "priority": ticket.priority,
            "assignee": "",
            "category": network.pk,
            "seen_version": ticket.version,
            "submission": form["submission"].initial,
            "reply": "",
            "internal_note": "",
        }

        response = login(agent).post(f"/admin/tickets/ticket/{ticket.pk}/change/", data)

        assert response.status_code == 302
        ticket.refresh_from_db()
        assert ticket.category == network
        assert events(ticket) == [("category", agent.pk, "", "Network")]

    def test_a_retired_category_is_refused_on_the_change_page(self, login, agent, ticket, network):
        network.active = False
        network.save()
        data = {
            "new_status": ticket.status,
            "priority": ticket.priority,
            "category": network.pk,
            "seen_version": ticket.version,
            "submission": "7f0c1d1e-0000-4000-8000-000000000000",
        }

        response = login(agent).post(f"/admin/tickets/ticket/{ticket.pk}/change/", data)

        assert response.status_code == 200
        assert "The category Network is no longer offered." in response.content.decode()
        ticket.refresh_from_db()
        assert ticket.category is None

    def test_the_bulk_action_sets_the_category_on_each_ticket(
        self, login, agent, make_ticket, customer, network
    ):
        tickets = [make_ticket(customer) for _ in range(3)]
        data = {
            "action": "set_category",
            "_selected_action": [t.pk for t in tickets],
            "category": network.pk,
            "apply": "1",
        }

        response = login(agent).post("/admin/tickets/ticket/", data, follow=True)

        assert "Put in Network: 3 tickets." in response.content.decode()
        assert Ticket.objects.filter(category=network).count() == 3
        assert TicketEvent.objects.filter(kind="category", actor=agent).count() == 3

    def test_the_ticket_list_filters_by_category(
        self, login, agent, make_ticket, customer, network
    ):
        in_network = make_ticket(customer, category=network)
        make_ticket(customer)

        response = login(agent).get(f"/admin/tickets/ticket/?category__id__exact={network.pk}")

        assert [t.pk for t in response.context["cl"].result_list] == [in_network.pk]

    def test_superusers_manage_categories_with_their_open_tickets(
        self, login, admin_user, make_ticket, customer, network
    ):
        make_ticket(customer, category=network)
        closed = make_ticket(customer, category=network)
        closed.update_status("closed", by=customer)

        response = login(admin_user).get("/admin/tickets/category/")

        assert response.status_code == 200
        assert [(c.name, c.open_count) for c in response.context["cl"].result_list] == [
            ("Network", 1)
        ]
