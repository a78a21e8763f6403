"""Files on the admin's ticket page: sent with the reply and the note, listed, removed."""

from __future__ import annotations

from messaging.attachments import attachment_storage
from messaging.models import Attachment
from messaging.services import message_send
from tickets.models import Ticket, TicketEvent
from tickets.tests.test_admin_change_page import change_form_data, change_url, form_errors

from .file_helpers import pdf_upload, png_upload


def test_the_reply_and_the_note_carry_files(login, agent, ticket):
    client = login(agent)
    page = client.get(change_url(ticket))
    assert 'enctype="multipart/form-data"' in page.content.decode()

    response = client.post(
        change_url(ticket),
        {
            **change_form_data(page, reply="See the guide", internal_note="Logs attached"),
            "reply_files": [pdf_upload("guide.pdf")],
            "note_files": [png_upload("graph.png")],
        },
    )

    assert response.status_code == 302
    files = {f.name: f.message for f in Attachment.objects.select_related("message")}
    assert files["guide.pdf"].content == "See the guide"
    assert not files["guide.pdf"].is_internal
    assert files["graph.png"].is_internal


def test_files_without_a_message_are_refused(login, agent, ticket):
    client = login(agent)
    page = client.get(change_url(ticket))
    response = client.post(
        change_url(ticket), {**change_form_data(page), "reply_files": [png_upload()]}
    )
    assert form_errors(response)["reply_files"] == ["Write a message to send these files with."]
    assert not Attachment.objects.exists()


def test_the_page_lists_the_files_and_removes_the_ticked_ones(
    login, agent, customer, ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(
            ticket=ticket,
            sender=customer,
            content="Two files",
            files=[png_upload("keep.png"), pdf_upload("remove-me.pdf")],
        )
    keep, remove = message.attachments.order_by("pk")
    stored = remove.storage_name
    client = login(agent)
    page = client.get(change_url(ticket))
    html = page.content.decode()
    assert f'href="/tickets/{ticket.pk}/files/{keep.pk}/keep.png"' in html
    assert "remove-me.pdf" in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            change_url(ticket), {**change_form_data(page), "remove_files": [str(remove.pk)]}
        )

    assert response.status_code == 302
    remove.refresh_from_db()
    keep.refresh_from_db()
    assert (remove.is_removed, remove.removed_by) == (True, agent)
    assert not keep.is_removed
    assert remove.storage_name == ""
    assert not attachment_storage().exists(stored)
    assert attachment_storage().exists(keep.storage_name)
    assert TicketEvent.objects.filter(kind="file_removed", from_value="remove-me.pdf").exists()
    html = client.get(change_url(ticket)).content.decode()
    assert "“remove-me.pdf”: file removed by agent on" in html


def test_another_tickets_file_cannot_be_removed_from_this_page(
    login, agent, customer, make_ticket, ticket
):
    other = make_ticket(customer)
    message = message_send(ticket=other, sender=customer, content="x", files=[png_upload()])
    client = login(agent)
    page = client.get(change_url(ticket))
    response = client.post(
        change_url(ticket),
        {**change_form_data(page), "remove_files": [str(message.attachments.get().pk)]},
    )
    assert "remove_files" in form_errors(response)
    assert not message.attachments.get().is_removed


def test_deleting_a_ticket_deletes_its_files(
    login, admin_user, customer, ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(ticket=ticket, sender=customer, content="x", files=[png_upload()])
    stored = message.attachments.get().storage_name
    assert attachment_storage().exists(stored)

    with django_capture_on_commit_callbacks(execute=True):
        response = login(admin_user).post(
            f"/admin/tickets/ticket/{ticket.pk}/delete/", {"post": "yes"}
        )

    assert response.status_code == 302
    assert not Ticket.objects.exists()
    assert not Attachment.objects.exists()
    assert not attachment_storage().exists(stored)
