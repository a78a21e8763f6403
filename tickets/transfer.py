"""Export and import tickets with their conversations and audit trails (backups, moving hosts).

`manage.py export_tickets` writes, and `manage.py import_tickets` reads, one record per ticket:

JSON Lines (``--format jsonl``): one JSON object per line::

    {"key": "8c0e…",                      the ticket's stable identity (a UUID, see below)
     "id": 17,                            its id in the exported database (informative)
     "title": "…", "description": "…", "status": "open|active|closed",
     "priority": "low|normal|high|urgent", "category": "Billing" or null, "tags": ["vip"],
     "reporter": "alice", "assignee": "erin" or null, "modified_by": "erin" or null,
     "created_at": "2026-01-31T09:15:02.123456+00:00", "modified_at": …,
     "last_activity_at": …, "first_response_at": … or null, "last_staff_reply_at": … or null,
     "reporter_seen_at": … or null, "closed_at": … or null,
     "version": 7,
     "users": {"alice": {"email": "alice@example.com", "first_name": "Alice", "last_name": "",
                         "is_active": true, "is_staff": false, "is_agent": false}, …},
     "messages": [{"key": "…", "sender": "erin", "receiver": "alice" or null,
                   "content": "…", "is_internal": false, "created_at": …}, …],
     "events": [{"actor": "erin" or null,
                 "kind": "status|assignment|priority|category|tag|file_removed|opened_for",
                 "from": "open", "to": "active", "created_at": …}, …],
     "attachments": [{"message": "<message key>" or null (sent with the ticket),
                      "name": "screenshot.png", "size": 48213, "sha256": "9f86…",
                      "declared_type": "image/png", "sniffed_type": "image/png",
                      "uploaded_by": "alice", "uploaded_at": …,
                      "removed_by": "erin" or null, "removed_at": … or null}, …]}

An attachment's bytes are not in the record: the export writes each file once, named by its
SHA-256, into a folder beside the output (``--files``, by default ``<output>.files``), and the
import reads them from there, checks each one's SHA-256 and size against its record and its type
from its bytes (as an upload's), and stores it anew. A removed file has no bytes: its record
alone comes along. A record without ``attachments`` (an export made before there were any) is
read as having none.

CSV (``--format csv``): a header row, then one row per ticket with the same fields as columns;
null is an empty cell, and ``users``, ``messages`` and ``events`` hold the JSON shown above.
Every cell is exactly as stored, so a cell a customer typed as ``=HYPERLINK(...)`` is a formula
to a spreadsheet that opens the file. ``--spreadsheet-safe`` writes a copy for reading in a
spreadsheet instead: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return gets a ``'`` in front (shown as text, not run). That copy is not a backup: imported, its
changed cells would be stored with the ``'``.

Users are named by username; every user a record names is in its ``users`` map, so each record
can be imported on its own into an empty database. Times are ISO 8601 in UTC.

Identity, so that importing the same file twice creates nothing new:

- A ticket's ``key`` is its ``client_token`` when it has one, or else
  ``uuid5(NAMESPACE_URL, "helpdesk-ticket:<SITE_URL>:<id>")``. The export writes nothing; the
  import stores the key as the new ticket's ``client_token``, so a later export of the imported
  database gives the same keys. Imported back into the database it came from, a ticket without
  a ``client_token`` is recognised by its ``id`` (when that ticket's key is the record's key).
- A message's ``key`` is its ``client_token``, or else ``uuid5(<ticket key>, "message:<n>")``
  where n counts the ticket's messages from 0, oldest first; the import stores it likewise, and
  computes the same keys for the messages of a ticket that is here already.
- An event is matched by (ticket, kind, from, to, created_at); an attachment by (ticket, its
  message's key, sha256, uploaded_at).

Import rules:

- A ticket whose key is not here is created with every field from the record, including the
  derived ones (``closed_at``, ``first_response_at``, ``last_activity_at``, ``version``, …), so
  it is exactly as it was. Rows are written directly, not through the services: the history
  happened already, so nobody is emailed and nothing is re-derived.
- A ticket that is here already is skipped, unless the record's ``version`` is higher (a later
  export of the same ticket): then the ticket's fields are updated from the record and the
  messages and events it does not have yet are added.
- A category is matched by name (case-insensitively); a missing one is created, offered. A
  record without ``category`` (a file from before categories) has none. Tags likewise: the
  ticket gets exactly the record's ``tags`` (none when the record has no ``tags``).
- A user is matched by username (case-insensitively); a missing one is created with the
  record's email, names and staff flags and an unusable password (they set one through
  "forgot password"). ``is_superuser`` is never imported; ``is_agent`` puts them in the Agents
  group. An existing user is left as it is.
- Each record is imported in its own transaction: a record that fails (bad JSON, a missing
  field, an unknown status or event kind, a ticket that fails validation, a user whose email
  is taken by another user) is reported with its line number and leaves nothing behind, and
  the other records are still imported.
"""

