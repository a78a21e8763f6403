"""Inbound email: one door, `ingest(raw_bytes, source=...)`, for mail fetched by IMAP
(messaging.mailbox, `manage.py fetch_mail`) and mail piped in by a mail server
(`manage.py ingest_email`).

Each mail is first stored (an InboundEmail row: its bytes, their SHA-256, its Message-ID), then
classified and applied in a transaction of its own, and the row says what happened: processed
(a new ticket, or a message on one), ignored (an auto-reply, a mailing list, our own mail come
back), bounce, quarantined (refused: a reason says why) or failed (a bug or a broken mail: an
admin action processes it again). One bad mail never stops the others.

Classification comes before any ticket logic, so that no auto-responder, bounce or loop can
open a ticket or make the help desk send anything:

- our own mail: sent from one of our addresses, or with one of our signed Message-IDs;
- bounces: an RFC 3464 delivery report (multipart/report; report-type=delivery-status), mail
  from MAILER-DAEMON or postmaster, an empty return path (`Return-Path: <>`). A bounce of one
  of our mails is recorded on its ticket's timeline and marks the address undeliverable;
- auto-replies and list mail: Auto-Submitted other than "no", X-Autoreply, X-Autorespond,
  Precedence bulk/junk/list/auto_reply, X-Auto-Response-Suppress, List-Id (RFC 3834), and read
  receipts (multipart/report of another type).

Threading, in order: one of our signed Message-IDs in In-Reply-To/References; our signed plus
address in To/Cc/Delivered-To; an inbound Message-ID we stored (a reply to a mail that opened a
ticket, with everyone in copy); `[#id]` in the subject. The sender must be the ticket's reporter
or staff: a mail that names someone else's ticket opens a new ticket instead (anyone who knows a
ticket's number could otherwise write into it).

The text: text/plain when there is one, else the HTML turned into text (never shown as HTML).
A reply keeps its new text: quotes and the signature are cut (mail-parser-reply); the whole
text stays on the InboundEmail row. A new ticket keeps the whole text (a forwarded mail is what
the customer wants looked at). Attachments, and inline images, go through the attachment
checks; a refused one is named in the message.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from mailparser_reply import EmailReplyParser

from accounts.backends import find_user_by_login
from accounts.services import customer_find_or_create, user_mark_undeliverable
from tickets import mail_ids
from tickets.models import Ticket, TicketEvent

from . import attachments
from .attachments import CheckedFile
from .models import InboundEmail, Message
from .services import message_send, ticket_create_with_files

logger = logging.getLogger("helpdesk.inbound")

Status = InboundEmail.Status

# The languages whose "On ... wrote:" lines and signatures the quote cutter knows.
REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "sv", "da", "pl", "cs"]
SUBJECT_TAG = re.compile(r"\[#(\d{1,18})\]")
AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
BOUNCE_SENDERS = {"mailer-daemon", "postmaster"}
CUT_NOTE = "\n\n[…] (cut here: the whole mail is kept with the ticket's inbound email)"


class Refused(Exception):
    """The mail is stored but not applied: quarantined, with this reason."""


@dataclass
class Outcome:
    status: str
    reason: str
    ticket: Ticket | None = None
    message: Message | None = None
    opened_ticket: bool = False


@dataclass
class Body:
    """What a mail says, for a person: its whole text, and its files (checked or refused)."""

    text: str = ""
    files: list[CheckedFile] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


# --- Reading a mail, whatever shape it is in ----------------------------------------------------


def parse(raw: bytes) -> EmailMessage:
    """The mail, parsed as a mail client would (policy.default). Never raises for a malformed
    mail: the parser records defects and goes on."""
    return BytesParser(policy=policy.default).parsebytes(raw)


def clean(text: str) -> str:
    """Text as the database can keep it: undecodable bytes (kept by the parser as surrogates)
    replaced, NUL characters dropped."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def header(mail: EmailMessage, name: str) -> str:
    """One header's value as text ("" when absent). A header the parser cannot make sense of
    (an 8-bit or broken one) is taken as it came."""
    try:
        value = mail.get(name)
    except Exception:  # the header parser's errors are many and undocumented
        lowered = name.lower()
        value = next((v for k, v in mail.raw_items() if k.lower() == lowered), None)
    return "" if value is None else clean(str(value))


