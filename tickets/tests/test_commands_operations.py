"""The ticket lifecycle commands: close_stale_tickets, remove_agent, export_tickets and
import_tickets (their services are in tickets/housekeeping.py, tickets/services.py and
tickets/transfer.py)."""

import csv
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import AGENTS_GROUP, User
from messaging.models import Message
from messaging.services import message_send
from tickets.housekeeping import stale_tickets
from tickets.models import Ticket, TicketEvent
from tickets.services import agent_remove, ticket_assign, ticket_set_priority
from tickets.transfer import content_digest


def run(name: str, *args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def backdate(message: Message, days: float) -> Message:
    """Test data in the past: the message was written `days` days ago."""
    Message.objects.filter(pk=message.pk).update(created_at=days_ago(days))
    message.refresh_from_db()
    return message


@pytest.mark.parametrize(
    ("name", "option"),
    [
        ("close_stale_tickets", "--days"),
        ("remove_agent", "--dry-run"),
        ("export_tickets", "--since"),
        ("import_tickets", "--dry-run"),
    ],
)
def test_help_describes_the_command_and_its_options(name, option):
    command = load_command_class("tickets", name)
    text = " ".join(command.create_parser("manage.py", name).format_help().split())
    assert option in text
    assert len(command.help) > 80


# close_stale_tickets


@pytest.fixture
def waiting(make_ticket, make_message, customer, agent):
    """A ticket assigned to `assignee` whose last public message is staff's, `age` days old."""

    def make(*, age: float = 10, assignee=agent, replier=agent, reporter=customer) -> Ticket:
        ticket = make_ticket(reporter)
        ticket_assign(ticket=ticket, assignee=agent, by=agent)
        backdate(make_message(ticket, reporter, "My printer is on fire."), age + 1)
        backdate(make_message(ticket, replier, "Have you tried turning it off?"), age)
        if assignee != agent:
            ticket_assign(ticket=ticket, assignee=assignee, by=agent)
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.ACTIVE
        return ticket

    return make


def test_it_closes_a_ticket_waiting_on_the_reporter_with_a_message_and_a_system_event(
    waiting, customer, agent, mailoutbox, django_capture_on_commit_callbacks
):
    ticket = waiting(age=8)
    version = ticket.version

    with django_capture_on_commit_callbacks(execute=True):
        out, err = run("close_stale_tickets", "--days", "7")

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.closed_at is not None
    # Closed by the system (the event below has no actor), then the message that says why,
    # whose sender touched the ticket last.
    assert ticket.modified_by == agent
    assert ticket.version == version + 2  # the close, then the message
    message = ticket.messages.order_by("pk").last()
    assert (message.sender, message.receiver, message.is_internal) == (agent, customer, False)
    assert "no reply for 7 days" in message.content
    assert "reply here: your reply reopens the ticket" in message.content
    event = ticket.events.order_by("pk").last()
    assert (event.kind, event.from_value, event.to_value, event.actor) == (
        TicketEvent.Kind.STATUS,
        "active",
        "closed",
        None,
    )
    # One email to the reporter: the message, showing the ticket closed (no second "closed").
    [email] = [m for m in mailoutbox if m.to == [customer.email]]
    assert "no reply for 7 days" in email.body
    assert "Status: Closed" in email.body
    assert f"Closed #{ticket.pk} “{ticket.title}”" in out
    assert "message from agent to customer" in out
    assert out.splitlines()[-1] == (
        "Closed 1 ticket waiting on the reporter for more than 7 days; skipped 0."
    )
    assert err == ""


def test_a_reply_to_the_closing_message_reopens_the_ticket(waiting, customer):
    ticket = waiting()
    run("close_stale_tickets", "--days", "7")
    message_send(ticket=ticket, sender=customer, content="Still broken!")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


def test_it_leaves_tickets_that_do_not_wait_on_the_reporter(
    waiting, make_ticket, make_message, customer, agent, other_agent
):
    recent = waiting(age=3)
    # The customer wrote last: the help desk owes the reply.
    customers_turn = waiting(age=20)
    backdate(make_message(customers_turn, customer, "Any news?"), 15)
    # Staff who reported their own ticket and answered it themselves.
    own = waiting(age=20, reporter=other_agent, replier=other_agent)
    # Open (never assigned) and closed tickets with an old staff reply.
    still_open = make_ticket(customer)
    backdate(make_message(still_open, agent, "We will look at it."), 20)
    closed = waiting(age=20)
    closed.update_status(Ticket.Status.CLOSED, by=agent)
    # No public message at all.
    silent = make_ticket(customer)
    ticket_assign(ticket=silent, assignee=agent, by=agent)
    untouched = [recent, customers_turn, own, still_open, closed, silent]
    before = {t.pk: (t.status, t.version, t.messages.count()) for t in Ticket.objects.all()}

    out, _ = run("close_stale_tickets", "--days", "7")

    after = {t.pk: (t.status, t.version, t.messages.count()) for t in Ticket.objects.all()}
    assert after == before
    assert len(untouched) == Ticket.objects.count()
    assert out == "Closed 0 tickets waiting on the reporter for more than 7 days; skipped 0.\n"


def test_an_internal_note_after_the_staff_reply_does_not_keep_the_ticket_open(
    waiting, make_message, agent
):
    ticket = waiting(age=10)
    make_message(ticket, agent, "Customer is probably on holiday.", is_internal=True)
    run("close_stale_tickets", "--days", "7")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED


def test_without_an_assignee_the_message_comes_from_the_first_active_superuser(
    waiting, agent, admin_user, make_user
):
    inactive_admin = make_user("old_admin", superuser=True)
    inactive_admin.is_active = False
    inactive_admin.save(update_fields=["is_active"])
    unassigned = waiting()
    ticket_assign(ticket=unassigned, assignee=None, by=agent)
    gone = waiting()
    agent_remove(agent=agent)  # unassigns both, and agent is no longer staff

    out, _ = run("close_stale_tickets", "--days", "7")

    for ticket in (unassigned, gone):
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.CLOSED
        assert ticket.messages.order_by("pk").last().sender == admin_user
    assert "message from admin" in out


def test_an_inactive_assignee_does_not_send_the_message(waiting, other_agent, admin_user):
    ticket = waiting(assignee=other_agent)
    other_agent.is_active = False
    other_agent.save(update_fields=["is_active"])
    run("close_stale_tickets", "--days", "7")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.messages.order_by("pk").last().sender == admin_user


def test_with_no_one_to_send_the_message_it_skips_and_reports_the_ticket(waiting, agent):
    ticket = waiting()
    ticket_assign(ticket=ticket, assignee=None, by=agent)
    version = ticket.version
    out, err = run("close_stale_tickets", "--days", "7")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.ACTIVE
    assert ticket.version == version
    assert f"Skipped #{ticket.pk}" in err
    assert "no active staff member to send the closing message as" in err
    assert out.endswith(
        "Closed 0 tickets waiting on the reporter for more than 7 days; skipped 1.\n"
    )


def test_dry_run_lists_the_tickets_and_changes_nothing(waiting):
    ticket = waiting()
    before = (ticket.version, ticket.messages.count(), ticket.events.count())
    out, _ = run("close_stale_tickets", "--days", "7", "--dry-run")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.ACTIVE
    assert (ticket.version, ticket.messages.count(), ticket.events.count()) == before
    assert f"Would close #{ticket.pk}" in out
    assert "(dry run: nothing changed)." in out


@pytest.mark.parametrize("days", ["0", "-3"])
def test_days_must_be_at_least_one(waiting, days):
    ticket = waiting(age=100)
    with pytest.raises(CommandError, match="--days must be 1 or more"):
        run("close_stale_tickets", "--days", days)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.ACTIVE


@pytest.mark.parametrize("count", [1, 5])
def test_the_stale_tickets_are_found_in_one_query(waiting, django_assert_num_queries, count):
    for _ in range(count):
        waiting()
    waiting(age=1)
    with django_assert_num_queries(1):
        found = list(stale_tickets(days=7))
        # What the command prints needs no more queries.
        lines = [(t.reporter.username, t.assignee.username, t.last_public_at) for t in found]
    assert len(lines) == count


# export_tickets and import_tickets


@pytest.fixture
def help_desk(waiting, make_ticket, make_message, customer, other_customer, agent, other_agent):
    """A small help desk with every kind of row the transfer must carry."""
    waiting(age=3)
    unicode_ticket = make_ticket(other_customer, title='Ünïcødé, "quotes", commas\nnewline')
    ticket_assign(ticket=unicode_ticket, assignee=other_agent, by=agent)
    ticket_set_priority(ticket=unicode_ticket, priority="urgent", by=other_agent)
    make_message(unicode_ticket, other_agent, "Checked — it's “fine”.\nSecond line.")
    make_message(unicode_ticket, other_agent, "Internal: not fine.", is_internal=True)
    make_message(unicode_ticket, other_customer, "Thanks")
    unicode_ticket.update_status(Ticket.Status.CLOSED, by=other_customer)
    make_ticket(customer, title="Untouched")
    # An agent who left: their closed ticket keeps them as (non-staff) assignee, and a system
    # event (no actor) is in the trail.
    leaver = User.objects.create_user("leaver", "leaver@example.com", "x", is_staff=True)
    left = make_ticket(customer, title="Left behind")
    ticket_assign(ticket=left, assignee=leaver, by=agent)
    left.update_status(Ticket.Status.CLOSED, by=leaver)
    agent_remove(agent=leaver)
    return content_digest()


def delete_everything() -> None:
    Message.objects.all().delete()
    TicketEvent.objects.all().delete()
    Ticket.objects.all().delete()
    User.objects.all().delete()


@pytest.mark.parametrize("format", ["jsonl", "csv"])
def test_export_then_import_into_an_empty_database_restores_the_same_content(
    help_desk, tmp_path, format
):
    path = tmp_path / f"backup.{format}"
    out, _ = run("export_tickets", "--format", format, "--output", str(path))
    assert out == (
        f"Exported {help_desk['tickets']} tickets ({help_desk['messages']} messages, "
        f"{help_desk['events']} events) as {format} to {path}.\n"
    )
    delete_everything()
    assert content_digest()["tickets"] == 0

    out, err = run("import_tickets", str(path))

    assert content_digest() == help_desk
    assert err == ""
    assert out == (
        f"Imported {help_desk['tickets']} tickets ({help_desk['messages']} messages, "
        f"{help_desk['events']} events, {help_desk['users']} new users); updated 0; "
        "skipped 0 already present; failed 0.\n"
    )
    # Imported users cannot sign in until they set a password; agents are agents again.
    assert not any(user.has_usable_password() for user in User.objects.all())
    assert set(
        User.objects.filter(groups__name=AGENTS_GROUP).values_list("username", flat=True)
    ) == {
        "agent",
        "other_agent",
    }
    assert not User.objects.filter(is_superuser=True).exists()
    assert not User.objects.get(username="leaver").is_staff


def test_importing_the_same_file_twice_creates_nothing_new(help_desk, tmp_path):
    path = tmp_path / "backup.jsonl"
    run("export_tickets", "--output", str(path))
    # Into the database it came from: everything is there already.
    out, _ = run("import_tickets", str(path))
    assert f"skipped {help_desk['tickets']} already present; failed 0." in out
    delete_everything()
    run("import_tickets", str(path))
    counts = (User.objects.count(), Ticket.objects.count(), Message.objects.count())
    events = TicketEvent.objects.count()

    out, _ = run("import_tickets", str(path))

    assert (User.objects.count(), Ticket.objects.count(), Message.objects.count()) == counts
    assert TicketEvent.objects.count() == events
    assert content_digest() == help_desk
    assert out.startswith("Imported 0 tickets (0 messages, 0 events, 0 new users)")


def test_a_later_export_updates_a_ticket_imported_from_an_earlier_one(
    help_desk, tmp_path, customer, agent
):
    first, second = tmp_path / "monday.jsonl", tmp_path / "tuesday.jsonl"
    run("export_tickets", "--output", str(first))
    ticket = Ticket.objects.get(title="Untouched")
    ticket_assign(ticket=ticket, assignee=agent, by=agent)
    message_send(ticket=ticket, sender=agent, content="On it.")
    run("export_tickets", "--output", str(second))
    tuesday = content_digest()
    delete_everything()
    run("import_tickets", str(first))

    out, _ = run("import_tickets", str(second))

    assert "updated 1; skipped" in out
    assert content_digest() == tuesday


def test_since_exports_only_tickets_created_on_or_after_the_date(make_ticket, customer, tmp_path):
    old = make_ticket(customer, title="Old")
    new = make_ticket(customer, title="New")
    Ticket.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    Ticket.objects.filter(pk=new.pk).update(created_at=timezone.now() - timedelta(days=2))
    since = timezone.localdate() - timedelta(days=2)
    path = tmp_path / "recent.jsonl"

    out, _ = run("export_tickets", "--since", since.isoformat(), "--output", str(path))

    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [record["title"] for record in records] == ["New"]
    assert out.startswith("Exported 1 tickets")


def test_since_must_be_a_date(db, tmp_path):
    with pytest.raises(CommandError, match="not a date"):
        run("export_tickets", "--since", "last tuesday", "--output", str(tmp_path / "x.jsonl"))
    assert not (tmp_path / "x.jsonl").exists()


FORMULAS = ['=HYPERLINK("http://evil.example")', "+1+2", "-3+4", "@SUM(A1)", "\tcmd", "\rcmd"]


def read_csv(path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


@pytest.fixture
def formula_tickets(make_ticket, make_message, customer, agent):
    tickets = [make_ticket(customer, title=f"Title {n}") for n in range(len(FORMULAS))]
    for ticket, formula in zip(tickets, FORMULAS, strict=True):
        # Written directly, as an import does: the pages strip a leading tab or line break.
        Ticket.objects.filter(pk=ticket.pk).update(description=formula)
    make_message(tickets[0], agent, "=1+1")
    return tickets


def test_the_csv_backup_keeps_every_cell_exactly_as_stored(formula_tickets, tmp_path):
    path = tmp_path / "backup.csv"

    run("export_tickets", "--format", "csv", "--output", str(path))

    rows = read_csv(path)
    assert [row["description"] for row in rows] == FORMULAS
    assert json.loads(rows[0]["messages"])[0]["content"] == "=1+1"


def test_spreadsheet_safe_prefixes_cells_a_spreadsheet_would_run(formula_tickets, tmp_path):
    path = tmp_path / "for-a-spreadsheet.csv"

    out, _ = run("export_tickets", "--format", "csv", "--spreadsheet-safe", "--output", str(path))

    rows = read_csv(path)
    assert [row["description"] for row in rows] == [f"'{formula}" for formula in FORMULAS]
    # Cells that start with anything else are as stored.
    assert [row["title"] for row in rows] == [f"Title {n}" for n in range(len(FORMULAS))]
    assert {row["status"] for row in rows} == {"open"}
    assert rows[0]["created_at"][:4].isdigit()
    assert json.loads(rows[0]["messages"])[0]["content"] == "=1+1"  # inside a JSON cell
    assert out.startswith(f"Exported {len(FORMULAS)} tickets")


def test_spreadsheet_safe_is_for_csv_only(db, tmp_path):
    with pytest.raises(CommandError, match="--spreadsheet-safe"):
        run("export_tickets", "--spreadsheet-safe", "--output", str(tmp_path / "x.jsonl"))
    assert not (tmp_path / "x.jsonl").exists()


def test_the_help_says_the_csv_is_exact_and_what_spreadsheet_safe_changes():
    command = load_command_class("tickets", "export_tickets")
    text = " ".join(command.create_parser("manage.py", "export_tickets").format_help().split())
    assert "exactly as stored" in text
    assert "--spreadsheet-safe" in text
    assert "not for import_tickets" in text


def test_export_to_standard_output_puts_the_summary_on_standard_error(help_desk):
    out, err = run("export_tickets", "--output", "-")
    assert len(out.splitlines()) == help_desk["tickets"]
    assert err.startswith(f"Exported {help_desk['tickets']} tickets")


def test_a_malformed_line_is_reported_by_number_and_the_good_lines_are_imported(
    help_desk, tmp_path
):
    path = tmp_path / "backup.jsonl"
    run("export_tickets", "--output", str(path))
    lines = path.read_text(encoding="utf-8").splitlines()
    broken = json.loads(lines[1])
    broken["status"] = "pending"
    lines[1] = json.dumps(broken)
    lines.insert(3, "{not json")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    delete_everything()

    with pytest.raises(CommandError) as excinfo:
        run("import_tickets", str(path))

    assert excinfo.value.returncode == 1
    assert "2 line(s)" in str(excinfo.value)
    good = help_desk["tickets"] - 1
    assert Ticket.objects.count() == good
    assert not Ticket.objects.filter(client_token=broken["key"]).exists()


def test_the_import_summary_and_the_failing_line_numbers_are_printed(help_desk, tmp_path):
    path = tmp_path / "backup.jsonl"
    run("export_tickets", "--output", str(path))
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace('"title": ', '"tilte": ')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    delete_everything()
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError):
        call_command("import_tickets", str(path), stdout=out, stderr=err)

    assert err.getvalue() == f"{path}, line 1: missing field “title”\n"
    assert out.getvalue() == (
        f"Imported {help_desk['tickets'] - 1} tickets "
        f"({help_desk['messages'] - len(json.loads(lines[0])['messages'])} messages, "
        f"{help_desk['events'] - len(json.loads(lines[0])['events'])} events, "
        f"{help_desk['users']} new users); updated 0; skipped 0 already present; failed 1.\n"
    )


def test_import_dry_run_checks_everything_and_writes_nothing(help_desk, tmp_path):
    path = tmp_path / "backup.jsonl"
    run("export_tickets", "--output", str(path))
    delete_everything()
    out, _ = run("import_tickets", str(path), "--dry-run")
    assert out.startswith(f"Would import {help_desk['tickets']} tickets")
    assert not Ticket.objects.exists()
    assert not User.objects.exists()


def test_import_of_a_missing_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run("import_tickets", str(tmp_path / "nope.jsonl"))


# remove_agent


def is_agent(user: User) -> bool:
    user.refresh_from_db()
    return user.is_staff and user.groups.filter(name=AGENTS_GROUP).exists()


@pytest.fixture
def agents_tickets(make_ticket, customer, agent, other_agent):
    """Two open tickets of agent's, one closed one, and one of other_agent's."""
    tickets = {}
    for name, assignee in [
        ("first", agent),
        ("second", agent),
        ("closed", agent),
        ("others", other_agent),
    ]:
        ticket = make_ticket(customer, title=name)
        ticket_assign(ticket=ticket, assignee=assignee, by=assignee)
        tickets[name] = ticket
    tickets["closed"].update_status(Ticket.Status.CLOSED, by=agent)
    return tickets


def test_it_removes_staff_and_the_group_and_unassigns_open_tickets_as_the_system(
    agent, other_agent, agents_tickets
):
    first, second = agents_tickets["first"], agents_tickets["second"]
    out, _ = run("remove_agent", "Agent")

    agent.refresh_from_db()
    assert not agent.is_staff
    assert not agent.groups.filter(name=AGENTS_GROUP).exists()
    assert agent.is_active  # the account is kept
    for ticket in (first, second):
        ticket.refresh_from_db()
        assert ticket.assignee is None
        assert ticket.status == Ticket.Status.ACTIVE
        event = ticket.events.order_by("pk").last()
        assert (event.kind, event.from_value, event.to_value, event.actor) == (
            TicketEvent.Kind.ASSIGNMENT,
            "agent",
            "",
            None,
        )
    # History stays: a closed ticket keeps its assignee; other agents' tickets are untouched.
    agents_tickets["closed"].refresh_from_db()
    assert agents_tickets["closed"].assignee == agent
    agents_tickets["others"].refresh_from_db()
    assert agents_tickets["others"].assignee == other_agent
    assert out == (
        "Removed agent from staff and the Agents group and unassigned 2 open tickets "
        f"(#{first.pk}, #{second.pk}).\n"
    )


def test_dry_run_changes_nothing_and_says_what_would_change(agent, agents_tickets):
    events = TicketEvent.objects.count()
    out, _ = run("remove_agent", "agent", "--dry-run")
    assert is_agent(agent)
    assert Ticket.objects.filter(assignee=agent).count() == 3
    assert TicketEvent.objects.count() == events
    assert out.startswith("Would remove agent from staff and the Agents group and unassign 2")
    assert "dry run" in out


def test_it_says_when_the_user_was_not_an_agent(customer):
    out, _ = run("remove_agent", "customer")
    assert out == "customer was not an agent; unassigned 0 open tickets.\n"
    customer.refresh_from_db()
    assert not customer.is_staff


def test_it_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="no user called 'nobody'"):
        run("remove_agent", "nobody")


def test_it_refuses_a_superuser_and_changes_nothing(admin_user, make_ticket, customer):
    ticket = make_ticket(customer)
    ticket_assign(ticket=ticket, assignee=admin_user, by=admin_user)
    with pytest.raises(CommandError, match="superuser"):
        run("remove_agent", "admin")
    admin_user.refresh_from_db()
    assert admin_user.is_staff
    ticket.refresh_from_db()
    assert ticket.assignee == admin_user
