"""Status, assignment and priority changes posted from the ticket page."""

import pytest

from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_set_priority

from .page_helpers import client_for, db_state, flash_messages, status_data


def status_url(ticket: Ticket) -> str:
    return f"/tickets/{ticket.pk}/status/"


def assign_url(ticket: Ticket) -> str:
    return f"/tickets/{ticket.pk}/assign/"


def priority_url(ticket: Ticket) -> str:
    return f"/tickets/{ticket.pk}/priority/"


class TestStatus:
    def test_reporter_closes_and_reopens_their_own_ticket(self, login, customer, ticket):
        client = login(customer)

        response = client.post(status_url(ticket), status_data(ticket, "closed"))

        assert response.status_code == 302
        assert response["Location"] == f"/tickets/{ticket.pk}/"
        assert flash_messages(response) == ["The ticket is closed."]
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.CLOSED
        assert ticket.closed_at is not None
        assert ticket.modified_by == customer

        response = client.post(status_url(ticket), status_data(ticket, "open"))

        assert response.status_code == 302
        assert flash_messages(response)[-1] == "The ticket is open again."
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.OPEN
        assert ticket.closed_at is None
        events = TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.STATUS)
        assert list(events.values_list("actor__username", "from_value", "to_value")) == [
            ("customer", "open", "closed"),
            ("customer", "closed", "open"),
        ]

    def test_customer_forging_active_is_403_and_changes_nothing(self, login, customer, ticket):
        before = db_state()

        response = login(customer).post(status_url(ticket), status_data(ticket, "active"))

        assert response.status_code == 403
        assert "You may not change the status of this ticket." in response.content.decode()
        assert db_state() == before

    def test_agent_marks_active_then_closed(self, login, agent, ticket):
        client = login(agent)

        assert client.post(status_url(ticket), status_data(ticket, "active")).status_code == 302
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.ACTIVE

        response = client.post(status_url(ticket), status_data(ticket, "closed"))

        assert response.status_code == 302
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.CLOSED
        assert ticket.closed_at is not None
        assert list(ticket.events.values_list("actor__username", "to_value")) == [
            ("agent", "active"),
            ("agent", "closed"),
        ]

    def test_a_change_from_a_stale_page_is_409_and_changes_nothing(
        self, login, agent, other_agent, ticket
    ):
        stale_version = ticket.version
        ticket_set_priority(ticket=ticket, priority=Ticket.Priority.HIGH, by=other_agent)
        before = db_state()

        response = login(agent).post(
            status_url(ticket), {"status": "closed", "version": stale_version}
        )

        assert response.status_code == 409
        content = response.content.decode()
        assert "This ticket was changed by other_agent after you opened it." in content
        assert db_state() == before
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.OPEN
        # The page shown with the refusal is the fresh one: the triage panel shows the new
        # priority.
        assert response.context["ticket"].version == ticket.version
        assert '<input type="hidden" name="shown_priority" value="high"' in content

    @pytest.mark.parametrize(
        "data",
        [
            {"status": "bogus", "version": 1},
            {"status": "", "version": 1},
            {"status": "closed"},
            {"status": "closed", "version": "abc"},
            {"status": "closed", "version": 0},
            {"status": "closed", "version": 2**31},
        ],
        ids=["unknown", "empty", "no-version", "text-version", "zero-version", "huge-version"],
    )
    def test_a_bad_status_form_is_400_and_changes_nothing(self, data, login, agent, ticket):
        before = db_state()

        response = login(agent).post(status_url(ticket), data)

        assert response.status_code == 400
        assert "Nothing was changed" in response.content.decode()
        assert db_state() == before

    def test_a_move_the_workflow_does_not_allow_is_400(self, login, agent, customer, ticket):
        ticket.update_status(Ticket.Status.CLOSED, by=customer)
        before = db_state()

        response = login(agent).post(status_url(ticket), status_data(ticket, "active"))

        assert response.status_code == 400
        assert "cannot go from closed to active" in response.content.decode()
        assert db_state() == before

    def test_a_double_submitted_close_says_already_closed(self, login, customer, ticket):
        data = status_data(ticket, "closed")
        client = login(customer)
        client.post(status_url(ticket), data)
        after_first = db_state()

        response = client.post(status_url(ticket), data, follow=True)

        assert response.status_code == 200
        assert "The ticket is already closed." in response.content.decode()
        assert db_state() == after_first
        assert TicketEvent.objects.filter(ticket=ticket).count() == 1


