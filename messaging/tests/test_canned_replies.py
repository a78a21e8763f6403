"""Canned replies: shared and personal, the admin's permission rules, the editor's picker, and
placeholders filled from a fixed set, never by a template engine."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError

from messaging.models import CannedReply
from tickets.tests.page_helpers import client_for

HTMX = {"HTTP_HX_REQUEST": "true"}
HOSTILE = '<script>alert(1)</script>{{ settings.SECRET_KEY }}{% load static %}" onclick="x'


def picker(client, ticket, query: str = "", **headers) -> str:
    return client.get(
        f"/tickets/{ticket.pk}/canned-replies/", {"q": query}, **headers
    ).content.decode()


def inserted_texts(page: str) -> list[str]:
    """What each button of the picker puts into the editor (the attribute, unescaped)."""
    return [html_lib.unescape(text) for text in re.findall(r'data-canned-text="([^"]*)"', page)]


@pytest.fixture
def shared(db):
    return CannedReply.objects.create(
        title="Greeting",
        body="Hi {{ customer.first_name }}, about #{{ticket.id}}: {{  agent.first_name }}.",
    )


@pytest.fixture
def mine(agent):
    return CannedReply.objects.create(title="My sign-off", body="Cheers", owner=agent)


@pytest.fixture
def theirs(other_agent):
    return CannedReply.objects.create(title="Their secret", body="Private", owner=other_agent)


def grant_sharing(user):
    user.user_permissions.add(Permission.objects.get(codename="manage_shared_replies"))
    return type(user).objects.get(pk=user.pk)  # a fresh copy: permissions are cached


class TestPlaceholders:
    def test_the_fixed_placeholders_are_filled(self, shared, customer, agent, ticket):
        customer.first_name = "Alice"
        agent.first_name = "Erin"

        text = shared.filled(customer=customer, ticket_id=ticket.pk, agent=agent)

        assert text == f"Hi Alice, about #{ticket.pk}: Erin."

    def test_an_empty_first_name_falls_back_to_the_username(self, shared, customer, agent):
        text = shared.filled(customer=customer, ticket_id=7, agent=agent)

        assert text == "Hi customer, about #7: agent."

    def test_nothing_else_is_run_or_replaced(self, customer, agent):
        reply = CannedReply(
            title="t",
            body="{{ customer.email }} {{ settings.SECRET_KEY }} {% now 'Y' %} {{customer.first_name|upper}}",
        )

        text = reply.filled(customer=customer, ticket_id=1, agent=agent)

        assert text == reply.body

    def test_a_value_is_put_in_as_it_is_not_read_again(self, agent, customer):
        # A customer who calls themselves "{{ agent.first_name }}" stays so: one pass only.
        customer.first_name = "{{ agent.first_name }}"
        reply = CannedReply(title="t", body="Hi {{ customer.first_name }}")

        assert reply.filled(customer=customer, ticket_id=1, agent=agent) == (
            "Hi {{ agent.first_name }}"
        )

    def test_the_model_refuses_empty_and_nul_text(self, db):
        with pytest.raises(ValidationError):
            CannedReply(title="", body="x").full_clean()
        with pytest.raises(ValidationError):
            CannedReply(title="t", body="a\x00b").full_clean()


class TestPicker:
    def test_it_lists_the_shared_and_my_own_filled_in(
        self, agent, customer, ticket, shared, mine, theirs
    ):
        customer.first_name = "Alice"
        customer.save()

        page = picker(client_for(agent), ticket, **HTMX)

        assert inserted_texts(page) == [f"Hi Alice, about #{ticket.pk}: agent.", "Cheers"]
        assert "Their secret" not in page
        assert "<html" not in page  # the list alone, for htmx

    def test_typing_narrows_it(self, agent, ticket, shared, mine):
        page = picker(client_for(agent), ticket, "SIGN", **HTMX)

        assert inserted_texts(page) == ["Cheers"]
        assert "No canned reply holds" in picker(client_for(agent), ticket, "zzz", **HTMX)

    def test_hostile_text_and_names_are_escaped(self, agent, customer, ticket):
        customer.first_name = '"><img src=x onerror=alert(1)>'
        customer.save()
        CannedReply.objects.create(title=HOSTILE, body=HOSTILE + " {{ customer.first_name }}")

        for page in (
            picker(client_for(agent), ticket, **HTMX),
            picker(client_for(agent), ticket),
            picker(client_for(agent), ticket, "<script>", **HTMX),
        ):
            assert "<script>alert(1)</script>" not in page
            assert "<img src=x" not in page
            assert 'onclick="x' not in page
        [text] = inserted_texts(picker(client_for(agent), ticket, **HTMX))
        assert text == HOSTILE + ' "><img src=x onerror=alert(1)>'

    def test_without_htmx_it_is_a_page_to_copy_from(self, agent, ticket, shared):
        page = picker(client_for(agent), ticket)

        assert "<html" in page and "Hi customer, about" in page
        # One main heading, as every page has (axe: page-has-heading-one).
        assert page.count("<h1") == 1
        assert f'<h1 class="h3 mb-3">Canned replies for #{ticket.pk}</h1>' in page

    def test_it_costs_a_fixed_number_of_queries(self, agent, ticket, django_assert_max_num_queries):
        CannedReply.objects.bulk_create(
            CannedReply(title=f"Reply {n}", body=f"Text {n}") for n in range(30)
        )
        client = client_for(agent)
        picker(client, ticket, **HTMX)

        # Session, user, ticket, the replies.
        with django_assert_max_num_queries(4):
            page = picker(client, ticket, **HTMX)
        assert len(inserted_texts(page)) == 20

    def test_customers_get_a_404(self, customer, ticket, shared):
        response = client_for(customer).get(f"/tickets/{ticket.pk}/canned-replies/", **HTMX)

        assert response.status_code == 404

    def test_the_staff_page_loads_no_reply_until_the_picker_opens(self, agent, ticket, shared):
        page = client_for(agent).get(f"/tickets/{ticket.pk}/").content.decode()

        assert "data-canned-text" not in page
        assert f'hx-get="/tickets/{ticket.pk}/canned-replies/"' in page


class TestAdmin:
    URL = "/admin/messaging/cannedreply/"

    def test_an_agent_sees_the_shared_and_their_own(self, agent, shared, mine, theirs):
        page = client_for(agent).get(self.URL).content.decode()

        assert "Greeting" in page and "My sign-off" in page
        assert "Their secret" not in page
        assert client_for(agent).get(f"{self.URL}{theirs.pk}/change/").status_code == 302

    def test_an_agent_edits_their_own(self, agent, mine):
        response = client_for(agent).post(
            f"{self.URL}{mine.pk}/change/", {"title": "Sign-off", "body": "Best"}
        )

        assert response.status_code == 302
        mine.refresh_from_db()
        assert (mine.title, mine.body, mine.owner) == ("Sign-off", "Best", agent)

    def test_an_agent_without_the_permission_cannot_edit_a_shared_one(self, agent, shared):
        client = client_for(agent)

        page = client.get(f"{self.URL}{shared.pk}/change/")
        changed = client.post(f"{self.URL}{shared.pk}/change/", {"title": "Mine", "body": "x"})
        deleted = client.post(f"{self.URL}{shared.pk}/delete/", {"post": "yes"})

        assert page.status_code == 200 and 'name="title"' not in page.content.decode()
        assert changed.status_code == 403 and deleted.status_code == 403
        shared.refresh_from_db()
        assert shared.title == "Greeting"

    def test_sharing_needs_the_permission(self, agent, other_agent):
        client_for(agent).post(
            f"{self.URL}add/", {"title": "Try to share", "body": "x", "shared": "on"}
        )
        sharer = grant_sharing(other_agent)
        form = client_for(sharer).get(f"{self.URL}add/").content.decode()
        client_for(sharer).post(f"{self.URL}add/", {"title": "Shared", "body": "y", "shared": "on"})

        assert 'name="shared"' in form
        assert 'name="shared"' not in client_for(agent).get(f"{self.URL}add/").content.decode()
        assert CannedReply.objects.get(title="Try to share").owner == agent
        assert CannedReply.objects.get(title="Shared").owner is None

    def test_with_the_permission_a_shared_one_can_be_edited(self, other_agent, shared):
        sharer = grant_sharing(other_agent)

        response = client_for(sharer).post(
            f"/admin/messaging/cannedreply/{shared.pk}/change/", {"title": "Hello", "body": "Hi"}
        )

        assert response.status_code == 302
        shared.refresh_from_db()
        assert shared.title == "Hello"


def test_customers_have_no_canned_replies(customer, agent, shared, mine):
    assert list(CannedReply.objects.usable_by(customer)) == []
    assert not shared.may_edit(customer)
    assert not mine.may_edit(customer)
    assert mine.may_edit(agent) and not shared.may_edit(agent)
