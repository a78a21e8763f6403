"""Account deletion on request: an admin anonymises a customer (the people list's action). Their
tickets and messages stay, signed as a former customer's; the audit trail records it."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from accounts.models import User
from accounts.services import api_token_create
from conftest import PASSWORD
from tickets.models import TicketEvent
from tickets.services import customer_anonymise

from .page_helpers import client_for, flash_messages

CHANGELIST = "/admin/accounts/user/"


def anonymise_through_the_admin(admin_user, *users):
    return client_for(admin_user).post(
        CHANGELIST,
        {
            "action": "anonymise",
            "_selected_action": [str(user.pk) for user in users],
            "index": "0",
        },
        follow=True,
    )


def test_the_admin_action_anonymises_and_keeps_the_messages(
    admin_user, customer, agent, ticket, make_message, make_ticket
):
    customer.first_name, customer.last_name = "Ada", "Lovelace"
    customer.save()
    make_message(ticket, customer, "My printer is on fire.")
    make_message(ticket, agent, "Unplug it.")
    second = make_ticket(customer)
    api_token_create(user=customer, name="script")

    response = anonymise_through_the_admin(admin_user, customer)

    assert response.status_code == 200
    assert "Anonymised 1 customer." in flash_messages(response)
    customer.refresh_from_db()
    assert customer.username == f"former-customer-{customer.pk}"
    assert customer.email == f"former-customer-{customer.pk}@anonymised.invalid"
    assert (customer.first_name, customer.last_name) == ("", "")
    assert not customer.is_active and not customer.notify_by_email
    assert not customer.has_usable_password()
    assert customer.anonymised_at is not None
    login = client_for().post("/accounts/login/", {"username": "customer", "password": PASSWORD})
    assert login.status_code == 400  # no such account any more
    assert not customer.api_tokens.filter(revoked_at__isnull=True).exists()
    # Their messages stay on the ticket, signed as a former customer's.
    assert ticket.messages.count() == 2
    html = client_for(agent).get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'aria-label="Message from Former customer"' in html
    assert "My printer is on fire." in html
    assert "Lovelace" not in html and "customer@example.com" not in html
    # The audit trail: one event per ticket, by the admin, without the old name.
    events = TicketEvent.objects.filter(kind=TicketEvent.Kind.ANONYMISED)
    assert sorted(events.values_list("ticket_id", flat=True)) == sorted([ticket.pk, second.pk])
    assert {event.actor_id for event in events} == {admin_user.pk}
    assert "customer" not in {event.from_value for event in events}
    assert f"admin anonymised the customer (former-customer-{customer.pk}) at their request" in html


def test_staff_are_refused_and_a_second_time_changes_nothing(admin_user, customer, agent, ticket):
    response = anonymise_through_the_admin(admin_user, customer, agent)

    assert "Anonymised 1 customer." in flash_messages(response)
    assert "agent is staff: take away their staff role first." in flash_messages(response)
    agent.refresh_from_db()
    assert agent.username == "agent" and agent.is_active

    assert customer_anonymise(user=User.objects.get(pk=customer.pk), by=admin_user) is False
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.ANONYMISED).count() == 1


def test_only_a_superuser_may(customer, agent):
    with pytest.raises(PermissionDenied):
        customer_anonymise(user=customer, by=agent)
    customer.refresh_from_db()
    assert customer.anonymised_at is None


def test_agents_are_not_offered_the_action(agent, customer):
    response = client_for(agent).get(CHANGELIST)

    assert 'value="anonymise"' not in response.content.decode()
