"""The seed_demo command, and that the demo history obeys the rules the services apply."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.db.models import Count, Max, Q

from messaging.models import Message
from tickets.demo import DEMO_USERS
from tickets.models import Ticket, TicketEvent

User = get_user_model()
DEMO_USERNAMES = [username for username, *_ in DEMO_USERS]


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(db) -> str:
    return seed()


def test_it_creates_the_demo_logins_and_60_tickets_and_prints_the_logins(seeded):
    users = {u.username: u for u in User.objects.filter(username__in=DEMO_USERNAMES)}
    assert sorted(users) == sorted(DEMO_USERNAMES)
    assert Ticket.objects.count() == 60
    for username, _email, password, role in DEMO_USERS:
        user = users[username]
        assert user.check_password(password)
        assert user.is_staff == (role in {"agent", "admin"})
        assert user.is_superuser == (role == "admin")
        assert user.groups.filter(name="Agents").exists() == (role == "agent")
        assert username in seeded and password in seeded
    assert "60 tickets (60 new" in seeded
    assert Message.objects.exists()
    assert TicketEvent.objects.exists()


def test_running_it_twice_creates_nothing_new(seeded):
    counts = (User.objects.count(), Ticket.objects.count(), Message.objects.count())
    events = TicketEvent.objects.count()
    out = seed("--quiet-logins")
    assert (User.objects.count(), Ticket.objects.count(), Message.objects.count()) == counts
    assert TicketEvent.objects.count() == events
    assert "0 new" in out
    assert "Demo logins" not in out


def test_tickets_option_tops_up_to_the_number_asked(seeded):
    users = User.objects.count()
    out = seed("--tickets", "500", "--quiet-logins")
    assert Ticket.objects.count() == 500
    assert "500 tickets (440 new" in out
    assert User.objects.count() == users
    # Asking for fewer than exist deletes nothing.
    seed("--tickets", "10", "--quiet-logins")
    assert Ticket.objects.count() == 500


@pytest.mark.parametrize("args", [["--tickets", "-1"], ["--days", "0"]])
def test_it_refuses_bad_arguments(db, args):
    with pytest.raises(SystemExit):
        call_command("seed_demo", *args, stdout=StringIO(), stderr=StringIO())
    assert not Ticket.objects.exists()


# The generated history obeys METRICS.md.


def test_demo_history_has_every_kind_of_ticket(seeded):
    statuses = set(Ticket.objects.values_list("status", flat=True))
    assert statuses == {"open", "active", "closed"}
    assert Ticket.objects.filter(first_response_at__isnull=False).exists()
    assert Message.objects.filter(is_internal=True).exists()


def test_every_closed_ticket_has_closed_at_of_its_latest_close(seeded):
    latest_close = dict(
        TicketEvent.objects.filter(kind="status", to_value="closed")
        .values("ticket")
        .annotate(at=Max("created_at"))
        .values_list("ticket", "at")
    )
    closed = Ticket.objects.filter(status="closed")
    assert closed.exists()
    for ticket in closed:
        assert ticket.closed_at == latest_close[ticket.pk], ticket
    assert not Ticket.objects.exclude(status="closed").filter(closed_at__isnull=False).exists()


def test_first_response_is_the_earliest_public_message_by_staff_other_than_the_reporter(seeded):
    for ticket in Ticket.objects.all():
        first_reply = (
            ticket.messages.filter(is_internal=False, sender__is_staff=True)
            .exclude(sender=ticket.reporter_id)
            .order_by("created_at", "pk")
            .first()
        )
        expected = first_reply.created_at if first_reply else None
        assert ticket.first_response_at == expected, ticket


def test_status_is_the_latest_status_event_or_open(seeded):
    tickets = Ticket.objects.annotate(
        status_events=Count("events", filter=Q(events__kind="status"))
    ).order_by("pk")
    assert any(t.status_events == 0 for t in tickets)
    for ticket in tickets:
        latest = ticket.events.filter(kind="status").order_by("created_at", "pk").last()
        assert ticket.status == (latest.to_value if latest else "open"), ticket


def test_status_events_chain_and_messages_name_the_right_receiver(seeded):
    for ticket in Ticket.objects.select_related("reporter"):
        previous = "open"
        for event in ticket.events.filter(kind="status").order_by("created_at", "pk"):
            assert event.from_value == previous, ticket
            assert (event.from_value, event.to_value) in {
                ("open", "active"),
                ("open", "closed"),
                ("active", "open"),
                ("active", "closed"),
                ("closed", "open"),
            }
            previous = event.to_value
        for message in ticket.messages.select_related("sender"):
            if message.is_internal:
                assert message.receiver_id is None
            elif message.sender.is_staff:
                assert message.receiver_id == ticket.reporter_id


# seed_demo --reset


@pytest.fixture
def debug_on(settings):
    # pytest-django runs tests with DEBUG off; --reset is for development databases.
    settings.DEBUG = True


@pytest.fixture
def cluttered(seeded, other_customer, make_ticket, make_user):
    """The demo, plus a real user's ticket, a bulk customer and look-alikes that must stay."""
    make_ticket(other_customer)
    bulk = make_user("customer000001")
    lookalikes = [make_user("customer1"), make_user("customer0000012")]
    # A real account that happens to be called like a demo login (another email) is kept.
    User.objects.filter(username="carol").update(email="carol@company.test")
    return {
        "bulk": bulk,
        "kept": [other_customer, *lookalikes],
        "carol": User.objects.get(username="carol"),
    }