from __future__ import annotations

import csv
import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import DatabaseError, transaction
from django.db.models import Prefetch, QuerySet

from accounts.models import AGENTS_GROUP, User
from messaging import attachments as attachment_files
from messaging.models import Attachment, Message
from messaging.services import mark_has_files

from .models import Category, Tag, Ticket, TicketEvent
from .services import parse_tags

FORMATS = ("jsonl", "csv")
TICKET_TEXT_FIELDS = ["title", "description", "status", "priority"]
TICKET_USER_FIELDS = ["reporter", "assignee", "modified_by"]
TICKET_TIME_FIELDS = [
    "created_at",
    "modified_at",
    "last_activity_at",
    "first_response_at",
    "last_staff_reply_at",
    "reporter_seen_at",
    "closed_at",
]
REQUIRED_TIMES = {"created_at", "modified_at", "last_activity_at"}
NULLABLE_USERS = {"assignee", "modified_by"}
CSV_COLUMNS = [
    "key",
    *TICKET_TEXT_FIELDS,
    "category",
    "tags",
    *TICKET_USER_FIELDS,
    *TICKET_TIME_FIELDS,
    "version",
    "users",
    "messages",
    "events",
    "attachments",
]
JSON_COLUMNS = {"users", "messages", "events", "attachments", "tags"}
# Not written by exports made before categories, tags or attachments existed: read as none.
OPTIONAL_COLUMNS = {"attachments", "category", "tags"}


# --- Identity ----------------------------------------------------------------------------------


def ticket_key(ticket: Ticket) -> uuid.UUID:
    """The ticket's stable identity across databases (see the module docstring)."""
    if ticket.client_token is not None:
        return ticket.client_token
    return uuid.uuid5(uuid.NAMESPACE_URL, f"helpdesk-ticket:{settings.SITE_URL}:{ticket.pk}")


def message_key(message: Message, *, ticket_key: uuid.UUID, index: int) -> uuid.UUID:
    if message.client_token is not None:
        return message.client_token
    return uuid.uuid5(ticket_key, f"message:{index}")


# --- Export ------------------------------------------------------------------------------------


@dataclass
class ExportResult:
    tickets: int = 0
    messages: int = 0
    events: int = 0
    attachments: int = 0
    files: int = 0  # written to the files folder (each content once)


def tickets_for_export(since: datetime | None = None) -> QuerySet[Ticket]:
    """The tickets (created on or after `since`) with what a record needs, oldest first."""
    tickets = Ticket.objects.all()
    if since is not None:
        tickets = tickets.filter(created_at__gte=since)
    return (
        tickets.select_related("reporter", "assignee", "modified_by", "category")
        .prefetch_related(
            Prefetch(
                "messages",
                queryset=Message.objects.select_related("sender", "receiver").order_by(
                    "created_at", "pk"
                ),
            ),
            Prefetch(
                "events",
                queryset=TicketEvent.objects.select_related("actor").order_by("created_at", "pk"),
            ),
            Prefetch(
                "attachments",
                queryset=Attachment.objects.select_related("uploaded_by", "removed_by").order_by(
                    "uploaded_at", "pk"
                ),
            ),
        )
        .order_by("created_at", "pk")
    )


def _time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _user_entry(user: User, agent_ids: set[int]) -> dict[str, Any]:
    return {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_agent": user.pk in agent_ids,
    }


