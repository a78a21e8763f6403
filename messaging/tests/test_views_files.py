"""Files on the pages: sending them with a new ticket or a reply, seeing them in the
conversation, and downloading them (who may is tests/test_url_matrix.py's)."""

from __future__ import annotations

import re

import pytest
from django.http import FileResponse

from messaging.models import Attachment, Message
from messaging.services import attachment_remove, message_send
from tickets.models import Ticket
from tickets.tests.page_helpers import client_for, reply_data

from .file_helpers import pdf_bytes, pdf_upload, png_bytes, png_upload, upload

FILE_CSP = "default-src 'none'; sandbox"


def file_url(file: Attachment) -> str:
    return f"/tickets/{file.ticket_id}/files/{file.pk}/{file.name}"


class TestSending:
    def test_a_new_ticket_with_two_files(self, login, customer):
        response = login(customer).post(
            "/tickets/new/",
            {
                "title": "Blank page",
                "description": "See the screenshot",
                "priority": "normal",
                "files": [png_upload("blank.png"), pdf_upload("invoice.pdf")],
            },
        )
        ticket = Ticket.objects.get()
        assert response.status_code == 302
        assert response["Location"] == f"/tickets/{ticket.pk}/"
        assert sorted(ticket.attachments.values_list("name", "message")) == [
            ("blank.png", None),
            ("invoice.pdf", None),
        ]

    def test_a_reply_with_a_file(self, login, ticket, customer):
        response = login(customer).post(
            f"/tickets/{ticket.pk}/reply/", reply_data("Here", files=png_upload("here.png"))
        )
        assert response.status_code == 302
        assert Message.objects.get().attachments.get().name == "here.png"

    def test_an_agents_note_with_a_file(self, login, ticket, agent):
        response = login(agent).post(
            f"/tickets/{ticket.pk}/reply/",
            reply_data("Log", is_internal="on", files=upload("log.txt", b"ERROR\n")),
        )
        assert response.status_code == 302
        note = Message.objects.get()
        assert note.is_internal
        assert note.attachments.get().sniffed_type == "text/plain"

    @pytest.mark.parametrize(
        ("files", "says"),
        [
            ([upload("evil.png", b"<html><script>alert(1)</script></html>")], "is an HTML page"),
            ([upload("empty.txt", b"")], "“empty.txt” is empty."),
            ([png_upload(f"{n}.png") for n in range(11)], "That is 11 files"),
        ],
    )
    def test_a_refused_file_is_explained_next_to_the_field(
        self, login, ticket, customer, files, says
    ):
        text = "Keep this text, please"
        response = login(customer).post(
            f"/tickets/{ticket.pk}/reply/", reply_data(text, files=files)
        )

        assert response.status_code == 400
        assert not Message.objects.exists()
        assert not Attachment.objects.exists()
        form = response.context["reply_form"]
        assert list(form.errors) == ["files"]
        assert says in form.errors["files"][0]
        html = response.content.decode()
        # Under the file field, as crispy puts a field's errors; the reply text is kept.
        field = html[html.index('id="id_files"') :]
        assert says in field
        assert text in html

    def test_a_file_too_large_is_refused_on_the_new_ticket_form(self, settings, login, customer):
        settings.ATTACHMENT_MAX_BYTES = 100
        response = login(customer).post(
            "/tickets/new/",
            {
                "title": "Kept title",
                "description": "Kept description",
                "priority": "high",
                "files": [png_upload("big.png", width=40, height=40)],
            },
        )
        assert response.status_code == 400
        assert not Ticket.objects.exists()
        assert "a file may be at most 100\xa0bytes" in response.context["form"].errors["files"][0]
        html = response.content.decode()
        assert 'value="Kept title"' in html
        assert "Kept description" in html

    def test_the_forms_take_several_files(self, login, ticket, customer):
        client = login(customer)
        for path in ("/tickets/new/", f"/tickets/{ticket.pk}/"):
            html = client.get(path).content.decode()
            assert 'enctype="multipart/form-data"' in html
            field = re.search(r"<input[^>]*type=\"file\"[^>]*>", html).group(0)
            assert "multiple" in field
            assert 'name="files"' in field
            assert 'data-max-files="10"' in field
            assert f'data-max-bytes="{10 * 1024 * 1024}"' in field
            assert "/static/js/attachments.js" in html


