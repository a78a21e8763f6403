"""The ticket list: "My tickets" for customers, "All tickets" for staff."""

from datetime import timedelta

import pytest
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tickets.models import Ticket
from tickets.services import ticket_assign

from .page_helpers import client_for, reply_data

LIST_URL = "/tickets/"


def listed(response) -> list[int]:
    return [row["pk"] for row in response.context["tickets"]]


def close(ticket: Ticket, by) -> Ticket:
    ticket.update_status(Ticket.Status.CLOSED, by=by)
    return ticket


class TestMyTickets:
    def test_customer_sees_only_their_own_tickets(
        self, login, customer, other_customer, make_ticket
    ):
        mine = make_ticket(customer, title="My laptop is slow")
        make_ticket(other_customer, title="Somebody else's secret")

        response = login(customer).get(LIST_URL)

        assert response.status_code == 200
        assert listed(response) == [mine.pk]
        content = response.content.decode()
        assert "My tickets" in content
        assert "My laptop is slow" in content
        assert "Somebody else" not in content

    def test_customer_cannot_widen_the_list_with_the_assignee_filter(
        self, login, customer, other_customer, make_ticket
    ):
        mine = make_ticket(customer)
        make_ticket(other_customer)

        for query in ("?assignee=none", "?status=all&assignee=none"):
            response = login(customer).get(LIST_URL + query)
            assert response.status_code == 200
            assert listed(response) == [mine.pk]

    def test_closed_tickets_are_hidden_by_default(self, login, customer, make_ticket):
        open_ticket = make_ticket(customer, title="Still broken")
        closed_ticket = close(make_ticket(customer, title="Long fixed"), customer)

        response = login(customer).get(LIST_URL)

        assert listed(response) == [open_ticket.pk]
        assert "Long fixed" not in response.content.decode()
        assert closed_ticket.pk not in listed(response)

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("", ["open", "active"]),
            ("?status=open", ["open"]),
            ("?status=active", ["active"]),
            ("?status=closed", ["closed"]),
            ("?status=all", ["open", "active", "closed"]),
        ],
    )
    def test_status_filter(self, query, expected, login, customer, agent, make_ticket):
        tickets = {
            "open": make_ticket(customer),
            "active": make_ticket(customer),
            "closed": make_ticket(customer),
        }
        tickets["active"].update_status(Ticket.Status.ACTIVE, by=agent)
        close(tickets["closed"], customer)

        response = login(customer).get(LIST_URL + query)

        assert response.status_code == 200
        assert sorted(listed(response)) == sorted(tickets[name].pk for name in expected)

    def test_priority_filter(self, login, customer, make_ticket):
        urgent = make_ticket(customer, priority=Ticket.Priority.URGENT)
        make_ticket(customer, priority=Ticket.Priority.LOW)

        response = login(customer).get(LIST_URL + "?priority=urgent")

        assert listed(response) == [urgent.pk]

    def test_ordered_by_last_activity_most_recent_first(self, login, customer, make_ticket):
        first, second, third = (make_ticket(customer) for _ in range(3))
        now = timezone.now()
        # Activity order differs from creation order, so an id ordering would fail.
        for ticket, minutes_ago in ((first, 1), (second, 30), (third, 10)):
            Ticket.objects.filter(pk=ticket.pk).update(
                last_activity_at=now - timedelta(minutes=minutes_ago)
            )

        response = login(customer).get(LIST_URL)

        assert listed(response) == [first.pk, third.pk, second.pk]

    def test_a_reply_moves_a_ticket_to_the_top(self, login, customer, agent, make_ticket):
        older = make_ticket(customer)
        newer = make_ticket(customer)
        client = login(customer)
        assert listed(client.get(LIST_URL)) == [newer.pk, older.pk]

        response = client.post(f"/tickets/{older.pk}/reply/", reply_data("Still broken"))
        assert response.status_code == 302

        assert listed(client.get(LIST_URL)) == [older.pk, newer.pk]

    def test_it_is_paginated(self, settings, login, customer, make_ticket):
        settings.TICKETS_PER_PAGE = 2
        tickets = [make_ticket(customer) for _ in range(5)]
        client = login(customer)

        pages = [client.get(f"{LIST_URL}?page={number}") for number in (1, 2, 3)]

        assert [len(listed(page)) for page in pages] == [2, 2, 1]
        seen = [pk for page in pages for pk in listed(page)]
        assert sorted(seen) == sorted(ticket.pk for ticket in tickets)
        first_page = pages[0].content.decode()
        assert "Page 1 of 3" in first_page
        assert "5 tickets" in first_page
        assert 'href="?page=2"' in first_page

    def test_a_long_list_is_counted_up_to_its_limit(
        self, settings, login, agent, customer, make_ticket
    ):
        settings.TICKETS_PER_PAGE = 2
        settings.TICKET_LIST_LIMIT = 3
        tickets = [make_ticket(customer) for _ in range(5)]
        client = login(agent)

        reset_queries()  # A request starts the log afresh: the capture must start from empty.
        with CaptureQueriesContext(connection) as queries:
            first = client.get(LIST_URL)
        sql = [query["sql"] for query in queries.captured_queries]  # before the next request
        last = client.get(f"{LIST_URL}?page=2")
        beyond = client.get(f"{LIST_URL}?page=3")

        # The most recently active three, in two pages; the count stops at the fourth.
        assert listed(first) + listed(last) == [ticket.pk for ticket in reversed(tickets)][:3]
        content = first.content.decode()
        assert "More than 3 tickets: the first 3, most recent activity first, are listed" in content
        assert "Page 1 of 2+" in content
        count = next(statement for statement in sql if "COUNT(" in statement)
        assert "LIMIT 4" in count
        assert 'href="?page=3"' not in last.content.decode()
        assert beyond.status_code == 404
        assert "filter it to see others" in beyond.content.decode()

    def test_a_list_over_its_limit_is_not_counted_again_for_a_minute(
        self, settings, login, agent, customer, make_ticket
    ):
        settings.TICKETS_PER_PAGE = 2
        settings.TICKET_LIST_LIMIT = 3
        for _ in range(4):
            make_ticket(customer)
        client = login(agent)
        client.get(LIST_URL)

        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            again = client.get(LIST_URL)

        assert not [query for query in queries.captured_queries if "COUNT(" in query["sql"]]
        assert "More than 3 tickets" in again.content.decode()
        # Another list (another filter) is counted on its own.
        with CaptureQueriesContext(connection) as queries:
            client.get(f"{LIST_URL}?priority=urgent")
        assert [query for query in queries.captured_queries if "COUNT(" in query["sql"]]

    def test_a_list_within_its_limit_is_counted_on_every_view(
        self, settings, login, customer, make_ticket
    ):
        settings.TICKET_LIST_LIMIT = 3
        make_ticket(customer)
        client = login(customer)
        assert "1 ticket," in client.get(LIST_URL).content.decode()

        make_ticket(customer)

        assert "2 tickets," in client.get(LIST_URL).content.decode()

    def test_a_list_at_its_limit_is_counted_in_full(self, settings, login, customer, make_ticket):
        settings.TICKETS_PER_PAGE = 2
        settings.TICKET_LIST_LIMIT = 3
        for _ in range(3):
            make_ticket(customer)

        content = login(customer).get(LIST_URL).content.decode()

        assert "3 tickets, most recent activity first" in content
        assert "More than" not in content
        assert "Page 1 of 2<" in content

    def test_pagination_links_keep_the_filter(self, settings, login, customer, make_ticket):
        settings.TICKETS_PER_PAGE = 1
        for _ in range(2):
            close(make_ticket(customer), customer)

        response = login(customer).get(f"{LIST_URL}?status=closed")

        assert 'href="?status=closed&amp;page=2"' in response.content.decode()

    @pytest.mark.parametrize("page", ["999", "abc", "0", "-1", "1.5"])
    def test_a_page_that_does_not_exist_is_404(self, page, settings, login, customer, make_ticket):
        settings.TICKETS_PER_PAGE = 2
        for _ in range(3):
            make_ticket(customer)

        response = login(customer).get(f"{LIST_URL}?page={page}")

        assert response.status_code == 404

    @pytest.mark.parametrize("query", ["?status=bogus", "?priority=bogus", "?assignee=bogus"])
    def test_a_bad_filter_is_400_with_a_message(self, query, login, customer, make_ticket):
        make_ticket(customer, title="Visible anyway")

        response = login(customer).get(LIST_URL + query)

        assert response.status_code == 400
        content = response.content.decode()
        assert "That filter is not valid" in content
        assert "bogus is not one of the available choices" in content
        # The page falls back to the default list instead of an error page.
        assert "Visible anyway" in content

    def test_empty_list_invites_a_new_ticket(self, login, customer):
        response = login(customer).get(LIST_URL)

        assert response.status_code == 200
        content = response.content.decode()
        assert "No tickets here." in content
        assert "Report an issue" in content


