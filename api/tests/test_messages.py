"""The conversation and its files through the API: internal notes for staff only, idempotent
POSTs, the same file checks as the pages."""

import pytest

from messaging.models import Attachment, Message
from messaging.tests.file_helpers import png_bytes, upload

pytestmark = pytest.mark.django_db


def url(ticket, rest: str = "messages/") -> str:
    return f"/api/v1/tickets/{ticket.pk}/{rest}"


def test_customer_never_sees_internal_notes(api, customer, agent, ticket, make_message):
    make_message(ticket, agent, "We are on it")
    make_message(ticket, agent, "Customer is grumpy", is_internal=True)
    rows = api.as_(customer).get(url(ticket)).json()["results"]
    assert [row["content"] for row in rows] == ["We are on it"]
    assert rows[0]["from_staff"] is True
    assert rows[0]["sender"] == {"id": agent.pk, "username": "agent"}


def test_staff_see_the_notes_oldest_first(api, agent, ticket, make_message):
    make_message(ticket, agent, "one")
    make_message(ticket, agent, "two", is_internal=True)
    rows = api.as_(agent).get(url(ticket)).json()["results"]
    assert [(row["content"], row["is_internal"]) for row in rows] == [
        ("one", False),
        ("two", True),
    ]


def test_customer_replies_on_their_ticket(api, customer, ticket):
    response = api.as_(customer).post(url(ticket), {"content": "Still broken"}, format="json")
    assert response.status_code == 201
    message = Message.objects.get()
    assert (message.sender, message.content, message.is_internal) == (
        customer,
        "Still broken",
        False,
    )
    assert response.json()["id"] == message.pk


def test_customer_cannot_write_an_internal_note(api, customer, ticket):
    response = api.as_(customer).post(
        url(ticket), {"content": "psst", "is_internal": True}, format="json"
    )
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_staff_write_an_internal_note(api, agent, ticket):
    response = api.as_(agent).post(
        url(ticket), {"content": "Call them", "is_internal": True}, format="json"
    )
    assert response.status_code == 201
    assert Message.objects.get().is_internal


def test_customer_cannot_write_on_someone_elses_ticket(api, other_customer, ticket):
    response = api.as_(other_customer).post(url(ticket), {"content": "hi"}, format="json")
    assert response.status_code == 404
    assert not Message.objects.exists()


