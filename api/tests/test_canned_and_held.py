"""Canned replies through the API (staff: list, read, use one in a reply) and held replies (a
reply is not sent when someone else wrote after the message the client had seen), as the staff's
ticket page does."""

import pytest

from messaging.models import CannedReply, Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def replies(agent, other_agent):
    return {
        "shared": CannedReply.objects.create(title="Restart", body="Hi {{ customer.first_name }}"),
        "mine": CannedReply.objects.create(
            title="Logs",
            body="Ticket {{ ticket.id }}: send logs. {{ agent.first_name }}",
            owner=agent,
        ),
        "theirs": CannedReply.objects.create(title="Theirs", body="Not yours", owner=other_agent),
    }


class TestCannedReplies:
    def test_staff_list_the_shared_and_their_own(self, api, agent, replies):
        response = api.as_(agent).get("/api/v1/canned-replies/")
        assert response.status_code == 200
        rows = response.json()["results"]
        assert [(row["title"], row["shared"]) for row in rows] == [
            ("Restart", True),
            ("Logs", False),
        ]
        assert rows[0]["text"] == "Hi {{ customer.first_name }}"

    def test_q_narrows_the_list(self, api, agent, replies):
        rows = api.as_(agent).get("/api/v1/canned-replies/?q=LOGS").json()["results"]
        assert [row["title"] for row in rows] == ["Logs"]

    def test_staff_read_one_but_not_another_agents_own(self, api, agent, replies):
        client = api.as_(agent)
        assert client.get(f"/api/v1/canned-replies/{replies['mine'].pk}/").json()["title"] == "Logs"
        response = client.get(f"/api/v1/canned-replies/{replies['theirs'].pk}/")
        assert response.status_code == 404
        assert response.json()["detail"] == "No such canned reply."

    @pytest.mark.parametrize("path", ["", "1/"])
    def test_customers_have_none(self, api, customer, replies, path):
        response = api.as_(customer).get(f"/api/v1/canned-replies/{path}")
        assert response.status_code == 403
        assert response.json()["type"] == "permission_denied"

    def test_staff_reply_with_one_filled_in_for_the_ticket(
        self, api, agent, customer, ticket, replies
    ):
        customer.first_name = "Alice"
        customer.save(update_fields=["first_name"])
        client = api.as_(agent)
        for name, text in (
            ("shared", "Hi Alice"),
            ("mine", f"Ticket {ticket.pk}: send logs. agent"),
        ):
            response = client.post(
                f"/api/v1/tickets/{ticket.pk}/messages/",
                {"canned_reply": replies[name].pk},
                format="json",
            )
            assert response.status_code == 201, response.json()
            assert response.json()["content"] == text
        assert Message.objects.count() == 2

    def test_text_sent_with_it_wins(self, api, agent, ticket, replies):
        response = api.as_(agent).post(
            f"/api/v1/tickets/{ticket.pk}/messages/",
            {"canned_reply": replies["shared"].pk, "content": "Edited"},
            format="json",
        )
        assert response.json()["content"] == "Edited"

    def test_another_agents_own_is_refused(self, api, agent, ticket, replies):
        response = api.as_(agent).post(
            f"/api/v1/tickets/{ticket.pk}/messages/",
            {"canned_reply": replies["theirs"].pk},
            format="json",
        )
        assert response.status_code == 400
        assert "canned_reply" in response.json()["errors"]
        assert not Message.objects.exists()

    def test_a_customer_cannot_use_one(self, api, customer, ticket, replies):
        response = api.as_(customer).post(
            f"/api/v1/tickets/{ticket.pk}/messages/",
            {"canned_reply": replies["shared"].pk},
            format="json",
        )
        assert response.status_code == 403
        assert not Message.objects.exists()


def reply(client, ticket, headers=None, **body):
    return client.post(
        f"/api/v1/tickets/{ticket.pk}/messages/",
        {"content": "Try this", **body},
        format="json",
        headers=headers,
    )


class TestHeldReplies:
    def test_a_reply_is_held_when_the_customer_wrote_meanwhile(
        self, api, agent, customer, ticket, make_message
    ):
        seen = make_message(ticket, customer, "It is broken")
        meanwhile = make_message(ticket, customer, "Never mind, it works now")
        response = reply(api.as_(agent), ticket, seen_message=seen.pk)
        assert response.status_code == 409
        body = response.json()
        assert body["type"] == "conflict"
        assert "customer wrote after message" in body["detail"]
        assert [row["id"] for row in body["messages"]] == [meanwhile.pk]
        assert body["messages"][0]["content"] == "Never mind, it works now"
        assert Message.objects.count() == 2  # nothing sent

    def test_sent_when_nothing_came_or_with_the_newest_seen(
        self, api, agent, customer, ticket, make_message
    ):
        newest = make_message(ticket, customer, "It is broken")
        assert reply(api.as_(agent), ticket, seen_message=newest.pk).status_code == 201

    def test_send_anyway_sends_it(self, api, agent, customer, ticket, make_message):
        make_message(ticket, customer, "It is broken")
        response = reply(api.as_(agent), ticket, seen_message=0, send_anyway=True)
        assert response.status_code == 201
        assert Message.objects.filter(sender=agent).count() == 1

    def test_an_internal_note_or_my_own_message_holds_nothing(
        self, api, agent, other_agent, customer, ticket, make_message
    ):
        make_message(ticket, agent, "My earlier reply")
        make_message(ticket, other_agent, "A colleague's note", is_internal=True)
        assert reply(api.as_(agent), ticket, seen_message=0).status_code == 201
        make_message(ticket, customer, "Thanks")
        note = reply(api.as_(agent), ticket, seen_message=0, is_internal=True)
        assert note.status_code == 201

    def test_a_customer_does_not_see_notes_in_what_held_them(
        self, api, agent, customer, ticket, make_message
    ):
        make_message(ticket, agent, "Internal", is_internal=True)
        assert reply(api.as_(customer), ticket, seen_message=0).status_code == 201
        make_message(ticket, agent, "We are on it")
        held = reply(api.as_(customer), ticket, seen_message=0)
        assert held.status_code == 409
        assert [row["content"] for row in held.json()["messages"]] == ["We are on it"]

    def test_a_retried_reply_is_not_held_by_what_came_after_it(
        self, api, agent, customer, ticket, make_message
    ):
        client = api.as_(agent)
        first = reply(client, ticket, seen_message=0, headers={"Idempotency-Key": "r1"})
        make_message(ticket, customer, "Thanks")
        again = reply(client, ticket, seen_message=0, headers={"Idempotency-Key": "r1"})
        assert (first.status_code, again.status_code) == (201, 200)
        assert Message.objects.filter(sender=agent).count() == 1

    def test_a_missing_content_is_a_400(self, api, agent, ticket):
        response = api.as_(agent).post(
            f"/api/v1/tickets/{ticket.pk}/messages/", {"seen_message": 0}, format="json"
        )
        assert response.status_code == 400
        assert "content" in response.json()["errors"]
