"""The ticket pages' markup (templates/tickets/): what the reply form and the selects show, and
that whatever a person typed (usernames, a refused reply) arrives escaped by Django's
autoescape."""

import re
import uuid

import pytest

from messaging.models import Message
from tickets.services import ticket_assign

from .page_helpers import client_for, reply_data

HOSTILE = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"


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


class TestReplyForm:
    def test_a_new_form_has_a_token_and_for_staff_the_note_box(self, customer, agent, ticket):
        customer_page = page(customer, f"/tickets/{ticket.pk}/")
        staff_page = page(agent, f"/tickets/{ticket.pk}/")

        for html in (customer_page, staff_page):
            assert re.search(r'name="client_token" value="[0-9a-f-]{36}"', html)
            assert 'name="content"' in html
            assert "is-invalid" not in html
        assert "is_internal" not in customer_page
        assert re.search(
            r'<input type="checkbox" name="is_internal"[^>]*id="id_is_internal">', staff_page
        )
        assert "Internal note (staff only; the reporter does not see it)" in staff_page

    def test_a_refused_form_keeps_what_was_typed_escaped_and_says_why(self, agent, ticket):
        response = client_for(agent).post(
            f"/tickets/{ticket.pk}/reply/",
            {"content": HOSTILE, "client_token": "x", "is_internal": "on"},
        )

        assert response.status_code == 400
        html = response.content.decode()
        assert re.search(rf'<textarea name="content"[^>]*>\n{re.escape(ESCAPED)}</textarea>', html)
        assert HOSTILE not in html
        assert "<li>This form is out of date or was altered; reload the page.</li>" in html
        assert re.search(r'<input type="hidden" name="client_token" value="x"', html)
        assert re.search(r'<input type="checkbox" name="is_internal"[^>]* checked>', html)
        assert not Message.objects.exists()

    def test_an_empty_reply_is_marked_invalid(self, customer, ticket):
        response = client_for(customer).post(
            f"/tickets/{ticket.pk}/reply/", reply_data("", client_token=str(uuid.uuid4()))
        )

        assert response.status_code == 400
        html = response.content.decode()
        assert re.search(
            r'<textarea name="content"[^>]*class="textarea form-control is-invalid"', html
        )
        assert re.search(
            r'<div id="id_content_error" class="invalid-feedback">\s*<p[^>]*><strong>'
            r"This field is required.</strong></p>",
            html,
        )
        assert "alert-danger" not in html[html.index('action="/tickets/') :]


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