def ticket_record(ticket: Ticket, *, agent_ids: set[int]) -> dict[str, Any]:
    """One ticket as an export record (messages and events must be prefetched, oldest first)."""
    users: dict[str, dict[str, Any]] = {}

    def name(user: User | None) -> str | None:
        if user is None:
            return None
        users.setdefault(user.username, _user_entry(user, agent_ids))
        return user.username

    key = ticket_key(ticket)
    record: dict[str, Any] = {"key": str(key), "id": ticket.pk}
    for field_name in TICKET_TEXT_FIELDS:
        record[field_name] = getattr(ticket, field_name)
    record["category"] = ticket.category.name if ticket.category_id else None
    record["tags"] = list(ticket.tag_names)
    for field_name in TICKET_USER_FIELDS:
        record[field_name] = name(getattr(ticket, field_name))
    for field_name in TICKET_TIME_FIELDS:
        record[field_name] = _time(getattr(ticket, field_name))
    record["version"] = ticket.version
    message_keys = {
        message.pk: str(message_key(message, ticket_key=key, index=index))
        for index, message in enumerate(ticket.messages.all())
    }
    record["messages"] = [
        {
            "key": message_keys[message.pk],
            "sender": name(message.sender),
            "receiver": name(message.receiver),
            "content": message.content,
            "is_internal": message.is_internal,
            "created_at": _time(message.created_at),
        }
        for index, message in enumerate(ticket.messages.all())
    ]
    record["events"] = [
        {
            "actor": name(event.actor),
            "kind": event.kind,
            "from": event.from_value,
            "to": event.to_value,
            "created_at": _time(event.created_at),
        }
        for event in ticket.events.all()
    ]
    record["attachments"] = [
        {
            "message": message_keys.get(attachment.message_id),
            "name": attachment.name,
            "size": attachment.size,
            "sha256": attachment.sha256,
            "declared_type": attachment.declared_type,
            "sniffed_type": attachment.sniffed_type,
            "uploaded_by": name(attachment.uploaded_by),
            "uploaded_at": _time(attachment.uploaded_at),
            "removed_by": name(attachment.removed_by),
            "removed_at": _time(attachment.removed_at),
            # Not part of the record: where export_tickets reads the bytes.
            "_stored": attachment.storage_name,
        }
        for attachment in ticket.attachments.all()
    ]
    record["users"] = dict(sorted(users.items()))
    return record


def agent_user_ids() -> set[int]:
    return set(User.objects.filter(groups__name=AGENTS_GROUP).values_list("pk", flat=True))


def export_records(since: datetime | None = None) -> Iterator[dict[str, Any]]:
    agent_ids = agent_user_ids()
    for ticket in tickets_for_export(since).iterator(chunk_size=500):
        yield ticket_record(ticket, agent_ids=agent_ids)


def export_tickets(
    stream: TextIO,
    *,
    format: str,
    since: datetime | None = None,
    files_dir: Path | None = None,
    spreadsheet_safe: bool = False,
) -> ExportResult:
    """Write the tickets created on or after `since` (all without it) to `stream`, and the bytes
    of their attachments to `files_dir` (one file per content, named by its SHA-256).

    `format` is "jsonl" or "csv" (open a CSV stream with newline=""). `spreadsheet_safe` (CSV
    only) puts a ' before every cell a spreadsheet would read as a formula; the file is then
    for reading, not for import. Reads only. Returns how many tickets, messages, events and
    attachments were written. Raises ValueError when there are files to write and no
    `files_dir`, or a stored file is not what its record says.
    """
    if format not in FORMATS:
        raise ValueError(f"Unknown format {format!r}: use one of {', '.join(FORMATS)}.")
    if spreadsheet_safe and format != "csv":
        raise ValueError("spreadsheet_safe applies to the csv format only.")
    result = ExportResult()
    writer = None
    if format == "csv":
        writer = csv.DictWriter(stream, fieldnames=CSV_COLUMNS)
        writer.writeheader()
    for record in export_records(since):
        for attachment in record["attachments"]:
            stored = attachment.pop("_stored")
            if stored:
                result.files += _export_file(stored, attachment, files_dir)
        if writer is None:
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            row = _csv_row(record)
            if spreadsheet_safe:
                row = {column: spreadsheet_text(value) for column, value in row.items()}
            writer.writerow(row)
        result.tickets += 1
        result.messages += len(record["messages"])
        result.events += len(record["events"])
        result.attachments += len(record["attachments"])
    return result


