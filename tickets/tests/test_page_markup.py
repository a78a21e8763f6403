"""The ticket pages' markup (templates/tickets/): what the forms' selects show and that
whatever a person typed (usernames) arrives escaped by Django's autoescape."""

import re

import pytest

from tickets.services import ticket_assign

from .page_helpers import client_for


def page(user, path: str, **kwargs) -> str:
    response = client_for(user).get(path, **kwargs)
    assert response.status_code == 200
    return response.content.decode()


def select(html: str, name: str) -> str:
    start = html.index(f'<select name="{name}"')
    return html[start : html.index("</select>", start)]


@pytest.fixture
def hostile_agent(make_user):
    """A staff member whose username is markup (usernames typed in the admin are not limited
    to the registration form's characters)."""
    return make_user("agent<b>", staff=True)


class TestSelects:
    def test_the_triage_selects_show_the_tickets_assignee_and_priority(
        self, agent, hostile_agent, ticket
    ):
        ticket_assign(ticket=ticket, assignee=hostile_agent, by=agent)
        ticket.refresh_from_db()

        html = page(agent, f"/tickets/{ticket.pk}/")

        assignees = select(html, "assignee")
        assert f'<option value="{hostile_agent.pk}" selected>agent&lt;b&gt;</option>' in assignees
        assert f'<option value="{agent.pk}">agent</option>' in assignees
        assert '<option value="">Unassigned</option>' in assignees
        assert '<select name="assignee" class="form-select" id="id_assignee">' in html
        assert '<option value="normal" selected>Normal</option>' in select(html, "priority")
        assert '<select name="priority" class="form-select" id="id_priority">' in html
        version = f'value="{ticket.version}"'
        assert re.search(rf'<input type="hidden" name="version" {version} id="id_version">', html)
        assert re.search(
            rf'<input type="hidden" name="version" {version} id="id_priority_version">', html
        )

    def test_an_unassigned_ticket_selects_unassigned(self, agent, ticket):
        assignees = select(page(agent, f"/tickets/{ticket.pk}/"), "assignee")

        assert '<option value="" selected>Unassigned</option>' in assignees
        assert assignees.count("selected") == 1

    def test_the_filters_show_what_was_asked_for(self, agent):
        html = page(agent, "/tickets/?status=all&priority=high&assignee=me")

        assert '<select name="status" class="form-select form-select-sm" id="id_status">' in html
        assert '<option value="all" selected>All</option>' in select(html, "status")
        assert '<option value="high" selected>High</option>' in select(html, "priority")
        assert '<option value="me" selected>Assigned to me</option>' in select(html, "assignee")
        defaults = page(agent, "/tickets/")
        assert '<option value="" selected>Not closed</option>' in select(defaults, "status")
        assert '<option value="" selected>Any priority</option>' in select(defaults, "priority")
        assert '<option value="" selected>Anyone</option>' in select(defaults, "assignee")

    def test_a_customer_has_no_assignee_filter(self, customer):
        html = page(customer, "/tickets/")

        assert 'name="status"' in html
        assert 'name="assignee"' not in html