def address_of(value: str) -> str:
    """The address in a header value ("Alice <a@example.com>" -> "a@example.com"), lowercased;
    "" when there is none."""
    address = parseaddr(value)[1].strip().lower()
    return address if "@" in address else ""


def addresses_in(mail: EmailMessage, *names: str) -> list[str]:
    values = [header(mail, name) for name in names]
    return [address.lower() for _, address in getaddresses(values) if "@" in address]


def our_addresses() -> set[str]:
    return {
        address
        for address in (
            address_of(settings.DEFAULT_FROM_EMAIL),
            address_of(settings.SERVER_EMAIL),
            address_of(settings.HELPDESK_EMAIL),
        )
        if address
    }


def is_ours(address: str) -> bool:
    """One of the help desk's own addresses, or a plus address of HELPDESK_EMAIL."""
    if address in our_addresses():
        return True
    helpdesk = address_of(settings.HELPDESK_EMAIL)
    if helpdesk:
        local, _, domain = address.rpartition("@")
        ours_local, _, ours_domain = helpdesk.rpartition("@")
        return domain == ours_domain and local.split("+", 1)[0] == ours_local
    return False


def part_text(part: EmailMessage) -> str:
    """A text part's content; a charset nobody knows, or a broken encoding, read as UTF-8 with
    replacement characters rather than refused."""
    try:
        content = part.get_content()
    except Exception:  # LookupError for an unknown charset, and the decoders' own errors
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace")
    return clean(content if isinstance(content, str) else "")


class _HtmlText(HTMLParser):
    """HTML to plain text: the text of the page, a line for each block, without scripts, styles
    or quoted history (blockquote, Gmail's and Outlook's quote containers)."""

    SKIPPED = {"script", "style", "head", "title", "blockquote", "template", "noscript"}
    QUOTE_MARKERS = ("gmail_quote", "divrplyfwdmsg", "moz-cite-prefix", "yahoo_quoted")
    BLOCKS = {
        "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
        "section", "article", "header", "footer", "pre", "hr",
    }  # fmt: skip
    VOID = {"br", "img", "hr", "meta", "link", "input", "col", "area", "base", "wbr", "source"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool]] = []

    def skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS or tag == "br":
            self.parts.append("\n")
        if tag in self.VOID:
            return
        marks = " ".join(f"{value or ''}" for name, value in attrs if name in ("class", "id"))
        skip = tag in self.SKIPPED or any(m in marks.lower() for m in self.QUOTE_MARKERS)
        self.stack.append((tag, skip))
        if tag == "li" and not self.skipping():
            self.parts.append("- ")

    def handle_endtag(self, tag):
        if tag in self.BLOCKS and tag not in ("li", "tr"):  # the next one starts a line
            self.parts.append("\n")
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        if not self.skipping():
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """The readable text of an HTML mail part, as plain text (nothing of it is kept as HTML)."""
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # HTMLParser is lenient; this is for the pathological case
        logger.warning("Could not read an HTML mail part", exc_info=True)
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _leaves(part: EmailMessage):
    """The parts that hold content, in order; a forwarded mail (message/rfc822) is one."""
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        for sub in part.iter_parts():
            yield from _leaves(sub)
    else:
        yield part


def _part_bytes(part: EmailMessage) -> bytes:
    if part.get_content_maintype() == "message":
        try:
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) else inner
            return inner.as_bytes() if hasattr(inner, "as_bytes") else str(inner).encode()
        except Exception:
            return b""
    try:
        return part.get_payload(decode=True) or b""
    except Exception:
        return b""


def _part_name(part: EmailMessage) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name:
        return clean(name)
    if part.get_content_type() == "message/rfc822":
        return "forwarded message.eml"
    return ""


def _text_part(mail: EmailMessage) -> EmailMessage | None:
    try:
        return mail.get_body(preferencelist=("plain", "html"))
    except Exception:  # a structure get_body cannot walk
        return None


def read_body_text(mail: EmailMessage, part: EmailMessage | None = None) -> str:
    """The text of a mail: its text/plain part, else its HTML part as text."""
    part = part if part is not None else _text_part(mail)
    if part is None:
        return ""
    text = part_text(part)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return text.replace("\r\n", "\n").strip()