def _export_file(stored: str, attachment: dict[str, Any], files_dir: Path | None) -> int:
    """Copy a stored file to files_dir/<sha256> (unless it is there already), in chunks, and
    check its digest on the way. Returns 1 if it wrote the file."""
    if files_dir is None:
        raise ValueError("These tickets have attachments: give a folder for their files.")
    target = files_dir / attachment["sha256"]
    if target.exists() and target.stat().st_size == attachment["size"]:
        return 0
    files_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    with (
        attachment_files.attachment_storage().open(stored, "rb") as source,
        partial.open("wb") as copy,
    ):
        while chunk := source.read(attachment_files.CHUNK_BYTES):
            digest.update(chunk)
            copy.write(chunk)
    if digest.hexdigest() != attachment["sha256"]:
        partial.unlink()
        raise ValueError(
            f"The stored file of “{attachment['name']}” ({stored}) is not what was uploaded: "
            "its SHA-256 differs."
        )
    partial.replace(target)
    return 1


def _csv_row(record: dict[str, Any]) -> dict[str, Any]:
    row = {}
    for column in CSV_COLUMNS:
        value = record[column]
        if column in JSON_COLUMNS:
            value = json.dumps(value, ensure_ascii=False)
        row[column] = "" if value is None else value
    return row


# What a spreadsheet reads as the start of a formula (OWASP's list for CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: Any) -> Any:
    """`value`, with a ' in front when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value


# --- Import ------------------------------------------------------------------------------------


class RecordError(Exception):
    """A record that cannot be imported; the message says why, for a person."""


@dataclass
class ImportResult:
    imported: int = 0
    updated: int = 0
    skipped: int = 0
    messages: int = 0
    events: int = 0
    attachments: int = 0
    users: int = 0
    # (line number, reason) for each record that was not imported.
    failed: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class _LineCounts:
    outcome: str = "imported"
    messages: int = 0
    events: int = 0
    attachments: int = 0
    users: int = 0


def import_tickets(
    stream: TextIO, *, format: str, dry_run: bool = False, files_dir: Path | None = None
) -> ImportResult:
    """Import the records in `stream` (see the module docstring for the format and the rules),
    the bytes of their attachments from `files_dir`.

    Each record goes in its own transaction; a bad one is recorded in `failed` with its line
    number and the rest are still imported (the files it stored are deleted again with its
    rollback). With `dry_run` every record is checked and written, then rolled back. Returns
    the counts.
    """
    if format not in FORMATS:
        raise ValueError(f"Unknown format {format!r}: use one of {', '.join(FORMATS)}.")
    result = ImportResult()
    importer = _Importer(files_dir)
    records = _read_jsonl(stream) if format == "jsonl" else _read_csv(stream)
    for line, record in records:
        try:
            if isinstance(record, RecordError):
                raise record
            with transaction.atomic():
                counts = importer.import_record(record)
                if dry_run:
                    transaction.set_rollback(True)
        except RecordError as exc:
            result.failed.append((line, str(exc)))
            importer.forget_new_users()
            continue
        except ValidationError as exc:
            result.failed.append((line, describe_validation_error(exc)))
            importer.forget_new_users()
            continue
        except DatabaseError as exc:
            result.failed.append((line, f"the database refused it: {exc}"))
            importer.forget_new_users()
            continue
        if dry_run:
            importer.forget_new_users()
        else:
            importer.keep_new_users()
        setattr(result, counts.outcome, getattr(result, counts.outcome) + 1)
        result.messages += counts.messages
        result.events += counts.events
        result.attachments += counts.attachments
        result.users += counts.users
    return result


def describe_validation_error(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


def _read_jsonl(stream: TextIO) -> Iterator[tuple[int, Any]]:
    for line_number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield line_number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield line_number, RecordError(f"not valid JSON ({exc.msg} at column {exc.colno})")


def _read_csv(stream: TextIO) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(stream)
    header = reader.fieldnames or []
    missing = [
        column for column in CSV_COLUMNS if column not in header and column not in OPTIONAL_COLUMNS
    ]
    if missing:
        yield 1, RecordError(f"the header lacks the column(s) {', '.join(missing)}")
        return
    start = reader.line_num + 1
    for row in reader:
        yield start, _csv_record(row)
        start = reader.line_num + 1


def _csv_record(row: dict[str, str]) -> dict[str, Any] | RecordError:
    record: dict[str, Any] = {}
    for column in CSV_COLUMNS:
        value = row.get(column)
        if column in OPTIONAL_COLUMNS and value is None:
            continue
        if column == "tags" and not value:
            record[column] = []
        elif column in JSON_COLUMNS:
            try:
                record[column] = json.loads(value or "")
            except json.JSONDecodeError as exc:
                return RecordError(f"the {column} column is not valid JSON ({exc.msg})")
        elif column == "version":
            try:
                record[column] = int(value or "")
            except ValueError:
                return RecordError(f"version must be a whole number, not {value!r}")
        else:
            record[column] = value if value not in ("", None) else None
    return record


def _get(
    data: dict[str, Any], name: str, kinds: type | tuple[type, ...], *, where: str = ""
) -> Any:
    if not isinstance(data, dict):
        raise RecordError(f"{where or 'the record'} must be a JSON object")
    if name not in data:
        raise RecordError(f"missing field “{name}”{where and ' in ' + where}")
    value = data[name]
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _as_tuple(kinds)):
        raise RecordError(f"field “{name}”{where and ' in ' + where} has the wrong type")
    return value


def _as_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _get_time(data: dict[str, Any], name: str, *, null: bool, where: str = "") -> datetime | None:
    value = _get(data, name, (str, type(None)) if null else str, where=where)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RecordError(f"“{name}”{where and ' in ' + where} is not a date and time") from None
    if moment.tzinfo is None:
        raise RecordError(f"“{name}”{where and ' in ' + where} has no time zone")
    return moment


def _get_uuid(data: dict[str, Any], name: str, *, where: str = "") -> uuid.UUID:
    value = _get(data, name, str, where=where)
    try:
        return uuid.UUID(value)
    except ValueError:
        raise RecordError(f"“{name}”{where and ' in ' + where} is not a UUID") from None


def _check_choice(value: str, choices: list[str], what: str) -> None:
    if value not in choices:
        raise RecordError(f"{what} “{value}” is not one of {', '.join(choices)}")


class _Importer:
    """Imports records one at a time; remembers the users it has resolved between records."""

    def __init__(self, files_dir: Path | None = None) -> None:
        self.files_dir = files_dir
        self.users: dict[str, User] = {}
        self.new_users: dict[str, User] = {}
        self._agents: Group | None = None

    def keep_new_users(self) -> None:
        self.users.update(self.new_users)
        self.new_users.clear()

    def forget_new_users(self) -> None:
        # Their rows were rolled back with the record that created them.
        self.new_users.clear()

    @property
    def agents(self) -> Group:
        if self._agents is None:
            self._agents = Group.objects.get(name=AGENTS_GROUP)
        return self._agents

    def import_record(self, record: Any) -> _LineCounts:
        counts = _LineCounts()
        key = _get_uuid(record, "key")
        values: dict[str, Any] = {}
        for name in TICKET_TEXT_FIELDS:
            values[name] = _get(record, name, str)
        _check_choice(values["status"], Ticket.Status.values, "status")
        _check_choice(values["priority"], Ticket.Priority.values, "priority")
        for name in TICKET_TIME_FIELDS:
            values[name] = _get_time(record, name, null=name not in REQUIRED_TIMES)
        if (values["status"] == Ticket.Status.CLOSED) != (values["closed_at"] is not None):
            raise RecordError("closed_at must be set when, and only when, the status is closed")
        values["version"] = _get(record, "version", int)
        if values["version"] < 1:
            raise RecordError("version must be 1 or more")
        usernames = {
            name: _get(record, name, (str, type(None)) if name in NULLABLE_USERS else str)
            for name in TICKET_USER_FIELDS
        }
        category = record.get("category")
        if not isinstance(category, (str, type(None))):
            raise RecordError("category must be a name or null")
        tag_names = record.get("tags", [])
        if not isinstance(tag_names, list) or not all(isinstance(n, str) for n in tag_names):
            raise RecordError("tags must be a list of names")
        user_specs = _get(record, "users", dict)
        messages = _get(record, "messages", list)
        events = _get(record, "events", list)
        files = _get(record, "attachments", list) if "attachments" in record else []

        ticket = self.find_ticket(key, record.get("id"))
        if ticket is not None:
            if ticket.reporter.username.lower() != usernames["reporter"].lower():
                raise RecordError(
                    f"ticket {key} is here already (#{ticket.pk}) with another reporter, "
                    f"{ticket.reporter.username}"
                )
            if values["version"] <= ticket.version:
                counts.outcome = "skipped"
                return counts
            counts.outcome = "updated"
        else:
            ticket = Ticket(client_token=key)

        def user(username: str | None, where: str) -> User | None:
            if username is None:
                return None
            return self.resolve_user(username, user_specs, counts, where=where)

        for name, value in values.items():
            setattr(ticket, name, value)
        for name, username in usernames.items():
            setattr(ticket, name, user(username, name))
        ticket.category = self.resolve_category(category)
        # The users are this database's own, just resolved; and an assignee need not be staff
        # any more (an agent who left keeps their closed tickets), so limit_choices_to is moot.
        ticket.full_clean(exclude=["client_token", *TICKET_USER_FIELDS], validate_unique=False)
        ticket.save()

        self.set_tags(ticket, tag_names)
        counts.messages = self.add_messages(ticket, key, messages, user)
        counts.events = self.add_events(ticket, events, user)
        counts.attachments = self.add_attachments(ticket, key, files, user)
        self.set_last_public_by(ticket)
        return counts

    @staticmethod
    def set_tags(ticket: Ticket, names: list[str]) -> None:
        """The ticket's tags are the record's (matched or made by name, in any case)."""
        try:
            names = parse_tags(",".join(names))
        except ValidationError as exc:
            raise RecordError(f"tags: {describe_validation_error(exc)}") from None
        tags = []
        for name in names:
            tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
            tags.append(tag)
        ticket.tags.set(tags)
        ticket.tag_names = sorted((tag.name for tag in tags), key=str.casefold)
        ticket.save(update_fields=["tag_names"])

    @staticmethod
    def set_last_public_by(ticket: Ticket) -> None:
        """Who wrote the latest public message, from the messages now here (not in a record:
        it follows from them, as message_send keeps it)."""
        latest = (
            ticket.messages.filter(is_internal=False)
            .order_by("-created_at", "-pk")
            .values_list("sender_id", "sender__is_staff")
            .first()
        )
        if latest is None:
            party = Ticket.Party.NOBODY
        elif latest[1] and latest[0] != ticket.reporter_id:
            party = Ticket.Party.STAFF
        else:
            party = Ticket.Party.CUSTOMER
        if ticket.last_public_by != party:
            ticket.last_public_by = party
            ticket.save(update_fields=["last_public_by"])

    @staticmethod
    def find_ticket(key: uuid.UUID, source_id: Any) -> Ticket | None:
        """The ticket with this key here: by client_token, or (back in the database the file
        came from) the ticket with the record's id, when its derived key is this key."""
        tickets = Ticket.objects.select_for_update().select_related("reporter")
        ticket = tickets.filter(client_token=key).first()
        if ticket is None and isinstance(source_id, int) and not isinstance(source_id, bool):
            candidate = tickets.filter(pk=source_id, client_token__isnull=True).first()
            if candidate is not None and ticket_key(candidate) == key:
                ticket = candidate
        return ticket

    def add_messages(self, ticket: Ticket, key: uuid.UUID, messages: list, user) -> int:
        parsed = []
        for index, data in enumerate(messages):
            where = f"message {index + 1}"
            message = Message(
                ticket=ticket,
                client_token=_get_uuid(data, "key", where=where),
                content=_get(data, "content", str, where=where),
                is_internal=_get(data, "is_internal", bool, where=where),
                created_at=_get_time(data, "created_at", null=False, where=where),
            )
            message.sender = user(_get(data, "sender", str, where=where), where)
            message.receiver = user(_get(data, "receiver", (str, type(None)), where=where), where)
            try:
                message.full_clean(
                    exclude=["ticket", "sender", "receiver", "client_token"],
                    validate_unique=False,
                    validate_constraints=False,
                )
            except ValidationError as exc:
                raise RecordError(f"{where}: {describe_validation_error(exc)}") from None
            parsed.append(message)
        # This ticket's messages, by the keys an export of them would have.
        here = {
            token or uuid.uuid5(key, f"message:{index}")
            for index, token in enumerate(
                ticket.messages.order_by("created_at", "pk").values_list("client_token", flat=True)
            )
        }
        elsewhere = dict(
            Message.objects.filter(client_token__in=[message.client_token for message in parsed])
            .exclude(ticket=ticket)
            .values_list("client_token", "ticket_id")
        )
        new = []
        for message in parsed:
            if message.client_token in elsewhere:
                raise RecordError(
                    f"message {message.client_token} is here already, on another ticket "
                    f"(#{elsewhere[message.client_token]})"
                )
            if message.client_token not in here:
                new.append(message)
        Message.objects.bulk_create(new)
        return len(new)

    def add_events(self, ticket: Ticket, events: list, user) -> int:
        present = set(
            TicketEvent.objects.filter(ticket=ticket).values_list(
                "kind", "from_value", "to_value", "created_at"
            )
        )
        new = []
        for index, data in enumerate(events):
            where = f"event {index + 1}"
            kind = _get(data, "kind", str, where=where)
            _check_choice(kind, TicketEvent.Kind.values, f"{where}: kind")
            event = TicketEvent(
                ticket=ticket,
                kind=kind,
                from_value=_get(data, "from", str, where=where),
                to_value=_get(data, "to", str, where=where),
                created_at=_get_time(data, "created_at", null=False, where=where),
            )
            natural = (event.kind, event.from_value, event.to_value, event.created_at)
            if natural in present:
                continue
            event.actor = user(_get(data, "actor", (str, type(None)), where=where), where)
            try:
                event.full_clean(
                    exclude=["ticket", "actor"], validate_unique=False, validate_constraints=False
                )
            except ValidationError as exc:
                raise RecordError(f"{where}: {describe_validation_error(exc)}") from None
            present.add(natural)
            new.append(event)
        TicketEvent.objects.bulk_create(new)
        return len(new)

    @staticmethod
    def resolve_category(name: str | None) -> Category | None:
        """The category called `name` here (any case), created if there is none."""
        if not name or not name.strip():
            return None
        name = name.strip()
        found = Category.objects.filter(name__iexact=name).first()
        if found is not None:
            return found
        category = Category(name=name)
        try:
            category.full_clean()
        except ValidationError as exc:
            raise RecordError(f"category “{name}”: {describe_validation_error(exc)}") from None
        category.save()
        return category

    def add_attachments(self, ticket: Ticket, key: uuid.UUID, files: list, user) -> int:
        """The attachments this ticket lacks, their bytes from the files folder, checked."""
        if not files:
            return 0
        messages = {
            token or uuid.uuid5(key, f"message:{index}"): pk
            for index, (pk, token) in enumerate(
                ticket.messages.order_by("created_at", "pk").values_list("pk", "client_token")
            )
        }
        keys = {pk: message_key for message_key, pk in messages.items()}
        present = {
            (keys.get(message_id), sha256, uploaded_at)
            for message_id, sha256, uploaded_at in Attachment.objects.filter(
                ticket=ticket
            ).values_list("message_id", "sha256", "uploaded_at")
        }
        added = 0
        for index, data in enumerate(files):
            where = f"attachment {index + 1}"
            message = _get(data, "message", (str, type(None)), where=where)
            message_id = None
            if message is not None:
                message_uuid = _get_uuid(data, "message", where=where)
                if message_uuid not in messages:
                    raise RecordError(f"{where} is on message {message}, which the record lacks")
                message_id = messages[message_uuid]
                message = message_uuid
            sha256 = _get(data, "sha256", str, where=where).lower()
            uploaded_at = _get_time(data, "uploaded_at", null=False, where=where)
            if (message, sha256, uploaded_at) in present:
                continue
            removed_at = _get_time(data, "removed_at", null=True, where=where)
            attachment = Attachment(
                ticket=ticket,
                message_id=message_id,
                name=attachment_files.clean_name(_get(data, "name", str, where=where)),
                size=_get(data, "size", int, where=where),
                sha256=sha256,
                declared_type=_get(data, "declared_type", str, where=where)[:100],
                sniffed_type=_get(data, "sniffed_type", str, where=where)[:100],
                uploaded_by=user(_get(data, "uploaded_by", str, where=where), where),
                uploaded_at=uploaded_at,
                removed_by=user(_get(data, "removed_by", (str, type(None)), where=where), where),
                removed_at=removed_at,
            )
            if removed_at is None:
                with self.checked_file(attachment, where) as checked:
                    # What the bytes are, as this server's libmagic says: not the record's word.
                    attachment.sniffed_type = checked.sniffed_type
                    attachment.storage_name = attachment_files.store(checked)
            attachment.save()
            present.add((message, sha256, uploaded_at))
            added += 1
        if added:
            mark_has_files(ticket)
        return added

    @contextmanager
    def checked_file(
        self, attachment: Attachment, where: str
    ) -> Iterator[attachment_files.CheckedFile]:
        """The attachment's bytes from the files folder, open, checked as an upload is (size,
        type from the bytes) and against the record (SHA-256 and size)."""
        if self.files_dir is None:
            raise RecordError(f"{where} has a file, and no folder of files was given")
        path = self.files_dir / attachment.sha256
        if len(attachment.sha256) != 64 or not path.is_file():
            raise RecordError(
                f"{where}: the file of “{attachment.name}” ({attachment.sha256}) is not in "
                f"{self.files_dir}"
            )
        with path.open("rb") as stream:
            try:
                checked = attachment_files.check_file(File(stream), name=attachment.name)
            except ValidationError as exc:
                raise RecordError(f"{where}: {' '.join(exc.messages)}") from None
            if (checked.sha256, checked.size) != (attachment.sha256, attachment.size):
                raise RecordError(
                    f"{where}: the file of “{attachment.name}” is not the one exported (its "
                    "SHA-256 or size differs)"
                )
            yield checked

    def resolve_user(self, username: str, specs: dict, counts: _LineCounts, *, where: str) -> User:
        """The user called `username` here, created from the record's users map if missing."""
        folded = username.lower()
        known = self.users.get(folded) or self.new_users.get(folded)
        if known is not None:
            return known
        found = User.objects.filter(username__iexact=username).first()
        if found is not None:
            self.users[folded] = found
            return found
        if username not in specs:
            raise RecordError(f"{where} names the user “{username}”, who is not in “users”")
        spec_where = f"users → {username}"
        spec = specs[username]
        new = User(
            username=username,
            email=User.objects.normalize_email(_get(spec, "email", str, where=spec_where)),
            first_name=spec.get("first_name") or "",
            last_name=spec.get("last_name") or "",
        )
        new.is_active = _get(spec, "is_active", bool, where=spec_where)
        new.is_staff = _get(spec, "is_staff", bool, where=spec_where)
        is_agent = _get(spec, "is_agent", bool, where=spec_where)
        new.set_unusable_password()
        try:
            new.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            raise RecordError(f"user “{username}”: {describe_validation_error(exc)}") from None
        if User.objects.filter(email__iexact=new.email).exists():
            raise RecordError(
                f"user “{username}” cannot be created: another user here has the email "
                f"address {new.email}"
            )
        new.save()
        if is_agent:
            new.groups.add(self.agents)
        counts.users += 1
        self.new_users[folded] = new
        return new