class TestConversation:
    @pytest.fixture
    def files(self, ticket, customer, agent):
        reply = message_send(
            ticket=ticket,
            sender=agent,
            content="Guide attached",
            files=[pdf_upload("guide.pdf"), png_upload("arrow.png")],
        )
        note = message_send(
            ticket=ticket,
            sender=agent,
            content="Internal log",
            is_internal=True,
            files=[upload("internal-log.txt", b"ERROR\n")],
        )
        return reply.attachments.order_by("pk"), note.attachments.get()

    def test_the_customer_sees_public_files_with_name_size_and_type(
        self, login, ticket, customer, files
    ):
        (pdf, png), note_file = files
        html = login(customer).get(f"/tickets/{ticket.pk}/").content.decode()

        assert f'href="{file_url(pdf)}" download' in html
        assert "guide.pdf" in html
        assert f"{pdf.size}\xa0bytes · PDF document" in html
        # The image: a preview that opens the full picture.
        assert f'<img src="{file_url(png)}" alt="arrow.png"' in html
        assert "PNG image" in html
        assert "internal-log.txt" not in html
        assert file_url(note_file) not in html

    def test_staff_see_the_notes_files_too(self, login, ticket, agent, files):
        _public, note_file = files
        html = login(agent).get(f"/tickets/{ticket.pk}/").content.decode()
        assert file_url(note_file) in html

    def test_a_removed_file_says_who_removed_it(self, login, ticket, customer, agent, files):
        (pdf, _png), _note = files
        attachment_remove(attachment=pdf, by=agent)
        html = login(customer).get(f"/tickets/{ticket.pk}/").content.decode()
        assert "“guide.pdf”: file removed by agent on" in html
        assert file_url(pdf) not in html
        assert "agent removed the file “guide.pdf”" in html


class TestDownload:
    def test_an_image_is_shown_inline_with_its_sniffed_type(self, login, ticket, customer):
        message = message_send(
            ticket=ticket,
            sender=customer,
            content="x",
            files=[upload("photo.png", png_bytes(), "text/html")],  # the browser's word: wrong
        )
        file = message.attachments.get()

        response = login(customer).get(file_url(file))

        assert response.status_code == 200
        assert isinstance(response, FileResponse)  # streamed from the storage
        assert response["Content-Type"] == "image/png"
        assert response["Content-Disposition"] == 'inline; filename="photo.png"'
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == FILE_CSP
        assert response["Cache-Control"] == "private, no-cache, no-store"
        assert response["ETag"] == f'"{file.sha256}"'
        assert b"".join(response.streaming_content) == png_bytes()

    def test_anything_else_is_a_download(self, login, ticket, customer):
        message = message_send(ticket=ticket, sender=customer, content="x", files=[pdf_upload()])
        response = login(customer).get(file_url(message.attachments.get()))
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
        assert response["Content-Security-Policy"] == FILE_CSP
        assert b"".join(response.streaming_content) == pdf_bytes()

    def test_a_non_ascii_name_is_sent_encoded(self, login, ticket, customer):
        message = message_send(
            ticket=ticket, sender=customer, content="x", files=[pdf_upload("Rechnung März.pdf")]
        )
        response = login(customer).get(file_url(message.attachments.get()))
        assert (
            response["Content-Disposition"]
            == "attachment; filename*=utf-8''Rechnung%20M%C3%A4rz.pdf"
        )

    def test_the_name_in_the_address_decides_nothing(self, login, ticket, customer):
        message = message_send(ticket=ticket, sender=customer, content="x", files=[pdf_upload()])
        file = message.attachments.get()
        response = login(customer).get(f"/tickets/{ticket.pk}/files/{file.pk}/other.html")
        assert response["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
        assert response["Content-Type"] == "application/pdf"

    def test_an_unchanged_file_is_not_sent_again(self, login, ticket, customer):
        message = message_send(ticket=ticket, sender=customer, content="x", files=[png_upload()])
        file = message.attachments.get()
        response = login(customer).get(
            file_url(file), headers={"if-none-match": f'"{file.sha256}"'}
        )
        assert response.status_code == 304
        assert response["Cache-Control"] == "private, no-cache, no-store"

    def test_a_file_missing_from_the_storage_is_a_404(self, login, ticket, customer, caplog):
        message = message_send(ticket=ticket, sender=customer, content="x", files=[png_upload()])
        file = message.attachments.get()
        from messaging.attachments import attachment_storage

        attachment_storage().delete(file.storage_name)
        response = login(customer).get(file_url(file))
        assert response.status_code == 404
        assert "is missing" in caplog.text

    def test_the_other_customer_gets_the_same_404_as_for_a_missing_file(
        self, ticket, customer, other_customer
    ):
        message = message_send(ticket=ticket, sender=customer, content="x", files=[png_upload()])
        file = message.attachments.get()
        client = client_for(other_customer)
        theirs = client.get(file_url(file))
        missing = client.get(f"/tickets/{ticket.pk}/files/999999/x.png")
        assert theirs.status_code == missing.status_code == 404
        token = rb'name="csrfmiddlewaretoken" value="[^"]+"'
        assert re.sub(token, b"", theirs.content) == re.sub(token, b"", missing.content)