def test_a_retried_post_stores_one_message(api, customer, ticket):
    client = api.as_(customer)
    headers = {"HTTP_IDEMPOTENCY_KEY": "reply-7f3a"}
    first = client.post(url(ticket), {"content": "Once"}, format="json", **headers)
    again = client.post(url(ticket), {"content": "Once"}, format="json", **headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert Message.objects.count() == 1


def test_the_same_key_on_another_ticket_is_a_new_reply(api, customer, ticket, make_ticket):
    other = make_ticket(customer, title="Another")
    client = api.as_(customer)
    headers = {"HTTP_IDEMPOTENCY_KEY": "reply-7f3a"}
    first = client.post(url(ticket), {"content": "On the first"}, format="json", **headers)
    second = client.post(url(other), {"content": "On the second"}, format="json", **headers)
    again = client.post(url(ticket), {"content": "On the first"}, format="json", **headers)
    assert (first.status_code, second.status_code, again.status_code) == (201, 201, 200)
    assert second.json()["content"] == "On the second"
    assert list(other.messages.values_list("content", flat=True)) == ["On the second"]
    assert again.json() == first.json()
    assert Message.objects.count() == 2


def test_the_same_key_from_two_users_is_two_messages(api, customer, agent, ticket):
    api.as_(customer).post(url(ticket), {"content": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    api.as_(agent).post(url(ticket), {"content": "B"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert Message.objects.count() == 2


@pytest.mark.parametrize("key", ["", "a b", "é", "x" * 201])
def test_a_bad_idempotency_key_is_a_400(api, customer, ticket, key):
    response = api.as_(customer).post(
        url(ticket), {"content": "A"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "body",
    [{}, {"content": ""}, {"content": "   "}, {"content": "a\x00b"}, {"content": "x" * 10_001}],
)
def test_a_bad_message_is_a_400(api, customer, ticket, body):
    response = api.as_(customer).post(url(ticket), body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]
    assert not Message.objects.exists()


def test_files_go_up_and_come_down_through_the_same_checks(
    api, customer, other_customer, agent, ticket, make_message
):
    message = make_message(ticket, customer, "Here is a screenshot")
    client = api.as_(customer)
    response = client.post(
        url(ticket, f"messages/{message.pk}/files/"),
        {"file": upload("shot.png", png_bytes(), "image/png")},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    attachment = Attachment.objects.get()
    assert response.json()["type"] == "image/png"
    listed = client.get(url(ticket)).json()["results"][0]["files"]
    assert [row["id"] for row in listed] == [attachment.pk]
    download = client.get(url(ticket, f"files/{attachment.pk}/"))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == png_bytes()
    assert download["Content-Type"] == "image/png"
    assert api.as_(agent).get(url(ticket, f"files/{attachment.pk}/")).status_code == 200
    refused = api.as_(other_customer).get(url(ticket, f"files/{attachment.pk}/"))
    assert refused.status_code == 404
    assert refused.json()["detail"] == "No such file."


def test_a_file_goes_on_your_own_message_only(api, customer, agent, ticket, make_message):
    message = make_message(ticket, agent, "Send us a screenshot")
    response = api.as_(customer).post(
        url(ticket, f"messages/{message.pk}/files/"),
        {"file": upload("shot.png", png_bytes(), "image/png")},
        format="multipart",
    )
    assert response.status_code == 403
    assert not Attachment.objects.exists()


def test_an_internal_notes_file_is_for_staff_only(api, customer, agent, ticket, make_message):
    note = make_message(
        ticket, agent, "log", is_internal=True, files=[upload("l.png", png_bytes(), "image/png")]
    )
    attachment = note.attachments.get()
    assert api.as_(customer).get(url(ticket, f"files/{attachment.pk}/")).status_code == 404
    refused = api.as_(customer).post(
        url(ticket, f"messages/{note.pk}/files/"),
        {"file": upload("x.png", png_bytes(), "image/png")},
        format="multipart",
    )
    assert refused.status_code == 404
    assert refused.json()["detail"] == "No such message."


def test_a_file_of_a_refused_type_is_a_415(api, customer, ticket, make_message):
    message = make_message(ticket, customer, "An exe")
    response = api.as_(customer).post(
        url(ticket, f"messages/{message.pk}/files/"),
        {"file": upload("run.exe", b"MZ\x90\x00" + b"\x00" * 200, "application/x-msdownload")},
        format="multipart",
    )
    assert response.status_code == 415, response.json()
    assert response.json()["type"] == "unsupported_media_type"
    assert not Attachment.objects.exists()


def test_a_file_too_large_is_a_413(api, customer, ticket, make_message, settings):
    settings.ATTACHMENT_MAX_BYTES = 50  # the PNG has 73 bytes
    message = make_message(ticket, customer, "Big")
    response = api.as_(customer).post(
        url(ticket, f"messages/{message.pk}/files/"),
        {"file": upload("big.png", png_bytes(), "image/png")},
        format="multipart",
    )
    assert response.status_code == 413
    assert response.json()["type"] == "too_large"
    assert not Attachment.objects.exists()


def test_no_file_is_a_400(api, customer, ticket, make_message):
    message = make_message(ticket, customer, "Nothing")
    response = api.as_(customer).post(
        url(ticket, f"messages/{message.pk}/files/"), {}, format="multipart"
    )
    assert response.status_code == 400
    assert "file" in response.json()["errors"]
