"""Bulk actions on the admin's ticket changelist: each ticket through the services, on its own."""

import pytest

from tickets.models import Ticket, TicketEvent

from .page_helpers import db_state, flash_messages

CHANGELIST = "/admin/tickets/ticket/"
# The whole list: an action applies to the selected tickets that the list shows, and it shows
# closed ones only when asked.
ALL_TICKETS = f"{CHANGELIST}?status__exact=all"


def action_data(action: str, *tickets: Ticket, **extra) -> dict:
    return {
        "action": action,
        "_selected_action": [str(ticket.pk) for ticket in tickets],
        "index": "0",
        **extra,
    }


def events_of(ticket: Ticket) -> list[tuple]:
    return list(
        TicketEvent.objects.filter(ticket=ticket)
        .order_by("pk")
        .values_list("kind", "from_value", "to_value", "actor__username")
    )


def ticket_row(ticket: Ticket) -> tuple:
    return next(row for row in db_state()["tickets"] if row[0] == ticket.pk)


@pytest.fixture
def open_ticket(make_ticket, customer) -> Ticket:
    return make_ticket(customer, title="Open one")


@pytest.fixture
def active_ticket(make_ticket, customer, other_agent) -> Ticket:
    ticket = make_ticket(customer, title="Active one")
    ticket.update_status(Ticket.Status.ACTIVE, by=other_agent)
    return ticket


@pytest.fixture
def closed_ticket(make_ticket, customer, other_agent) -> Ticket:
    ticket = make_ticket(customer, title="Closed one")
    ticket.update_status(Ticket.Status.CLOSED, by=other_agent)
    return ticket


class TestAssignToMe:
    def test_open_tickets_become_mine_and_active_with_both_events(
        self, login, agent, make_ticket, customer, open_ticket
    ):
        second = make_ticket(customer)

        response = login(agent).post(CHANGELIST, action_data("assign_to_me", open_ticket, second))

        assert response.status_code == 302
        assert response["Location"] == CHANGELIST
        assert flash_messages(response) == ["Assigned to you: 2 tickets."]
        for ticket in (open_ticket, second):
            ticket.refresh_from_db()
            assert ticket.assignee == agent
            assert ticket.status == Ticket.Status.ACTIVE
            assert ticket.modified_by == agent
            assert events_of(ticket) == [
                ("assignment", "", "agent", "agent"),
                ("status", "open", "active", "agent"),
            ]

    def test_a_ticket_already_mine_is_left_alone(self, login, agent, other_agent, open_ticket):
        client = login(agent)
        client.post(CHANGELIST, action_data("assign_to_me", open_ticket))
        open_ticket.refresh_from_db()
        version = open_ticket.version

        response = client.post(CHANGELIST, action_data("assign_to_me", open_ticket))

        # The first POST's message is still queued (no page was shown in between).
        assert flash_messages(response)[-1] == f"Already so, left alone: #{open_ticket.pk}."
        open_ticket.refresh_from_db()
        assert open_ticket.version == version
        assert len(events_of(open_ticket)) == 2

    def test_taking_over_an_active_ticket_changes_only_the_assignee(
        self, login, agent, other_agent, active_ticket
    ):
        response = login(agent).post(CHANGELIST, action_data("assign_to_me", active_ticket))

        assert flash_messages(response) == ["Assigned to you: 1 ticket."]
        active_ticket.refresh_from_db()
        assert active_ticket.assignee == agent
        assert events_of(active_ticket)[1:] == [("assignment", "", "agent", "agent")]


