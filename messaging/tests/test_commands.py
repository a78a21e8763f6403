"""The seed_demo command, and that the demo history obeys the rules the services apply."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, Max, Q

from messaging.demo import DEMO_USERS
from messaging.models import Message
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
