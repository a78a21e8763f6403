"""Files on messages: names, types, limits, the services, and no file left behind a rollback."""

from __future__ import annotations

import importlib
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction

from messaging.attachments import attachment_storage, check_file, clean_name
from messaging.models import Attachment, Message
from messaging.services import (
    attachment_add,
    attachment_remove,
    message_send,
    ticket_create_with_files,
)
from tickets.models import Ticket, TicketEvent
from tickets.selectors import ticket_timeline

from .file_helpers import pdf_upload, png_bytes, png_upload, upload


def stored_files() -> set[str]:
    """Every file in the attachments folder, by storage name."""
    storage = attachment_storage()
    names = set()
    folders, _files = storage.listdir("")
    for folder in folders:
        names.update(f"{folder}/{name}" for name in storage.listdir(folder)[1])
    return names


class TestNames:
    @pytest.mark.parametrize(
        ("uploaded", "shown"),
        [
            ("report.pdf", "report.pdf"),
            ("../../etc/passwd", "passwd"),
            ("..\\..\\windows\\win.ini", "win.ini"),
            ("C:\\Users\\me\\Desktop\\shot.png", "shot.png"),
            ("<script>.png", "<script>.png"),  # shown escaped by the templates, never run
            ("invoice\u202egnp.exe", "invoicegnp.exe"),  # right-to-left override removed
            ("a\u200bb\u2066c\ufeff.txt", "abc.txt"),  # zero-width and isolate characters
            ("line\r\nbreak.txt", "linebreak.txt"),
            ("tab\tand\x00nul.txt", "tabandnul.txt"),
            ("wide\u2028line.txt", "wide line.txt"),
            ("  spaced   out  .txt ", "spaced out .txt"),
            ("...", "attachment"),
            ("..", "attachment"),
            ("", "attachment"),
            (".hidden", "hidden"),
        ],
    )
    def test_a_name_is_cleaned(self, uploaded, shown):
        assert clean_name(uploaded) == shown

    def test_an_empty_name_gets_its_types_extension(self):
        assert clean_name("", sniffed_type="image/png") == "attachment.png"
        assert clean_name("\u202e", sniffed_type="application/pdf") == "attachment.pdf"

    def test_a_long_name_is_capped_keeping_its_extension(self):
        cleaned = clean_name("x" * 300 + ".tar.gz")
        assert len(cleaned) == 150
        assert cleaned.endswith("x.gz")
        assert len(clean_name("y" * 300)) == 150


class TestTypes:
    @pytest.mark.parametrize(
        ("name", "data", "sniffed"),
        [
            ("shot.png", png_bytes(), "image/png"),
            ("notes.txt", b"2026-01-01 ERROR disk full\n", "text/plain"),
            ("table.csv", b"name,count\nalice,3\nbob,4\n", "text/csv"),
            ("trace.log", b"#include <stdio.h>\nint main(void) { return 1; }\n", "text/x-c"),
            # The name says nothing: a PNG called .txt is a PNG.
            ("actually-an-image.txt", png_bytes(), "image/png"),
        ],
    )
    def test_allowed_types_are_read_from_the_bytes(self, name, data, sniffed):
        checked = check_file(upload(name, data, "application/x-whatever"))
        assert checked.sniffed_type == sniffed
        assert checked.declared_type == "application/x-whatever"
        assert checked.size == len(data)

    @pytest.mark.parametrize(
        ("data", "words"),
        [
            (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "an HTML page"),
            (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "an SVG image"),
            (b"MZ\x90\x00" + b"\x00" * 60, "a Windows program"),
            (b'<?xml version="1.0"?><a/>', "an XML document"),
        ],
    )
    def test_other_types_are_refused_whatever_the_name(self, data, words):
        with pytest.raises(ValidationError) as refused:
            check_file(upload("harmless.png", data, "image/png"))
        assert refused.value.code == "type"
        assert f"“harmless.png” is {words}" in refused.value.messages[0]

    def test_an_empty_file_is_refused(self):
        with pytest.raises(ValidationError, match=r"“empty.txt” is empty"):
            check_file(upload("empty.txt", b""))

    def test_a_file_over_the_limit_is_refused(self, settings):
        settings.ATTACHMENT_MAX_BYTES = 1000
        with pytest.raises(ValidationError) as refused:
            check_file(upload("big.txt", b"x" * 1001))
        assert refused.value.messages == [
            "“big.txt” is 1001\xa0bytes; a file may be at most 1000\xa0bytes."
        ]
        # A stream whose size is not known beforehand is counted as it is read.
        with pytest.raises(ValidationError) as refused:
            check_file(io.BytesIO(b"x" * 1001), name="stream.txt")
        assert refused.value.code == "too_large"
        assert check_file(upload("fits.txt", b"x" * 1000)).size == 1000