class TestAssignToAgent:
    def test_it_asks_which_agent_first_and_changes_nothing(
        self, login, agent, other_agent, customer, open_ticket, active_ticket
    ):
        before = db_state()

        response = login(agent).post(
            CHANGELIST, action_data("assign_to_agent", open_ticket, active_ticket)
        )

        assert response.status_code == 200
        assert response.templates[0].name == "admin/tickets/ticket/action_choice.html"
        assert [t.pk for t in response.context["tickets"]] == [open_ticket.pk, active_ticket.pk]
        choices = [str(label) for _, label in response.context["form"].fields["agent"].choices]
        assert choices == ["---------", "agent", "other_agent"]
        html = response.content.decode()
        assert 'name="apply"' in html
        assert 'value="assign_to_agent"' in html
        assert f'name="_selected_action" value="{open_ticket.pk}"' in html
        assert f'name="_selected_action" value="{active_ticket.pk}"' in html
        assert db_state() == before

    def test_applying_assigns_each_ticket(
        self, login, agent, other_agent, open_ticket, active_ticket
    ):
        response = login(agent).post(
            CHANGELIST,
            action_data(
                "assign_to_agent", open_ticket, active_ticket, apply="1", agent=other_agent.pk
            ),
        )

        assert response.status_code == 302
        assert flash_messages(response) == ["Assigned to other_agent: 2 tickets."]
        open_ticket.refresh_from_db()
        active_ticket.refresh_from_db()
        assert open_ticket.assignee == other_agent
        assert open_ticket.status == Ticket.Status.ACTIVE
        assert active_ticket.assignee == other_agent
        assert events_of(open_ticket) == [
            ("assignment", "", "other_agent", "agent"),
            ("status", "open", "active", "agent"),
        ]
        assert events_of(active_ticket)[-1] == ("assignment", "", "other_agent", "agent")

    @pytest.mark.parametrize("choice", ["customer", "missing", "empty"])
    def test_a_customer_or_no_agent_is_refused_on_the_page(
        self, login, agent, customer, open_ticket, choice
    ):
        value = {"customer": customer.pk, "missing": 999_999, "empty": ""}[choice]
        before = db_state()

        response = login(agent).post(
            CHANGELIST, action_data("assign_to_agent", open_ticket, apply="1", agent=value)
        )

        assert response.status_code == 200
        assert response.context["form"].errors["agent"]
        assert db_state() == before


class TestStatusActions:
    def test_mark_active_goes_through_update_status(self, login, agent, open_ticket):
        response = login(agent).post(CHANGELIST, action_data("mark_active", open_ticket))

        assert flash_messages(response) == ["Marked active: 1 ticket."]
        open_ticket.refresh_from_db()
        assert open_ticket.status == Ticket.Status.ACTIVE
        assert open_ticket.assignee is None
        assert open_ticket.version == 2
        assert events_of(open_ticket) == [("status", "open", "active", "agent")]

    def test_close_over_open_active_and_closed(
        self, login, agent, open_ticket, active_ticket, closed_ticket
    ):
        closed_before = ticket_row(closed_ticket)
        closed_events = events_of(closed_ticket)

        response = login(agent).post(
            ALL_TICKETS, action_data("close_tickets", open_ticket, active_ticket, closed_ticket)
        )

        assert flash_messages(response) == [
            "Closed 2 tickets.",
            f"Already so, left alone: #{closed_ticket.pk}.",
        ]
        for ticket, old in ((open_ticket, "open"), (active_ticket, "active")):
            ticket.refresh_from_db()
            assert ticket.status == Ticket.Status.CLOSED
            assert ticket.closed_at is not None
            assert events_of(ticket)[-1] == ("status", old, "closed", "agent")
            assert TicketEvent.objects.filter(ticket=ticket, actor=agent).count() == 1
        assert ticket_row(closed_ticket) == closed_before
        assert events_of(closed_ticket) == closed_events

    def test_reopen_over_open_active_and_closed(
        self, login, agent, open_ticket, active_ticket, closed_ticket
    ):
        response = login(agent).post(
            ALL_TICKETS, action_data("reopen_tickets", open_ticket, active_ticket, closed_ticket)
        )

        assert flash_messages(response) == [
            "Reopened 2 tickets.",
            f"Already so, left alone: #{open_ticket.pk}.",
        ]
        closed_ticket.refresh_from_db()
        assert closed_ticket.status == Ticket.Status.OPEN
        assert closed_ticket.closed_at is None
        assert events_of(closed_ticket)[-1] == ("status", "closed", "open", "agent")
        active_ticket.refresh_from_db()
        assert active_ticket.status == Ticket.Status.OPEN
        assert events_of(open_ticket) == []

    def test_mark_active_refuses_a_closed_ticket_and_applies_the_rest(
        self, login, agent, open_ticket, closed_ticket
    ):
        closed_before = ticket_row(closed_ticket)
        closed_events = events_of(closed_ticket)

        response = login(agent).post(
            ALL_TICKETS, action_data("mark_active", open_ticket, closed_ticket)
        )

        assert flash_messages(response) == [
            "Marked active: 1 ticket.",
            f"Refused #{closed_ticket.pk}: A ticket cannot go from closed to active.",
        ]
        open_ticket.refresh_from_db()
        assert open_ticket.status == Ticket.Status.ACTIVE
        # The refused ticket is untouched: no half-applied change, no event.
        assert ticket_row(closed_ticket) == closed_before
        assert events_of(closed_ticket) == closed_events

    def test_no_ticket_selected_changes_nothing(self, login, agent, open_ticket):
        before = db_state()

        response = login(agent).post(
            CHANGELIST, {"action": "close_tickets", "_selected_action": [], "index": "0"}
        )

        assert response.status_code == 302
        assert "Items must be selected" in flash_messages(response)[0]
        assert db_state() == before