class TestNewReplyMarker:
    def test_unseen_staff_reply_is_marked_until_the_reporter_opens_the_ticket(
        self, login, customer, agent, make_ticket, make_message
    ):
        answered = make_ticket(customer, title="Answered")
        make_ticket(customer, title="Not answered")
        make_message(answered, agent, "Try turning it off and on again.")
        client = login(customer)

        before = client.get(LIST_URL).content.decode()
        assert before.count("New reply") == 1
        # The marker sits on the answered ticket's row.
        row = before.split(f'href="{answered.pk}/"', 1)[1].split("</tr>", 1)[0]
        assert "New reply" in row

        assert client.get(f"/tickets/{answered.pk}/").status_code == 200
        answered.refresh_from_db()
        assert answered.reporter_seen_at is not None

        after = client.get(LIST_URL).content.decode()
        assert "New reply" not in after

    def test_a_new_reply_after_a_visit_is_marked_again(
        self, login, customer, agent, ticket, make_message
    ):
        make_message(ticket, agent, "First answer")
        client = login(customer)
        client.get(f"/tickets/{ticket.pk}/")
        assert "New reply" not in client.get(LIST_URL).content.decode()

        make_message(ticket, agent, "Second answer")

        assert "New reply" in client.get(LIST_URL).content.decode()

    def test_staff_opening_the_ticket_does_not_clear_the_marker(
        self, login, customer, agent, ticket, make_message
    ):
        make_message(ticket, agent, "An answer")
        client_for(agent).get(f"/tickets/{ticket.pk}/")

        assert "New reply" in login(customer).get(LIST_URL).content.decode()

    @pytest.mark.parametrize("who", ["own_reply", "internal_note"])
    def test_no_marker_for_own_replies_or_internal_notes(
        self, who, login, customer, agent, ticket, make_message
    ):
        if who == "own_reply":
            make_message(ticket, customer, "Any news?")
        else:
            make_message(ticket, agent, "Customer seems confused", is_internal=True)

        assert "New reply" not in login(customer).get(LIST_URL).content.decode()