def read_body(mail: EmailMessage) -> Body:
    """The text (text/plain, else the HTML as text) and the files of a mail."""
    text_part = _text_part(mail)
    body = Body(text=read_body_text(mail, text_part))
    for part in _leaves(mail):
        if part is text_part:
            continue
        name = _part_name(part)
        disposition = part.get_content_disposition()
        if part.get_content_maintype() == "text" and not name and disposition != "attachment":
            continue  # the other version of the body (the HTML of a text mail)
        if part.get_content_maintype() == "multipart":
            continue  # an empty multipart
        data = _part_bytes(part)
        shown = attachments.clean_name(name) if name else "a file without a name"
        if len(body.files) >= settings.ATTACHMENT_MAX_FILES:
            body.refused.append(
                f"“{shown}”: a message may carry at most {settings.ATTACHMENT_MAX_FILES} files."
            )
            continue
        try:
            checked = attachments.check_file(
                io.BytesIO(data), name=name, declared_type=part.get_content_type()
            )
        except ValidationError as exc:
            body.refused.extend(exc.messages)
            continue
        body.files.append(checked)
    return body


def cut_quotes(text: str) -> str:
    """The new text of a reply: without the quoted history and the signature below it. The
    whole text when cutting would leave nothing."""
    try:
        replies = EmailReplyParser(languages=REPLY_LANGUAGES).read(text).replies
    except Exception:
        logger.warning("Could not cut the quotes of a mail", exc_info=True)
        return text
    latest = (replies[0].body or "").strip() if replies else ""
    return latest or text


# --- Classification -------------------------------------------------------------------------


def loop_reason(mail: EmailMessage, sender: str) -> str | None:
    if is_ours(sender):
        return f"sent from our own address {sender}: our own mail came back (a loop)"
    if mail_ids.parse_message_id(header(mail, "Message-ID")) is not None:
        return "it has one of our own Message-IDs: our own mail came back (a loop)"
    return None


def bounce_reason(mail: EmailMessage, sender: str) -> str | None:
    if mail.get_content_type() == "multipart/report":
        report_type = (mail.get_param("report-type") or "").lower()
        if report_type in ("delivery-status", ""):
            return "a delivery status report (multipart/report)"
    if sender.partition("@")[0] in BOUNCE_SENDERS:
        return f"sent by {sender.partition('@')[0].upper()}"
    if header(mail, "Return-Path").strip() == "<>":
        return "an empty return path (Return-Path: <>)"
    return None


