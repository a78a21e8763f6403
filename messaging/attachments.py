"""An attachment's bytes: what they are (sniffed, never taken from the name or the browser), a
clean name to show, and where they are kept (the "attachments" storage in settings.STORAGES).

Used by the attachment services (messaging.services) and by the import (tickets.transfer); the
pages never touch the storage themselves.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import unicodedata
import weakref
from dataclasses import dataclass
from typing import IO

import magic
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

logger = logging.getLogger("helpdesk.attachments")

# Shown in the page as a small preview and served inline; everything else is a download.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# What libmagic may call an allowed file. Source code and other text it recognises (a log with
# a stack trace is "text/x-c" or "text/x-script.python" to it) counts as plain text: ALLOWED_TEXT.
ALLOWED_TYPES: dict[str, str] = {
    "image/png": gettext_lazy("PNG image"),
    "image/jpeg": gettext_lazy("JPEG image"),
    "image/gif": gettext_lazy("GIF image"),
    "image/webp": gettext_lazy("WebP image"),
    "application/pdf": gettext_lazy("PDF document"),
    "text/plain": gettext_lazy("Text"),
    "text/csv": gettext_lazy("CSV table"),
    "application/zip": gettext_lazy("ZIP archive"),
    "application/rtf": gettext_lazy("RTF document"),
    "text/rtf": gettext_lazy("RTF document"),
    "application/msword": gettext_lazy("Word document"),
    "application/vnd.ms-excel": gettext_lazy("Excel spreadsheet"),
    "application/vnd.ms-powerpoint": gettext_lazy("PowerPoint presentation"),
    "application/vnd.ms-office": gettext_lazy("Office document"),
    "application/cdfv2": gettext_lazy("Office document"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": gettext_lazy(
        "Word document"
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": gettext_lazy(
        "Excel spreadsheet"
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        gettext_lazy("PowerPoint presentation")
    ),
    "application/vnd.oasis.opendocument.text": gettext_lazy("OpenDocument text"),
    "application/vnd.oasis.opendocument.spreadsheet": gettext_lazy("OpenDocument spreadsheet"),
    "application/vnd.oasis.opendocument.presentation": gettext_lazy("OpenDocument presentation"),
}
ALLOWED_TEXT_PREFIX = "text/x-"
# Text that a browser would run or render as a page: never plain text, whatever the prefix.
NEVER_TEXT = frozenset({"text/x-php", "text/html", "text/xml", "text/javascript"})
ALLOWED_IN_WORDS = gettext_lazy(
    "images (PNG, JPEG, GIF, WebP), PDF, plain text and logs, CSV, office documents and ZIP"
)
# What the refusal calls the types people most often try.
REFUSED_IN_WORDS = {
    "text/html": gettext_lazy("an HTML page"),
    "image/svg+xml": gettext_lazy("an SVG image"),
    "text/xml": gettext_lazy("an XML document"),
    "application/xml": gettext_lazy("an XML document"),
    "application/x-dosexec": gettext_lazy("a Windows program"),
    "application/x-executable": gettext_lazy("a program"),
    "application/json": gettext_lazy("JSON"),
}
EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
    "text/csv": ".csv",
    "application/zip": ".zip",
}
# libmagic reads the start of a file; office formats are recognised within it.
SNIFF_BYTES = 256 * 1024
NAME_MAX_LENGTH = 150
CHUNK_BYTES = 64 * 1024


def attachment_storage() -> Storage:
    return storages["attachments"]


def type_label(sniffed_type: str) -> str:
    """What a person calls a file of this type ("PNG image")."""
    if sniffed_type.startswith(ALLOWED_TEXT_PREFIX):
        return gettext_lazy("Text")
    return ALLOWED_TYPES.get(sniffed_type, sniffed_type)


def is_allowed(sniffed_type: str) -> bool:
    if sniffed_type in NEVER_TEXT:
        return False
    return sniffed_type in ALLOWED_TYPES or sniffed_type.startswith(ALLOWED_TEXT_PREFIX)


def clean_name(name: str | None, *, sniffed_type: str = "") -> str:
    """The uploaded name as it may be shown and sent back: its last path part only, without
    control, format (bidi overrides, zero-width) or unassigned characters, without leading or
    trailing dots and spaces, at most NAME_MAX_LENGTH characters (the extension kept); an empty
    result becomes "attachment" plus the extension of its sniffed type."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(
        " " if unicodedata.category(char)[0] == "Z" else char
        for char in text
        if unicodedata.category(char)[0] != "C"
    )
    text = " ".join(text.split()).strip(" .")
    if not text:
        return "attachment" + EXTENSIONS.get(sniffed_type, "")
    if len(text) > NAME_MAX_LENGTH:
        stem, dot, extension = text.rpartition(".")
        if dot and stem and len(extension) <= 16:
            keep = NAME_MAX_LENGTH - len(extension) - 1
            text = f"{stem[:keep].rstrip(' .')}.{extension}"
        else:
            text = text[:NAME_MAX_LENGTH].rstrip(" .")
    return text


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed the checks, with what they found out about its bytes."""

    file: File
    name: str
    size: int
    declared_type: str
    sniffed_type: str
    sha256: str


def check_file(
    upload: IO[bytes], *, name: str | None = None, declared_type: str = ""
) -> CheckedFile:
    """Read `upload` once (in chunks: never whole in memory) for its size, SHA-256 and type.

    Raises ValidationError, naming the file, when it is empty, larger than ATTACHMENT_MAX_BYTES
    or of a type that is not allowed (decided from its first bytes by libmagic).
    """
    name = name if name is not None else getattr(upload, "name", "") or ""
    declared_type = declared_type or getattr(upload, "content_type", "") or ""
    shown = clean_name(name)
    limit = settings.ATTACHMENT_MAX_BYTES
    if getattr(upload, "size", None) is not None and upload.size > limit:
        raise _too_large(shown, upload.size)
    if hasattr(upload, "seek"):
        upload.seek(0)
    digest = hashlib.sha256()
    head = b""
    size = 0
    while chunk := upload.read(CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise _too_large(shown, getattr(upload, "size", None) or size)
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        digest.update(chunk)
    if size == 0:
        raise ValidationError(_("“%(name)s” is empty.") % {"name": shown}, code="empty")
    sniffed = magic.from_buffer(head, mime=True).lower()
    if not is_allowed(sniffed):
        what = REFUSED_IN_WORDS.get(sniffed) or _("of type %(type)s") % {"type": sniffed}
        raise ValidationError(
            _(
                "“%(name)s” is %(what)s, a kind of file this help desk does not take (whatever "
                "its name says). It takes %(allowed)s."
            )
            % {"name": shown, "what": what, "allowed": ALLOWED_IN_WORDS},
            code="type",
        )
    upload.seek(0)
    return CheckedFile(
        file=upload if isinstance(upload, File) else File(upload, name=shown),
        name=clean_name(name, sniffed_type=sniffed),
        size=size,
        declared_type=declared_type[:100],
        sniffed_type=sniffed[:100],
        sha256=digest.hexdigest(),
    )


def _too_large(shown: str, size: int) -> ValidationError:
    return ValidationError(
        _("“%(name)s” is %(size)s; a file may be at most %(max)s.")
        % {
            "name": shown,
            "size": filesizeformat(size),
            "max": filesizeformat(settings.ATTACHMENT_MAX_BYTES),
        },
        code="too_large",
    )


def too_many(count: int) -> ValidationError:
    return ValidationError(
        _("That is %(count)d files; a message may carry at most %(max)d.")
        % {"count": count, "max": settings.ATTACHMENT_MAX_FILES},
        code="too_many",
    )


def store(checked: CheckedFile) -> str:
    """Write the file under a new random name; returns that name. Call inside the transaction
    that records it: if that transaction (or a savepoint around this call) is rolled back, the
    file is deleted again (see delete_unless_committed)."""
    token = secrets.token_hex(16)
    checked.file.seek(0)
    stored = attachment_storage().save(f"{token[:2]}/{token}", checked.file)
    delete_unless_committed(stored)
    return stored


def delete_unless_committed(storage_name: str) -> None:
    """Delete the stored file if the current transaction does not commit.

    Django has no rollback hook, but it documents that an on_commit callback registered in a
    transaction (or savepoint) that is rolled back is discarded and never called. The callback
    here only records that the commit happened; when it is let go (run, or discarded with the
    rollback), `weakref.finalize` looks at that record and deletes the file if there was no
    commit. Outside a transaction on_commit runs at once: the file is kept.
    """
    state = {"committed": False}

    def committed() -> None:
        state["committed"] = True

    weakref.finalize(committed, _delete_if_rolled_back, storage_name, state)
    transaction.on_commit(committed)


def _delete_if_rolled_back(storage_name: str, state: dict) -> None:
    if not state["committed"]:
        delete_now(storage_name)


def delete_now(storage_name: str) -> None:
    try:
        attachment_storage().delete(storage_name)
    except Exception:
        # The row is gone or says "removed" either way; a leftover file is logged, not an error.
        logger.exception("could not delete attachment file %s", storage_name)


def delete_after_commit(storage_names: list[str]) -> None:
    """Delete these stored files once the current transaction commits (never if it does not)."""
    names = [name for name in storage_names if name]
    if names:
        transaction.on_commit(lambda: [delete_now(name) for name in names])