class TestStaffList:
    @pytest.mark.parametrize("role", ["agent", "admin_user"])
    def test_staff_see_every_ticket(
        self, role, request, login, customer, other_customer, make_ticket
    ):
        tickets = [
            make_ticket(customer, title="From the first customer"),
            make_ticket(other_customer, title="From the second customer"),
        ]

        response = login(request.getfixturevalue(role)).get(LIST_URL)

        assert response.status_code == 200
        assert sorted(listed(response)) == sorted(ticket.pk for ticket in tickets)
        content = response.content.decode()
        assert "All tickets" in content
        assert "From the first customer" in content
        assert "From the second customer" in content
        assert "other_customer" in content  # the reporter column

    def test_assignee_filters(self, login, customer, agent, other_agent, make_ticket):
        mine = make_ticket(customer)
        theirs = make_ticket(customer)
        nobodys = make_ticket(customer)
        ticket_assign(ticket=mine, assignee=agent, by=agent)
        ticket_assign(ticket=theirs, assignee=other_agent, by=agent)
        client = login(agent)

        assert listed(client.get(LIST_URL + "?assignee=me")) == [mine.pk]
        assert listed(client.get(LIST_URL + "?assignee=none")) == [nobodys.pk]
        assert sorted(listed(client.get(LIST_URL))) == sorted([mine.pk, theirs.pk, nobodys.pk])

    def test_triage_queue_link_combines_filters(self, login, customer, agent, make_ticket):
        waiting = make_ticket(customer)
        assigned = make_ticket(customer)
        ticket_assign(ticket=assigned, assignee=agent, by=agent)
        unassigned_closed = make_ticket(customer)
        close(unassigned_closed, agent)

        response = login(agent).get(LIST_URL + "?assignee=none&status=open")

        assert listed(response) == [waiting.pk]

    def test_staff_list_marks_tickets_awaiting_a_first_response(
        self, login, customer, agent, make_ticket, make_message
    ):
        make_ticket(customer, title="Waiting")
        answered = make_ticket(customer, title="Answered")
        make_message(answered, agent, "On it")

        content = login(agent).get(LIST_URL).content.decode()

        assert content.count("Awaiting first response") == 1