class TestAdding:
    def test_a_reply_with_files_stores_them_all(self, ticket, customer):
        message = message_send(
            ticket=ticket,
            sender=customer,
            content="Screenshot attached",
            files=[png_upload("shot.png"), pdf_upload("invoice.pdf")],
        )

        files = list(message.attachments.order_by("pk"))
        assert [(f.name, f.sniffed_type) for f in files] == [
            ("shot.png", "image/png"),
            ("invoice.pdf", "application/pdf"),
        ]
        for file in files:
            assert file.ticket == ticket
            assert file.uploaded_by == customer
            assert file.uploaded_at == message.created_at
            assert len(file.storage_name) == 35  # "ab/" + 32 hex digits, nothing of the name
            assert "shot" not in file.storage_name
            with attachment_storage().open(file.storage_name) as stored:
                assert len(stored.read()) == file.size

    def test_a_refused_file_stores_neither_the_message_nor_any_file(self, ticket, customer):
        before = stored_files()
        with pytest.raises(ValidationError) as refused:
            message_send(
                ticket=ticket,
                sender=customer,
                content="Two files",
                files=[png_upload("fine.png"), upload("page.png", b"<html><script>x</script>")],
            )
        assert list(refused.value.message_dict) == ["files"]
        assert not Message.objects.exists()
        assert not Attachment.objects.exists()
        assert stored_files() == before

    def test_too_many_files_are_refused(self, settings, ticket, customer):
        settings.ATTACHMENT_MAX_FILES = 2
        with pytest.raises(
            ValidationError, match=r"That is 3 files; a message may carry at most 2"
        ):
            message_send(
                ticket=ticket,
                sender=customer,
                content="Three files",
                files=[png_upload(f"{n}.png") for n in range(3)],
            )
        message = message_send(
            ticket=ticket, sender=customer, content="Two", files=[png_upload(), png_upload()]
        )
        with pytest.raises(ValidationError, match=r"a message may carry at most 2"):
            attachment_add(ticket=ticket, message=message, upload=png_upload(), by=customer)
        assert message.attachments.count() == 2

    def test_files_go_on_your_own_messages_only(self, ticket, customer, agent):
        reply = message_send(ticket=ticket, sender=agent, content="Hello")
        with pytest.raises(PermissionDenied):
            attachment_add(ticket=ticket, message=reply, upload=png_upload(), by=customer)

    def test_an_internal_notes_files_are_internal(self, ticket, agent, customer):
        note = message_send(
            ticket=ticket, sender=agent, content="Log", is_internal=True, files=[png_upload()]
        )
        file = note.attachments.get()
        assert list(Attachment.objects.visible_to(agent)) == [file]
        assert list(Attachment.objects.visible_to(customer)) == []

    def test_a_new_ticket_with_files(self, customer):
        ticket = ticket_create_with_files(
            reporter=customer,
            title="Broken",
            description="See the screenshot",
            files=[png_upload("broken.png")],
        )
        file = ticket.attachments.get()
        assert (file.message, file.name, file.uploaded_by) == (None, "broken.png", customer)

    def test_a_repeated_new_ticket_form_stores_its_files_once(self, customer):
        fields = {"reporter": customer, "title": "Twice", "description": "Double click"}
        token = "5b0fa2a0-6d2b-4a34-9e68-9d43c3c5e4f1"
        first = ticket_create_with_files(files=[png_upload()], client_token=token, **fields)
        again = ticket_create_with_files(files=[png_upload()], client_token=token, **fields)
        assert again == first
        assert first.attachments.count() == 1

    def test_a_repeated_reply_form_stores_its_files_once(self, ticket, customer):
        token = "0c4e5e5e-1b1b-4c4c-8d8d-000000000001"
        first = message_send(
            ticket=ticket, sender=customer, content="Hi", client_token=token, files=[png_upload()]
        )
        again = message_send(
            ticket=ticket, sender=customer, content="Hi", client_token=token, files=[png_upload()]
        )
        assert again == first
        assert Attachment.objects.count() == 1