def auto_reason(mail: EmailMessage) -> str | None:
    auto_submitted = header(mail, "Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"an automatic mail (Auto-Submitted: {auto_submitted[:50]})"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "List-Id"):
        if header(mail, name).strip():
            return f"an automatic or mailing-list mail ({name})"
    precedence = header(mail, "Precedence").strip().lower()
    if precedence in AUTO_PRECEDENCE:
        return f"an automatic or mailing-list mail (Precedence: {precedence})"
    if mail.get_content_type() == "multipart/report":
        return "a report that is not a bounce (a read receipt)"
    return None


def _delivery_failures(mail: EmailMessage) -> tuple[list[str], str, list[str]]:
    """From a bounce: the addresses that failed, what the server said, and the Message-IDs of
    the mail that bounced (from the returned headers or message)."""
    failed: list[str] = []
    diagnostic = ""
    references: list[str] = []
    for part in mail.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            blocks = part.get_payload()
            for block in blocks if isinstance(blocks, list) else []:
                action = header(block, "Action").strip().lower()
                recipient = header(block, "Final-Recipient") or header(block, "Original-Recipient")
                if recipient and action in ("failed", ""):
                    address = address_of(recipient.rpartition(";")[2].strip())
                    if address:
                        failed.append(address)
                diagnostic = diagnostic or header(block, "Diagnostic-Code").strip()
        elif ctype in ("message/rfc822", "text/rfc822-headers"):
            returned = part.get_payload()
            if isinstance(returned, list) and returned:
                returned = returned[0]
            if isinstance(returned, str):
                returned = parse(returned.encode("utf-8", "replace"))
            if isinstance(returned, EmailMessage):
                references.append(header(returned, "Message-ID"))
                if not failed:
                    failed.extend(addresses_in(returned, "To"))
    references += [header(mail, "In-Reply-To"), header(mail, "References")]
    return failed, " ".join(diagnostic.split())[:300], references


def _apply_bounce(mail: EmailMessage, reason: str) -> Outcome:
    failed, diagnostic, references = _delivery_failures(mail)
    reference = mail_ids.find_reference(*references)
    if reference is None:
        return Outcome(Status.BOUNCE, f"{reason}; not about one of our mails")
    ticket = Ticket.objects.filter(pk=reference.ticket_id).first()
    failed = [address for address in dict.fromkeys(failed) if not is_ours(address)]
    if not failed:
        return Outcome(Status.BOUNCE, f"{reason}; no failed address in it", ticket=ticket)
    said = diagnostic or "the mail server refused it"
    for address in failed:
        user_mark_undeliverable(email=address, reason=said)
        if ticket is not None:
            TicketEvent.objects.create(
                ticket=ticket,
                actor=None,
                kind=TicketEvent.Kind.BOUNCE,
                from_value=said[:150],
                to_value=address[:150],
            )
    where = f" (ticket #{ticket.pk})" if ticket else ""
    return Outcome(
        Status.BOUNCE, f"mail to {', '.join(failed)} bounced{where}: {said}"[:500], ticket=ticket
    )


# --- Threading ----------------------------------------------------------------------------------


def find_ticket(mail: EmailMessage, user) -> tuple[Ticket | None, str]:
    """The ticket a mail answers, and how it was found ("" when none). A ticket found by
    reference whose reporter is not the sender (nor is the sender staff) is returned too: the
    caller refuses it, and says so."""
    in_reply_to, references = header(mail, "In-Reply-To"), header(mail, "References")
    reference = mail_ids.find_reference(in_reply_to, references)
    if reference is not None:
        ticket = Ticket.objects.filter(pk=reference.ticket_id).first()
        if ticket is not None:
            return ticket, "our Message-ID in its references"
    for address in addresses_in(mail, "To", "Cc", "Delivered-To", "X-Original-To"):
        ticket_id = mail_ids.parse_reply_address(address)
        if ticket_id is not None:
            ticket = Ticket.objects.filter(pk=ticket_id).first()
            if ticket is not None:
                return ticket, "the ticket's reply address"
    ids = re.findall(r"<[^<>\s]+>", f"{in_reply_to} {references}")
    if ids:
        earlier = (
            InboundEmail.objects.filter(message_id__in=ids[-50:], ticket__isnull=False)
            .select_related("ticket")
            .order_by("-received_at")
            .first()
        )
        if earlier is not None:
            return earlier.ticket, "a mail it answers"
    for match in SUBJECT_TAG.finditer(header(mail, "Subject")):
        ticket = Ticket.objects.filter(pk=int(match[1])).first()
        # Only the reporter and staff can thread by subject: a number is easy to guess.
        if ticket is not None and user is not None and may_write(user, ticket):
            return ticket, "[#id] in the subject"
    return None, ""


def may_write(user, ticket: Ticket) -> bool:
    return user.is_active and (user.is_staff or user.pk == ticket.reporter_id)


# --- Applying a mail --------------------------------------------------------------------------


def _fit(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - len(CUT_NOTE)].rstrip() + CUT_NOTE


def _with_refusals(text: str, refused: list[str]) -> str:
    if not refused:
        return text
    count = len(refused)
    noun = "file was" if count == 1 else "files were"
    return f"{text}\n\n{count} {noun} not accepted: " + " ".join(refused)


def _check_new_ticket_rate(sender: str) -> None:
    limit = settings.INBOUND_MAX_NEW_PER_HOUR
    since = timezone.now() - timedelta(hours=1)
    opened = InboundEmail.objects.filter(
        from_address=sender, opened_ticket=True, received_at__gte=since
    ).count()
    if opened >= limit:
        raise Refused(
            f"{sender} opened {opened} tickets by mail in the last hour, the most allowed "
            "(INBOUND_MAX_NEW_PER_HOUR)"
        )


def _apply(record: InboundEmail, mail: EmailMessage) -> Outcome:
    sender = record.from_address
    if not sender:
        raise Refused("no sender address (From) to answer")
    if reason := loop_reason(mail, sender):
        return Outcome(Status.IGNORED, reason)
    if reason := bounce_reason(mail, sender):
        return _apply_bounce(mail, reason)
    if reason := auto_reason(mail):
        return Outcome(Status.IGNORED, reason)

    user = find_user_by_login(sender)
    if user is not None and not user.is_active:
        raise Refused(f"{sender} belongs to a deactivated account")
    ticket, how = find_ticket(mail, user)
    note = ""
    if ticket is not None and (user is None or not may_write(user, ticket)):
        note = f"; it names ticket #{ticket.pk} ({how}), which is not {sender}'s"
        ticket = None

    body = read_body(mail)
    if not body.text and not body.files:
        return Outcome(Status.IGNORED, "an empty mail: no text and no files" + note)

    if ticket is not None:
        text = cut_quotes(body.text) if body.text else "(no text: see the files)"
        content = _fit(_with_refusals(text, body.refused), 10_000)
        message = message_send(ticket=ticket, sender=user, content=content, files=body.files)
        return Outcome(
            Status.PROCESSED,
            f"a reply on ticket #{ticket.pk}, found by {how}",
            ticket=ticket,
            message=message,
        )

    _check_new_ticket_rate(sender)
    if user is None:
        if settings.INBOUND_UNKNOWN_SENDERS != "create":
            raise Refused(f"{sender} has no account (INBOUND_UNKNOWN_SENDERS is refuse){note}")
        user, _created = customer_find_or_create(identifier=sender)
    title = " ".join(header(mail, "Subject").split()) or "(no subject)"
    description = body.text or "(no text: see the files)"
    ticket = ticket_create_with_files(
        reporter=user,
        title=title if len(title) <= 200 else title[:199] + "…",
        description=_fit(_with_refusals(description, body.refused), 20_000),
        files=body.files,
    )
    return Outcome(
        Status.PROCESSED, f"a new ticket #{ticket.pk}{note}", ticket=ticket, opened_ticket=True
    )


def _process(record: InboundEmail, mail: EmailMessage) -> None:
    """Classify and apply one stored mail in a savepoint of its own; record the outcome."""
    try:
        with transaction.atomic():
            outcome = _apply(record, mail)
    except (Refused, PermissionDenied) as exc:
        outcome = Outcome(Status.QUARANTINED, str(exc))
    except ValidationError as exc:
        outcome = Outcome(Status.QUARANTINED, "refused: " + "; ".join(exc.messages))
    except Exception as exc:  # a bug or a mail nobody foresaw: stored, to be processed again
        logger.exception("Inbound email #%s could not be processed", record.pk)
        outcome = Outcome(Status.FAILED, f"{type(exc).__name__}: {exc}")
    record.status = outcome.status
    record.reason = clean(outcome.reason)[:500]
    record.ticket = outcome.ticket
    record.reply = outcome.message
    record.opened_ticket = outcome.opened_ticket
    record.processed_at = timezone.now()
    record.save(
        update_fields=["status", "reason", "ticket", "reply", "opened_ticket", "processed_at"]
    )
    if outcome.message is not None:
        Message.objects.filter(pk=outcome.message.pk).update(by_mail=True)


def dedup_key(mail: EmailMessage, raw: bytes) -> str:
    """What makes two deliveries the same mail: its sender, Message-ID, Date and Subject (the
    same mail delivered twice, or by two routes, differs only in the headers added on the way:
    Received, Delivered-To...), or, without a Message-ID, its bytes. Date and Subject keep apart
    two mails a broken mailer gave the same Message-ID."""
    message_id = header(mail, "Message-ID").strip()
    sender = address_of(header(mail, "From"))
    if message_id and sender:
        parts = [sender, message_id, header(mail, "Date").strip(), header(mail, "Subject")]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return hashlib.sha256(raw).hexdigest()


def ingest(raw: bytes, *, source: str) -> tuple[InboundEmail, bool]:
    """Store one mail (its RFC 5322 bytes) and apply it; returns its row and whether it is new.

    A mail stored already (the same sender and Message-ID, or the same bytes) is not stored or
    applied again: its first row is returned. Call it outside a transaction, so that each mail
    commits on its own (what the fetcher relies on before it marks a mail done)."""
    raw = bytes(raw)
    mail = parse(raw)
    message_id = " ".join(header(mail, "Message-ID").split())[:255]
    sender = address_of(header(mail, "From"))[:254]
    key = dedup_key(mail, raw)
    existing = InboundEmail.objects.filter(key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            record = InboundEmail.objects.create(
                key=key,
                sha256=hashlib.sha256(raw).hexdigest(),
                raw=raw,
                size=len(raw),
                message_id=message_id,
                source=source[:100],
                from_address=sender,
                subject=" ".join(header(mail, "Subject").split())[:255],
                text=read_body_text(mail),
                status=Status.FAILED,
                reason="not processed yet",
            )
            _process(record, mail)
    except IntegrityError:
        # The same mail, stored at the same moment by another fetcher: theirs is the one.
        existing = InboundEmail.objects.filter(key=key).first()
        if existing is None:
            raise
        return existing, False
    return record, True


def ingest_failed(raw: bytes, *, source: str, error: Exception) -> tuple[InboundEmail, bool] | None:
    """Store a mail that `ingest` raised for (an error outside its processing, e.g. while
    storing its row): its bytes and what of its headers can be read, failed, the error as its
    reason, so that staff see it and can process it again from the admin. Returns its row and
    whether it is new (as `ingest`), or None when even that cannot be stored: the mail must
    then stay on the server, to be fetched again."""
    raw = bytes(raw)
    digest = hashlib.sha256(raw).hexdigest()
    key, details = digest, {}
    try:
        mail = parse(raw)
        key = dedup_key(mail, raw)
        details = {
            "message_id": " ".join(header(mail, "Message-ID").split())[:255],
            "from_address": address_of(header(mail, "From"))[:254],
            "subject": " ".join(header(mail, "Subject").split())[:255],
        }
    except Exception:
        logger.warning("Could not read the headers of a mail that failed", exc_info=True)
    defaults = {
        "sha256": digest,
        "raw": raw,
        "size": len(raw),
        "source": source[:100],
        "status": Status.FAILED,
        "reason": clean(f"could not be stored whole: {type(error).__name__}: {error}")[:500],
        "processed_at": timezone.now(),
    }
    # With the headers read, then (if those were what the database refused) without them.
    for fields in ({**defaults, **details}, defaults) if details else (defaults,):
        try:
            with transaction.atomic():
                return InboundEmail.objects.get_or_create(key=key, defaults=fields)
        except Exception:
            logger.exception("Could not store a mail that failed, even as failed")
    return None


def ingest_too_large(headers: bytes, *, size: int, source: str) -> tuple[InboundEmail, bool]:
    """Record a mail left on the server for its size (over INBOUND_MAX_BYTES): its headers
    only, quarantined, so that staff can see who wrote it."""
    mail = parse(headers)
    message_id = " ".join(header(mail, "Message-ID").split())[:255]
    sender = address_of(header(mail, "From"))[:254]
    key = dedup_key(mail, headers)
    record, created = InboundEmail.objects.get_or_create(
        key=key,
        defaults={
            "sha256": hashlib.sha256(headers).hexdigest(),
            "raw": headers,
            "size": size,
            "message_id": message_id,
            "source": source[:100],
            "from_address": sender,
            "subject": " ".join(header(mail, "Subject").split())[:255],
            "status": Status.QUARANTINED,
            "reason": (
                f"{size} bytes, over the limit of {settings.INBOUND_MAX_BYTES} "
                "(INBOUND_MAX_BYTES): not downloaded, only its headers are kept"
            ),
            "processed_at": timezone.now(),
        },
    )
    return record, created


def reprocess(record: InboundEmail) -> InboundEmail:
    """Apply a failed mail again (the admin's action), from its stored bytes. Mails with any
    other status are left as they are."""
    with transaction.atomic():
        locked = InboundEmail.objects.select_for_update().get(pk=record.pk)
        if locked.status == Status.FAILED:
            _process(locked, parse(bytes(locked.raw)))
    return locked