# --- Comparing databases -----------------------------------------------------------------------


def content_digest() -> dict[str, Any]:
    """Counts and a SHA-256 of every ticket, message, event and the users they name.

    Built from natural fields only (keys, usernames, times in UTC, text), in a canonical order,
    never from primary keys: two databases with the same help desk in them give the same digest,
    whatever their ids. Used to check that a backup restores what was exported.
    """
    records = sorted(export_records(), key=lambda record: record["key"])
    users: dict[str, dict[str, Any]] = {}
    digest = hashlib.sha256()
    messages = events = 0
    for record in records:
        users.update(record.pop("users"))
        del record["id"]  # a primary key: differs between databases with the same content
        record["messages"].sort(key=lambda m: (m["created_at"], m["key"]))
        record["events"].sort(
            key=lambda e: (e["created_at"], e["kind"], e["from"], e["to"], e["actor"] or "")
        )
        for attachment in record["attachments"]:
            del attachment["_stored"]  # a storage name: differs between copies of a file
        record["attachments"].sort(key=lambda a: (a["uploaded_at"], a["sha256"], a["name"]))
        messages += len(record["messages"])
        events += len(record["events"])
        digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False).encode() + b"\n")
    digest.update(json.dumps(dict(sorted(users.items())), sort_keys=True).encode())
    return {
        "tickets": len(records),
        "messages": messages,
        "events": events,
        "attachments": sum(len(record["attachments"]) for record in records),
        "users": len(users),
        "sha256": digest.hexdigest(),
    }