def test_reset_deletes_every_ticket_and_the_demo_users_then_seeds_afresh(debug_on, cluttered):
    old_demo_pks = set(
        User.objects.filter(username__in=["alice", "bob", "agent"]).values_list("pk", flat=True)
    )
    out = seed("--reset", "--no-input", "--quiet-logins")

    assert Ticket.objects.count() == 60
    assert not Ticket.objects.filter(reporter__in=cluttered["kept"]).exists()
    assert not User.objects.filter(pk=cluttered["bulk"].pk).exists()
    assert not User.objects.filter(pk__in=old_demo_pks).exists()
    for user in [*cluttered["kept"], cluttered["carol"]]:
        assert User.objects.filter(pk=user.pk).exists(), user
    # The demo logins are back, and work.
    for username, _email, password, _role in DEMO_USERS:
        if username != "carol":
            assert User.objects.get(username=username).check_password(password)
    assert "Reset: deleted 61 tickets" in out
    assert " and 6 users." in out  # five demo logins and the bulk customer
    assert "Demo data: 60 tickets (60 new" in out


def test_reset_asks_first_and_a_no_changes_nothing(debug_on, seeded, monkeypatch):
    prompts = []
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or "no")
    users, tickets = User.objects.count(), set(Ticket.objects.values_list("pk", flat=True))
    out = seed("--reset", "--quiet-logins")
    assert len(prompts) == 1 and "EVERY ticket" in prompts[0]
    assert "cancelled" in out
    assert User.objects.count() == users
    assert set(Ticket.objects.values_list("pk", flat=True)) == tickets


def test_reset_goes_ahead_after_a_yes(debug_on, seeded, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    before = set(Ticket.objects.values_list("pk", flat=True))
    out = seed("--reset", "--quiet-logins")
    assert "Reset: deleted 60 tickets" in out
    assert Ticket.objects.count() == 60
    assert not Ticket.objects.filter(pk__in=before).exists()


def test_reset_dry_run_counts_and_changes_nothing(debug_on, seeded):
    counts = (Ticket.objects.count(), Message.objects.count(), TicketEvent.objects.count())
    users = User.objects.count()
    out = seed("--reset", "--dry-run", "--no-input")
    assert (Ticket.objects.count(), Message.objects.count(), TicketEvent.objects.count()) == counts
    assert User.objects.count() == users
    assert out == (
        f"Would delete {counts[0]} tickets, {counts[1]} messages, {counts[2]} events and 6 users "
        "(dry run: nothing changed).\n"
    )


def test_reset_refuses_with_debug_off_unless_forced(seeded, settings):
    settings.DEBUG = False
    tickets = Ticket.objects.count()
    with pytest.raises(CommandError, match="DEBUG off"):
        seed("--reset", "--no-input")
    assert Ticket.objects.count() == tickets
    assert Message.objects.exists()

    out = seed("--reset", "--no-input", "--force", "--quiet-logins")
    assert "Reset: deleted" in out
    assert Ticket.objects.count() == 60


def test_force_and_dry_run_need_reset(db):
    with pytest.raises(CommandError, match="only mean something with --reset"):
        seed("--force")
    assert not Ticket.objects.exists()


def test_help_explains_reset(db):
    command = load_command_class("tickets", "seed_demo")
    text = " ".join(command.create_parser("manage.py", "seed_demo").format_help().split())
    for option in ["--reset", "--no-input", "--force", "--dry-run"]:
        assert option in text
    assert "refuses with DEBUG off" in text
