"""export_tickets and import_tickets carry attachments: the bytes beside the records, checked."""

from __future__ import annotations

import hashlib
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from messaging.attachments import attachment_storage
from messaging.models import Attachment, Message
from messaging.services import attachment_remove, message_send, ticket_create_with_files
from messaging.tests.file_helpers import pdf_bytes, pdf_upload, png_bytes, png_upload
from tickets.models import Ticket, TicketEvent
from tickets.transfer import content_digest, import_tickets


def run(name: str, *args) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def delete_everything() -> None:
    Attachment.objects.all().delete()
    Message.objects.all().delete()
    TicketEvent.objects.all().delete()
    Ticket.objects.all().delete()
    User.objects.all().delete()


@pytest.fixture
def with_files(customer, agent):
    """A ticket reported with a screenshot, a reply with a PDF, a note with the same PDF (one
    file in the export) and a removed file."""
    ticket = ticket_create_with_files(
        reporter=customer, title="Blank", description="See", files=[png_upload("shot.png")]
    )
    message_send(ticket=ticket, sender=agent, content="Guide", files=[pdf_upload("guide.pdf")])
    message_send(
        ticket=ticket,
        sender=agent,
        content="Same guide",
        is_internal=True,
        files=[pdf_upload("copy.pdf")],
    )
    gone = message_send(ticket=ticket, sender=customer, content="Oops", files=[png_upload("x.png")])
    attachment_remove(attachment=gone.attachments.get(), by=agent)
    return content_digest()


def stored_bytes() -> dict[str, bytes]:
    storage = attachment_storage()
    result = {}
    for file in Attachment.objects.stored():
        with storage.open(file.storage_name) as stored:
            result[file.name] = stored.read()
    return result


@pytest.mark.parametrize("format", ["jsonl", "csv"])
def test_a_backup_restores_the_files(with_files, tmp_path, format):
    path = tmp_path / f"backup.{format}"
    before = stored_bytes()

    out = run("export_tickets", "--format", format, "--output", str(path))

    assert "4 attachments (2 new files in" in out
    files = tmp_path / f"backup.{format}.files"
    assert sorted(p.name for p in files.iterdir()) == sorted(
        {hashlib.sha256(png_bytes()).hexdigest(), hashlib.sha256(pdf_bytes()).hexdigest()}
    )
    delete_everything()
    # The command's own summary, from a dry run (a real one also runs ANALYZE, whose table
    # sizes outlive the test's transaction on PostgreSQL and change other tests' plans).
    assert "4 attachments" in run("import_tickets", str(path), "--dry-run")
    assert not Attachment.objects.exists()

    with path.open(encoding="utf-8", newline="") as stream:
        result = import_tickets(stream, format=format, files_dir=files)

    assert (result.imported, result.attachments, result.failed) == (1, 4, [])
    assert Ticket.objects.get().has_files  # so its page reads them
    assert content_digest() == with_files
    assert with_files["attachments"] == 4
    assert stored_bytes() == before
    removed = Attachment.objects.get(name="x.png")
    assert (removed.storage_name, removed.removed_by.username) == ("", "agent")
    # Imported again: nothing new.
    with path.open(encoding="utf-8", newline="") as stream:
        again = import_tickets(stream, format=format, files_dir=files)
    assert (again.imported, again.skipped) == (0, 1)
    assert Attachment.objects.count() == 4


def test_a_file_that_is_not_the_one_exported_is_refused(with_files, tmp_path):
    path = tmp_path / "backup.jsonl"
    run("export_tickets", "--output", str(path))
    pdf = tmp_path / "backup.jsonl.files" / hashlib.sha256(pdf_bytes()).hexdigest()
    pdf.write_bytes(pdf_bytes("Tampered"))
    delete_everything()
    before = set(attachment_storage().listdir("")[0])

    with pytest.raises(CommandError):
        run("import_tickets", str(path))

    assert not Ticket.objects.exists()
    assert not Attachment.objects.exists()
    # What the failed record stored was deleted with its rollback.
    folders = set(attachment_storage().listdir("")[0]) - before
    assert all(not attachment_storage().listdir(folder)[1] for folder in folders)


def test_a_record_cannot_smuggle_in_a_type_that_is_not_allowed(customer, tmp_path):
    """A hand-edited backup whose file is an HTML page is refused as an upload would be."""
    html = b"<html><script>alert(1)</script></html>"
    digest = hashlib.sha256(html).hexdigest()
    files = tmp_path / "evil.jsonl.files"
    files.mkdir()
    (files / digest).write_bytes(html)
    ticket = Ticket.objects.create(reporter=customer, title="t", description="d")
    out = StringIO()
    call_command("export_tickets", "--output", str(tmp_path / "one.jsonl"), stdout=out)
    record = json.loads((tmp_path / "one.jsonl").read_text())
    record["attachments"] = [
        {
            "message": None,
            "name": "photo.png",
            "size": len(html),
            "sha256": digest,
            "declared_type": "image/png",
            "sniffed_type": "image/png",
            "uploaded_by": "customer",
            "uploaded_at": record["created_at"],
            "removed_by": None,
            "removed_at": None,
        }
    ]
    record["version"] += 1  # a later export of the same ticket: its new rows are added
    (tmp_path / "evil.jsonl").write_text(json.dumps(record) + "\n")

    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_tickets", str(tmp_path / "evil.jsonl"), stdout=StringIO(), stderr=err)

    assert "is an HTML page" in err.getvalue()
    assert not ticket.attachments.exists()


def test_without_the_files_folder_the_records_with_files_fail(with_files, tmp_path):
    path = tmp_path / "backup.jsonl"
    run("export_tickets", "--output", str(path), "--files", str(tmp_path / "elsewhere"))
    delete_everything()
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_tickets", str(path), stdout=StringIO(), stderr=err)
    assert "is not in" in err.getvalue()
    assert not Ticket.objects.exists()


def test_exporting_files_to_standard_output_needs_a_folder(with_files):
    with pytest.raises(CommandError, match="give a folder for their files"):
        call_command("export_tickets", "--output", "-", stdout=StringIO(), stderr=StringIO())