class TestSetPriority:
    def test_it_asks_for_the_priority_first(self, login, agent, open_ticket):
        before = db_state()

        response = login(agent).post(CHANGELIST, action_data("set_priority", open_ticket))

        assert response.status_code == 200
        assert "priority" in response.context["form"].fields
        assert 'value="set_priority"' in response.content.decode()
        assert db_state() == before

    def test_applying_writes_a_priority_event_per_changed_ticket(
        self, login, agent, make_ticket, customer, open_ticket
    ):
        urgent = make_ticket(customer, priority="urgent")

        response = login(agent).post(
            CHANGELIST,
            action_data("set_priority", open_ticket, urgent, apply="1", priority="urgent"),
        )

        assert response.status_code == 302
        assert flash_messages(response) == [
            "Set the priority to urgent on 1 ticket.",
            f"Already so, left alone: #{urgent.pk}.",
        ]
        open_ticket.refresh_from_db()
        assert open_ticket.priority == Ticket.Priority.URGENT
        assert events_of(open_ticket) == [("priority", "normal", "urgent", "agent")]
        assert events_of(urgent) == []

    def test_an_unknown_priority_is_refused_on_the_page(self, login, agent, open_ticket):
        before = db_state()

        response = login(agent).post(
            CHANGELIST, action_data("set_priority", open_ticket, apply="1", priority="critical")
        )

        assert response.status_code == 200
        assert response.context["form"].errors["priority"]
        assert db_state() == before


class TestDeleteAction:
    def test_agents_are_not_offered_delete(self, login, agent, open_ticket):
        response = login(agent).get(CHANGELIST)

        actions = [name for name, _ in response.context["action_form"].fields["action"].choices]
        assert "delete_selected" not in actions
        assert "close_tickets" in actions

    def test_an_agent_posting_delete_anyway_deletes_nothing(self, login, agent, open_ticket):
        before = db_state()

        response = login(agent).post(CHANGELIST, action_data("delete_selected", open_ticket))

        assert response.status_code == 302
        assert db_state() == before

    def test_superusers_are_offered_delete(self, login, admin_user, open_ticket):
        response = login(admin_user).get(CHANGELIST)

        actions = [name for name, _ in response.context["action_form"].fields["action"].choices]
        assert "delete_selected" in actions

    def test_a_superuser_deletes_a_ticket_with_its_conversation_and_events(
        self, login, admin_user, agent, customer, open_ticket, make_message
    ):
        from messaging.models import Message

        make_message(open_ticket, customer, "Any news?")
        make_message(open_ticket, agent, "Internal", is_internal=True)
        open_ticket.update_status(Ticket.Status.ACTIVE, by=agent)
        client = login(admin_user)

        confirm = client.post(CHANGELIST, action_data("delete_selected", open_ticket))

        assert confirm.status_code == 200
        assert not confirm.context["perms_lacking"]
        response = client.post(CHANGELIST, action_data("delete_selected", open_ticket, post="yes"))

        assert response.status_code == 302
        assert not Ticket.objects.filter(pk=open_ticket.pk).exists()
        assert not Message.objects.filter(ticket_id=open_ticket.pk).exists()
        assert not TicketEvent.objects.filter(ticket_id=open_ticket.pk).exists()


class TestLeavingTheFilter:
    def test_tickets_an_action_moves_out_of_the_list_are_linked(
        self, login, agent, open_ticket, active_ticket
    ):
        triage = f"{CHANGELIST}?assignee=none"

        response = login(agent).post(triage, action_data("assign_to_me", open_ticket))

        assert flash_messages(response) == [
            "Assigned to you: 1 ticket.",
            f'No longer in this list: <a href="/admin/tickets/ticket/{open_ticket.pk}/change/">'
            f"#{open_ticket.pk}</a>.",
        ]

    def test_tickets_still_in_the_list_are_not(self, login, agent, open_ticket, active_ticket):
        response = login(agent).post(ALL_TICKETS, action_data("close_tickets", open_ticket))

        assert flash_messages(response) == ["Closed 1 ticket."]