class TestAssign:
    def test_agent_assigns_another_agent(self, login, agent, other_agent, ticket):
        response = login(agent).post(
            assign_url(ticket), {"assignee": other_agent.pk, "version": ticket.version}
        )

        assert response.status_code == 302
        assert flash_messages(response) == ["Assigned to other_agent."]
        ticket.refresh_from_db()
        assert ticket.assignee == other_agent
        assert ticket.status == Ticket.Status.ACTIVE
        assert list(ticket.events.values_list("kind", "actor__username", "to_value")) == [
            ("assignment", "agent", "other_agent"),
            ("status", "agent", "active"),
        ]
        content = login(agent).get(f"/tickets/{ticket.pk}/").content.decode()
        assert "agent assigned the ticket to other_agent" in content

    def test_agent_unassigns(self, login, agent, other_agent, ticket):
        client = login(agent)
        client.post(assign_url(ticket), {"assignee": other_agent.pk, "version": ticket.version})
        ticket.refresh_from_db()

        response = client.post(assign_url(ticket), {"assignee": "", "version": ticket.version})

        assert response.status_code == 302
        assert flash_messages(response)[-1] == "The ticket is unassigned."
        ticket.refresh_from_db()
        assert ticket.assignee is None
        assert (
            "agent unassigned other_agent" in client.get(f"/tickets/{ticket.pk}/").content.decode()
        )

    @pytest.mark.parametrize("assignee", ["agent", "customer", "garbage", ""])
    def test_customer_cannot_assign_their_own_ticket(
        self, assignee, login, customer, request, ticket
    ):
        """Refused whatever the assignee, so a customer cannot probe which ids are staff."""
        value = (
            request.getfixturevalue(assignee).pk if assignee in {"agent", "customer"} else assignee
        )
        before = db_state()

        response = login(customer).post(
            assign_url(ticket), {"assignee": value, "version": ticket.version}
        )

        assert response.status_code == 403
        assert "Only staff may assign tickets." in response.content.decode()
        assert db_state() == before

    @pytest.mark.parametrize("who", ["customer", "inactive_agent", "missing"])
    def test_assigning_to_someone_not_an_active_agent_is_400(
        self, who, login, agent, customer, make_user, ticket
    ):
        if who == "customer":
            assignee_id = customer.pk
        elif who == "inactive_agent":
            retired = make_user("retired", staff=True)
            retired.is_active = False
            retired.save()
            assignee_id = retired.pk
        else:
            assignee_id = 999_999
        before = db_state()

        response = login(agent).post(
            assign_url(ticket), {"assignee": assignee_id, "version": ticket.version}
        )

        assert response.status_code == 400
        assert "Select a valid choice" in response.content.decode()
        assert db_state() == before

    def test_a_stale_assignment_is_409(self, login, agent, other_agent, ticket):
        stale_version = ticket.version
        ticket_set_priority(ticket=ticket, priority=Ticket.Priority.LOW, by=other_agent)
        before = db_state()

        response = login(agent).post(
            assign_url(ticket), {"assignee": agent.pk, "version": stale_version}
        )

        assert response.status_code == 409
        assert "changed by other_agent" in response.content.decode()
        assert db_state() == before


class TestPriority:
    def test_agent_sets_the_priority(self, login, agent, ticket):
        response = login(agent).post(
            priority_url(ticket), {"priority": "urgent", "version": ticket.version}
        )

        assert response.status_code == 302
        assert flash_messages(response) == ["Priority is urgent."]
        ticket.refresh_from_db()
        assert ticket.priority == Ticket.Priority.URGENT
        assert list(ticket.events.values_list("kind", "from_value", "to_value")) == [
            ("priority", "normal", "urgent"),
        ]

    @pytest.mark.parametrize("priority", ["urgent", "bogus"])
    def test_customer_cannot_set_the_priority(self, priority, login, customer, ticket):
        before = db_state()

        response = login(customer).post(
            priority_url(ticket), {"priority": priority, "version": ticket.version}
        )

        assert response.status_code == 403
        assert "Only staff may change the priority." in response.content.decode()
        assert db_state() == before

    def test_unknown_priority_is_400(self, login, agent, ticket):
        before = db_state()

        response = login(agent).post(
            priority_url(ticket), {"priority": "bogus", "version": ticket.version}
        )

        assert response.status_code == 400
        assert db_state() == before

    def test_setting_the_same_priority_writes_no_event(self, login, agent, ticket):
        before = db_state()

        response = login(agent).post(
            priority_url(ticket), {"priority": ticket.priority, "version": ticket.version}
        )

        assert response.status_code == 302
        assert db_state() == before


def test_admin_can_triage_like_an_agent(admin_user, ticket):
    """An admin is a superuser outside the Agents group; the pages treat them as staff."""
    client = client_for(admin_user)

    client.post(priority_url(ticket), {"priority": "high", "version": ticket.version})
    ticket.refresh_from_db()
    client.post(status_url(ticket), status_data(ticket, "active"))

    ticket.refresh_from_db()
    assert (ticket.priority, ticket.status) == ("high", "active")
