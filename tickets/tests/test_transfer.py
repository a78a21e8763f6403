"""import_tickets on hand-made records: what it refuses, line by line, and what it keeps."""

import copy
import csv
import json
import uuid
from io import StringIO

import pytest

from accounts.models import User
from messaging.models import Message
from tickets.models import Category, Tag, Ticket, TicketEvent
from tickets.transfer import CSV_COLUMNS, content_digest, import_tickets

T0 = "2026-03-02T09:00:00+00:00"
T1 = "2026-03-02T10:30:00.250000+00:00"
T2 = "2026-03-03T08:00:00+00:00"


def user_entry(username: str, *, staff: bool = False) -> dict:
    return {
        "email": f"{username}@example.org",
        "first_name": username.title(),
        "last_name": "",
        "is_active": True,
        "is_staff": staff,
        "is_agent": staff,
    }


def make_record(**changes) -> dict:
    """A valid record of an active ticket: reported by zoe, answered by max."""
    key = str(uuid.uuid4())
    record = {
        "key": key,
        "id": 10**9,
        "title": "Printer on fire",
        "description": "Smoke everywhere.",
        "status": "active",
        "priority": "high",
        "category": "Printers",
        "tags": ["vip", "Toner"],
        "reporter": "zoe",
        "assignee": "max",
        "modified_by": "max",
        "created_at": T0,
        "modified_at": T1,
        "last_activity_at": T1,
        "first_response_at": T1,
        "last_staff_reply_at": T1,
        "reporter_seen_at": None,
        "closed_at": None,
        "version": 4,
        "users": {"max": user_entry("max", staff=True), "zoe": user_entry("zoe")},
        "messages": [
            {
                "key": str(uuid.uuid5(uuid.UUID(key), "message:0")),
                "sender": "max",
                "receiver": "zoe",
                "content": "Unplug it, please.",
                "is_internal": False,
                "created_at": T1,
            }
        ],
        "events": [
            {"actor": "max", "kind": "assignment", "from": "", "to": "max", "created_at": T0},
            {"actor": "max", "kind": "status", "from": "open", "to": "active", "created_at": T0},
        ],
    }
    record.update(changes)
    return record


def jsonl(*records) -> StringIO:
    return StringIO("".join(r if isinstance(r, str) else json.dumps(r) + "\n" for r in records))


def changed(path: str, value):
    """A record with one field changed ("messages.0.content") or removed (value=KeyError)."""
    record = make_record()
    *parents, last = path.split(".")
    target = record
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is KeyError:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return record


