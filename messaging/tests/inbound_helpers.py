"""The sample mails (messaging/tests/mail/*.eml, shaped as Gmail, Outlook, Apple Mail and
Thunderbird send them, plus bounces and auto-replies) and what the inbound tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from tickets import mail_ids

MAIL_DIR = Path(__file__).resolve().parent / "mail"
HELPDESK_EMAIL = "support@desk.example.com"
FROM_EMAIL = "helpdesk@desk.example.com"


def sample(name: str, ticket=None, *, bounced_id: str = "") -> bytes:
    """A sample mail's bytes; its placeholders filled in for `ticket` (the references a reply
    to the ticket's emails carries)."""
    raw = (MAIL_DIR / name).read_bytes()
    if ticket is not None:
        raw = (
            raw.replace(b"{{TICKET}}", str(ticket.pk).encode())
            .replace(b"{{REFERENCE}}", mail_ids.thread_root(ticket.pk).encode())
            .replace(b"{{REPLY_ADDRESS}}", mail_ids.reply_address(ticket.pk).encode())
        )
    return raw.replace(b"{{BOUNCED_ID}}", bounced_id.encode())


def mail(
    *,
    sender: str = "customer@example.com",
    subject: str = "Help",
    body: str = "Something is broken.",
    message_id: str | None = "<m1@example.com>",
    headers: dict[str, str] | None = None,
) -> bytes:
    """A plain text mail, for the cases a sample does not need to show."""
    lines = [f"From: {sender}", f"To: {HELPDESK_EMAIL}", f"Subject: {subject}"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines += ["Content-Type: text/plain; charset=utf-8", "", body, ""]
    return "\r\n".join(lines).encode()


@pytest.fixture
def mail_settings(settings):
    settings.HELPDESK_EMAIL = HELPDESK_EMAIL
    settings.DEFAULT_FROM_EMAIL = FROM_EMAIL
    settings.SERVER_EMAIL = FROM_EMAIL
    settings.SITE_URL = "https://desk.example.com"
    return settings