class TestNoOrphans:
    """A file written in a transaction that is rolled back is deleted again."""

    def test_a_rollback_after_the_service_deletes_its_files(self, ticket, customer):
        before = stored_files()
        with pytest.raises(RuntimeError), transaction.atomic():
            message_send(ticket=ticket, sender=customer, content="x", files=[png_upload()])
            written = stored_files() - before
            assert len(written) == 1  # on disk until the rollback
            raise RuntimeError("the caller's own failure, after the service returned")
        assert stored_files() == before
        assert not Attachment.objects.exists()

    def test_a_refusal_later_in_the_transaction_deletes_the_files_written(
        self, settings, ticket, customer
    ):
        settings.ATTACHMENT_MAX_FILES = 1
        before = stored_files()
        # The first file is written; the second is refused (one too many for the message),
        # which rolls back the message and the first file's row: its bytes go too.
        with pytest.raises(ValidationError), transaction.atomic():
            message = message_send(ticket=ticket, sender=customer, content="x")
            attachment_add(ticket=ticket, message=message, upload=png_upload(), by=customer)
            assert len(stored_files() - before) == 1
            attachment_add(ticket=ticket, message=message, upload=png_upload(), by=customer)
        assert stored_files() == before

    def test_a_committed_file_stays(self, ticket, customer, django_capture_on_commit_callbacks):
        before = stored_files()
        with django_capture_on_commit_callbacks(execute=True):
            message_send(ticket=ticket, sender=customer, content="x", files=[png_upload()])
        assert len(stored_files() - before) == 1


class TestRemoving:
    def test_staff_remove_a_file(self, ticket, customer, agent, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            message = message_send(
                ticket=ticket, sender=customer, content="x", files=[png_upload("secret.png")]
            )
        file = message.attachments.get()
        stored = file.storage_name
        assert stored in stored_files()

        with django_capture_on_commit_callbacks(execute=True):
            event = attachment_remove(attachment=file, by=agent)

        file.refresh_from_db()
        assert (file.storage_name, file.removed_by) == ("", agent)
        assert file.removed_at == event.created_at
        assert stored not in stored_files()
        assert (event.kind, event.from_value, event.to_value, event.actor) == (
            TicketEvent.Kind.FILE_REMOVED,
            "secret.png",
            "",
            agent,
        )
        timeline = [row["description"] for row in ticket_timeline(ticket, staff=False)]
        assert "removed the file “secret.png”" in timeline
        assert attachment_remove(attachment=file, by=agent) is None  # already removed

    def test_a_notes_file_removal_is_shown_to_staff_only(self, ticket, agent, customer):
        note = message_send(
            ticket=ticket, sender=agent, content="x", is_internal=True, files=[png_upload("n.png")]
        )
        attachment_remove(attachment=note.attachments.get(), by=agent)
        staff_sees = [row["description"] for row in ticket_timeline(ticket, staff=True)]
        assert "removed the file “n.png” from an internal note" in staff_sees
        customer_sees = [row["description"] for row in ticket_timeline(ticket, staff=False)]
        assert not any("n.png" in line for line in customer_sees)

    def test_customers_may_not_remove_files(self, ticket, customer):
        message = message_send(ticket=ticket, sender=customer, content="x", files=[png_upload()])
        with pytest.raises(PermissionDenied):
            attachment_remove(attachment=message.attachments.get(), by=customer)
        assert not message.attachments.get().is_removed

    def test_a_rolled_back_removal_keeps_the_bytes(self, ticket, customer, agent):
        message = message_send(ticket=ticket, sender=customer, content="x", files=[png_upload()])
        file = message.attachments.get()
        with pytest.raises(RuntimeError), transaction.atomic():
            attachment_remove(attachment=file, by=agent)
            raise RuntimeError
        file.refresh_from_db()
        assert not file.is_removed
        assert file.storage_name in stored_files()


def test_the_backfill_marks_the_tickets_that_have_files(customer, make_ticket):
    """messaging 0004's SQL, run again on tickets whose flag is off."""
    backfill = importlib.import_module("messaging.migrations.0004_has_files_backfill")
    with_file = ticket_create_with_files(
        reporter=customer, title="Logs", description="Attached.", files=[pdf_upload()]
    )
    plain = make_ticket(customer)
    Ticket.objects.update(has_files=False)

    with connection.cursor() as cursor:
        cursor.execute(backfill.Migration.operations[0].sql)

    assert set(Ticket.objects.filter(has_files=True)) == {with_file}
    assert not Ticket.objects.get(pk=plain.pk).has_files