def test_a_valid_record_is_imported_with_every_field_as_written(db):
    record = make_record()
    result = import_tickets(jsonl(record), format="jsonl")

    assert (result.imported, result.messages, result.events, result.users) == (1, 1, 2, 2)
    assert result.failed == []
    ticket = Ticket.objects.get(client_token=record["key"])
    assert ticket.status == "active"
    assert ticket.version == 4
    assert ticket.last_activity_at.isoformat() == T1
    assert ticket.first_response_at.isoformat() == T1
    assert ticket.assignee.username == "max"
    message = Message.objects.get(ticket=ticket)
    assert str(message.client_token) == record["messages"][0]["key"]
    assert message.created_at.isoformat() == T1
    assert list(ticket.events.values_list("kind", "created_at")) == [
        ("assignment", ticket.created_at),
        ("status", ticket.created_at),
    ]
    max_ = User.objects.get(username="max")
    assert max_.is_staff and max_.groups.filter(name="Agents").exists()
    assert not max_.has_usable_password()


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("{not json\n", "not valid JSON"),
        ("[1, 2]\n", "the record must be a JSON object"),
        (changed("title", KeyError), "missing field “title”"),
        (changed("status", "pending"), "status “pending” is not one of open, active, closed"),
        (changed("priority", "meh"), "priority “meh” is not one of low, normal, high, urgent"),
        (changed("events.1.kind", "reopen"), "event 2: kind “reopen” is not one of"),
        (changed("events.0.created_at", KeyError), "missing field “created_at” in event 1"),
        (changed("title", "x" * 201), "title: Ensure this value has at most 200 characters"),
        (changed("description", ""), "description:"),
        (changed("closed_at", T2), "closed_at must be set when, and only when, the status"),
        (changed("status", "closed"), "closed_at must be set when, and only when, the status"),
        (changed("version", "4"), "field “version” has the wrong type"),
        (changed("version", True), "field “version” has the wrong type"),
        (changed("key", "not-a-uuid"), "“key” is not a UUID"),
        (changed("created_at", "2026-03-02T09:00:00"), "“created_at” has no time zone"),
        (changed("modified_at", "yesterday"), "“modified_at” is not a date and time"),
        (changed("messages.0.content", ""), "message 1: content:"),
        (changed("messages.0.sender", "ghost"), "message 1 names the user “ghost”"),
    ],
)
def test_a_bad_line_is_reported_by_number_and_leaves_nothing_behind(db, bad, reason):
    first, last = make_record(), make_record()

    result = import_tickets(jsonl(first, "\n", bad, last), format="jsonl")

    [(line, message)] = result.failed
    assert line == 3  # a blank line is skipped, but counted
    assert reason in message
    assert result.imported == 2
    assert Ticket.objects.filter(client_token__in=[first["key"], last["key"]]).count() == 2
    assert Ticket.objects.count() == 2
    assert Message.objects.count() == 2
    assert TicketEvent.objects.count() == 4


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("email", "not-an-email", "user “zoe”: email: Enter a valid email address."),
        ("email", KeyError, "missing field “email” in users → zoe"),
        ("is_staff", "yes", "field “is_staff” in users → zoe has the wrong type"),
    ],
)
def test_a_bad_user_fails_its_line_and_creates_nobody(db, field, value, reason):
    record = make_record()
    if value is KeyError:
        del record["users"]["zoe"][field]
    else:
        record["users"]["zoe"][field] = value
    result = import_tickets(jsonl(record), format="jsonl")
    [(line, message)] = result.failed
    assert line == 1
    assert reason in message
    assert not User.objects.exists()
    assert not Ticket.objects.exists()


def test_users_created_by_a_failed_line_are_rolled_back(db):
    bad = make_record(reporter="newbie", description="")
    bad["users"]["newbie"] = user_entry("newbie")
    result = import_tickets(jsonl(bad, make_record()), format="jsonl")
    assert [line for line, _ in result.failed] == [1]
    assert not User.objects.filter(username="newbie").exists()
    assert result.users == 2  # max and zoe, from the second line


def test_a_user_whose_email_someone_else_has_here_fails_the_line(customer):
    record = make_record()
    record["users"]["zoe"]["email"] = "CUSTOMER@example.com"
    result = import_tickets(jsonl(record), format="jsonl")
    [(line, message)] = result.failed
    assert line == 1
    assert "another user here has the email address" in message
    assert not Ticket.objects.exists()
    assert not User.objects.filter(username__in=["max", "zoe"]).exists()


def test_an_existing_user_is_used_as_they_are(customer):
    record = make_record(reporter="Customer")
    result = import_tickets(jsonl(record), format="jsonl")
    assert result.failed == []
    assert Ticket.objects.get().reporter == customer
    customer.refresh_from_db()
    assert customer.has_usable_password()


def test_a_message_key_that_is_on_another_ticket_here_fails_the_line(db):
    first = make_record()
    second = make_record()
    second["messages"][0]["key"] = first["messages"][0]["key"]
    result = import_tickets(jsonl(first, second), format="jsonl")
    [(line, message)] = result.failed
    assert line == 2
    assert "is here already, on another ticket" in message
    assert Ticket.objects.count() == 1


