"""Signed references in the help desk's emails: Message-IDs and the ticket's plus address.

Every ticket email carries a Message-ID `<t12.m34.<signature>@domain>`: ticket 12, message 34
(`m0` is the ticket itself, the root of its thread; `e56` a ticket event, such as a close). When
HELPDESK_EMAIL is set, its Reply-To is the ticket's plus address `support+t12.<signature>@domain`.
The signature is an HMAC of the rest (`t12.m34`, `t12`) under a key derived from SECRET_KEY
(`salted_hmac`, one salt for each kind), so a reply's In-Reply-To, References or To names its
ticket, and nobody can make one up for another ticket. Signatures made with a key in
SECRET_KEY_FALLBACKS still verify, so rotating the key does not orphan the replies to older mail.

The inbound side reads them back: `parse_message_id`, `find_reference` (In-Reply-To, then
References) and `parse_reply_address`, each None for anything we did not sign.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

MESSAGE_ID_SALT = "helpdesk.mail.message-id"
REPLY_ADDRESS_SALT = "helpdesk.mail.reply-address"
# Hex digits of the HMAC-SHA256 kept: 80 bits, short enough for a local part (64 characters).
SIGNATURE_LENGTH = 20
MAX_ID = 2**63 - 1

_MESSAGE_ID = re.compile(
    rf"<?t(?P<ticket>\d{{1,19}})\.(?P<kind>[me])(?P<number>\d{{1,19}})"
    rf"\.(?P<signature>[0-9a-fA-F]{{{SIGNATURE_LENGTH}}})@[^<>@\s]+>?"
)
# A local part may come back in another case (some mail software changes it).
_PLUS_TAG = re.compile(
    rf"t(?P<ticket>\d{{1,19}})\.(?P<signature>[0-9a-f]{{{SIGNATURE_LENGTH}}})", re.IGNORECASE
)
_ANGLE_ADDR = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class MailReference:
    """What a signed Message-ID names: a ticket, and one of its messages (0: the ticket itself)
    or one of its events."""

    ticket_id: int
    message_id: int | None = None
    event_id: int | None = None


def _sign(salt: str, value: str, secret: str | None = None) -> str:
    digest = salted_hmac(salt, value, secret=secret, algorithm="sha256").hexdigest()
    return digest[:SIGNATURE_LENGTH]


def _verify(salt: str, value: str, signature: str) -> bool:
    """Whether `signature` is ours for `value`, under SECRET_KEY or one of its fallbacks."""
    signature = signature.lower()  # mail software may change the case of a local part
    return any(
        constant_time_compare(_sign(salt, value, secret), signature)
        for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    )


def _split_address(address: str) -> tuple[str, str]:
    """(local part, domain) of an address, with or without a display name."""
    local, _, domain = parseaddr(address)[1].rpartition("@")
    return local, domain


def mail_domain() -> str:
    """The domain of our Message-IDs: HELPDESK_EMAIL's, else DEFAULT_FROM_EMAIL's."""
    _, domain = _split_address(settings.HELPDESK_EMAIL or settings.DEFAULT_FROM_EMAIL)
    return domain or "localhost"


def message_id(ticket_id: int, *, message_id: int = 0, event_id: int | None = None) -> str:
    """The signed Message-ID (with its angle brackets) of the email about a ticket's message
    (0: the ticket itself) or, given `event_id`, about one of its events."""
    part = f"e{event_id}" if event_id is not None else f"m{message_id}"
    value = f"t{ticket_id}.{part}"
    return f"<{value}.{_sign(MESSAGE_ID_SALT, value)}@{mail_domain()}>"


def thread_root(ticket_id: int) -> str:
    """The Message-ID every email about the ticket answers (In-Reply-To, References): the
    ticket's own, so mail clients show a ticket's emails as one conversation."""
    return message_id(ticket_id, message_id=0)


def parse_message_id(value: str) -> MailReference | None:
    """What one of our Message-IDs names, or None when it is not ours or its signature does not
    match. The domain is not checked: the signature is what proves it is ours."""
    match = _MESSAGE_ID.fullmatch((value or "").strip())
    if match is None:
        return None
    ticket_id, number = int(match["ticket"]), int(match["number"])
    if not (ticket_id <= MAX_ID and number <= MAX_ID):
        return None
    value = f"t{ticket_id}.{match['kind']}{number}"
    if not _verify(MESSAGE_ID_SALT, value, match["signature"]):
        return None
    if match["kind"] == "e":
        return MailReference(ticket_id=ticket_id, event_id=number)
    return MailReference(ticket_id=ticket_id, message_id=number)


def find_reference(*header_values: str | None) -> MailReference | None:
    """The first of our signed Message-IDs in the given header values, in order: pass a reply's
    In-Reply-To, then its References. None when no id there is ours."""
    for header in header_values:
        for candidate in _ANGLE_ADDR.findall(header or ""):
            reference = parse_message_id(candidate)
            if reference is not None:
                return reference
    return None


def reply_address(ticket_id: int) -> str | None:
    """The ticket's signed plus address on HELPDESK_EMAIL (support+t12.<signature>@domain), or
    None when HELPDESK_EMAIL is not set."""
    local, domain = _split_address(settings.HELPDESK_EMAIL)
    if not (local and domain):
        return None
    value = f"t{ticket_id}"
    return f"{local}+{value}.{_sign(REPLY_ADDRESS_SALT, value)}@{domain}"


def parse_reply_address(address: str) -> int | None:
    """The ticket id in one of our plus addresses, or None: another address, another mailbox's
    plus address, or a signature that does not match. Compared case-insensitively."""
    ours_local, ours_domain = _split_address(settings.HELPDESK_EMAIL)
    local, domain = _split_address(address or "")
    base, plus, tag = local.partition("+")
    if not (ours_local and plus) or base.lower() != ours_local.lower():
        return None
    if domain.lower() != ours_domain.lower():
        return None
    match = _PLUS_TAG.fullmatch(tag)
    if match is None or int(match["ticket"]) > MAX_ID:
        return None
    ticket_id = int(match["ticket"])
    if not _verify(REPLY_ADDRESS_SALT, f"t{ticket_id}", match["signature"]):
        return None
    return ticket_id