def test_the_same_ticket_with_another_reporter_is_refused(db):
    record = make_record()
    other = copy.deepcopy(record)
    other["reporter"] = "max"
    other["version"] = 9
    result = import_tickets(jsonl(record, other), format="jsonl")
    [(line, message)] = result.failed
    assert line == 2
    assert "with another reporter, zoe" in message
    assert Ticket.objects.get().version == 4


def test_dry_run_counts_but_writes_nothing(db):
    result = import_tickets(jsonl(make_record(), "{bad\n"), format="jsonl", dry_run=True)
    assert result.imported == 1
    assert [line for line, _ in result.failed] == [2]
    assert not Ticket.objects.exists()
    assert not User.objects.exists()


def test_a_bad_csv_row_is_reported_by_the_line_it_starts_on(db):
    stream = StringIO(newline="")
    writer = csv.DictWriter(stream, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for record in [make_record(description="Two\nlines"), make_record(), make_record()]:
        row = {}
        for column in CSV_COLUMNS:
            value = record.get(column, [])  # a record made before attachments has none
            if column in {"users", "messages", "events", "attachments", "tags"}:
                value = json.dumps(value)
            row[column] = "" if value is None else value
        writer.writerow(row)
    lines = stream.getvalue().splitlines(keepends=True)
    # Header on line 1, the first row on lines 2-3; break the row on line 4.
    lines[3] = lines[3].replace('"[{', '"[{{', 1)
    result = import_tickets(StringIO("".join(lines), newline=""), format="csv")
    [(line, message)] = result.failed
    assert line == 4
    assert "the messages column is not valid JSON" in message
    assert result.imported == 2
    assert Ticket.objects.filter(description="Two\nlines").exists()


def test_a_csv_without_the_columns_fails_on_line_1(db):
    result = import_tickets(StringIO("key,title\nx,y\n"), format="csv")
    [(line, message)] = result.failed
    assert line == 1
    assert "the header lacks the column(s) description" in message
    assert not Ticket.objects.exists()


def test_the_content_digest_ignores_ids_but_not_content(make_ticket, customer):
    ticket = make_ticket(customer)
    before = content_digest()
    assert before["tickets"] == 1
    Ticket.objects.filter(pk=ticket.pk).update(title="Something else")
    assert content_digest()["sha256"] != before["sha256"]


def test_a_category_is_matched_by_name_or_made_and_an_older_file_has_none(db):
    Category.objects.create(name="printers", active=False)
    older = make_record()
    del older["category"]

    result = import_tickets(
        jsonl(make_record(), make_record(category="Network"), older), format="jsonl"
    )

    assert result.imported == 3
    names = [t.category and t.category.name for t in Ticket.objects.order_by("pk")]
    assert names == ["printers", "Network", None]
    assert list(Category.objects.order_by("name").values_list("name", "active")) == [
        ("Network", True),
        ("printers", False),
    ]


def test_a_category_that_is_not_a_name_is_refused(db):
    result = import_tickets(jsonl(make_record(category=["x"])), format="jsonl")

    assert result.imported == 0
    assert [reason for _, reason in result.failed] == ["category must be a name or null"]


def test_tags_are_matched_by_name_or_made_and_an_older_file_has_none(db):
    Tag.objects.create(name="VIP")
    older = make_record()
    del older["tags"]

    result = import_tickets(jsonl(make_record(), older), format="jsonl")

    assert result.imported == 2
    first, second = Ticket.objects.order_by("pk")
    assert first.tag_names == ["Toner", "VIP"]
    assert sorted(first.tags.values_list("name", flat=True)) == ["Toner", "VIP"]
    assert (second.tag_names, second.tags.count()) == ([], 0)


@pytest.mark.parametrize("tags", ["vip", [1], ["x" * 41]])
def test_tags_that_are_not_names_are_refused(db, tags):
    result = import_tickets(jsonl(make_record(tags=tags)), format="jsonl")

    assert result.imported == 0
    assert "tags" in result.failed[0][1]
