"""The status workflow (Ticket.update_status) and the database's own guards on tickets."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from tickets.models import StaleTicketError, Ticket, TicketEvent

OPEN, ACTIVE, CLOSED = "open", "active", "closed"
STATUSES = [OPEN, ACTIVE, CLOSED]
ROLES = ["reporter", "other_customer", "agent", "admin", "inactive_staff"]

# The specification, written out here rather than read from the model, so a change to the model's
# tables fails these tests.
ALLOWED = {(OPEN, ACTIVE), (OPEN, CLOSED), (ACTIVE, OPEN), (ACTIVE, CLOSED), (CLOSED, OPEN)}
REPORTER_ALLOWED = {(OPEN, CLOSED), (ACTIVE, CLOSED), (CLOSED, OPEN)}
STAFF_ROLES = {"agent", "admin"}


@pytest.fixture
def actors(customer, other_customer, agent, admin_user, make_user):
    inactive = make_user("inactive_staff", staff=True)
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    return {
        "reporter": customer,
        "other_customer": other_customer,
        "agent": agent,
        "admin": admin_user,
        "inactive_staff": inactive,
    }


OUTSIDERS = {"other_customer", "inactive_staff"}


def put_in_status(ticket: Ticket, status: str, agent) -> Ticket:
    """Bring a fresh (open) ticket to `status` through the one door, as an agent would."""
    if status != OPEN:
        ticket.update_status(status, by=agent)
    ticket.refresh_from_db()
    assert ticket.status == status
    return ticket


def snapshot(ticket: Ticket) -> dict:
    ticket.refresh_from_db()
    return {
        "status": ticket.status,
        "closed_at": ticket.closed_at,
        "version": ticket.version,
        "modified_by_id": ticket.modified_by_id,
        "events": TicketEvent.objects.filter(ticket=ticket).count(),
    }


def test_the_models_transition_tables_match_the_specification():
    table = {(a, b) for a, targets in Ticket.TRANSITIONS.items() for b in targets}
    assert table == ALLOWED
    assert set(Ticket.REPORTER_TRANSITIONS) == REPORTER_ALLOWED


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("to_status", STATUSES)
@pytest.mark.parametrize("from_status", STATUSES)
def test_transition_table(from_status, to_status, role, actors, ticket, agent):
    ticket = put_in_status(ticket, from_status, agent)
    actor = actors[role]
    before = snapshot(ticket)

    if role in OUTSIDERS:
        # Someone who may not touch the ticket learns nothing, not even "already so".
        with pytest.raises(PermissionDenied):
            ticket.update_status(to_status, by=actor)
        assert snapshot(ticket) == before
        return

    if from_status == to_status:
        # A repeated submit: nothing to do.
        assert ticket.update_status(to_status, by=actor) is None
        assert snapshot(ticket) == before
        return

    if (from_status, to_status) not in ALLOWED:
        with pytest.raises(ValidationError) as excinfo:
            ticket.update_status(to_status, by=actor)
        assert not isinstance(excinfo.value, StaleTicketError)
        assert excinfo.value.code == "invalid_transition"
        assert snapshot(ticket) == before
        return

    allowed = role in STAFF_ROLES or (
        role == "reporter" and (from_status, to_status) in REPORTER_ALLOWED
    )
    if not allowed:
        with pytest.raises(PermissionDenied):
            ticket.update_status(to_status, by=actor)
        assert snapshot(ticket) == before
        return

    event = ticket.update_status(to_status, by=actor)

    # The caller's instance follows the database.
    assert ticket.status == to_status
    assert ticket.version == before["version"] + 1
    ticket.refresh_from_db()
    assert ticket.status == to_status
    assert ticket.version == before["version"] + 1
    assert ticket.modified_by == actor
    new_events = TicketEvent.objects.filter(ticket=ticket).order_by("pk")
    assert new_events.count() == before["events"] + 1
    stored = new_events.last()
    assert stored.pk == event.pk
    assert stored.kind == TicketEvent.Kind.STATUS
    assert (stored.from_value, stored.to_value) == (from_status, to_status)
    assert stored.actor == actor
    if to_status == CLOSED:
        assert ticket.closed_at is not None
        assert ticket.closed_at == stored.created_at
        assert ticket.last_activity_at == stored.created_at
    else:
        assert ticket.closed_at is None


@pytest.mark.parametrize("bad", ["bogus", "", "Closed", "OPEN", None])
def test_unknown_status_is_refused_and_changes_nothing(bad, ticket, agent):
    before = snapshot(ticket)
    with pytest.raises(ValidationError) as excinfo:
        ticket.update_status(bad, by=agent)
    assert excinfo.value.code == "invalid_status"
    assert snapshot(ticket) == before


def test_reopen_clears_closed_at_and_a_second_close_records_the_new_time(ticket, customer, agent):
    ticket.update_status(CLOSED, by=agent)
    ticket.update_status(OPEN, by=customer)
    ticket.refresh_from_db()
    assert ticket.closed_at is None
    second_close = ticket.update_status(CLOSED, by=customer)
    ticket.refresh_from_db()
    assert ticket.closed_at == second_close.created_at
    assert list(ticket.events.values_list("from_value", "to_value", "actor__username")) == [
        (OPEN, CLOSED, "agent"),
        (CLOSED, OPEN, "customer"),
        (OPEN, CLOSED, "customer"),
    ]


def test_change_on_a_stale_page_is_refused_and_names_who_changed_it(ticket, agent, other_agent):
    stale_page = Ticket.objects.get(pk=ticket.pk)
    old_version = stale_page.version
    ticket.update_status(ACTIVE, by=agent)
    before = snapshot(ticket)

    with pytest.raises(StaleTicketError) as excinfo:
        stale_page.update_status(CLOSED, by=other_agent, expected_version=old_version)

    assert excinfo.value.code == "stale"
    assert "changed by agent" in excinfo.value.messages[0]
    assert snapshot(ticket) == before


def test_current_version_is_accepted(ticket, agent):
    ticket.refresh_from_db()
    event = ticket.update_status(ACTIVE, by=agent, expected_version=ticket.version)
    assert event is not None
    ticket.refresh_from_db()
    assert ticket.status == ACTIVE


def test_has_unseen_reply_compares_the_last_staff_reply_with_the_reporters_last_look():
    now = timezone.now()
    ticket = Ticket()
    assert ticket.has_unseen_reply is False
    ticket.last_staff_reply_at = now
    assert ticket.has_unseen_reply is True
    ticket.reporter_seen_at = now - timezone.timedelta(seconds=1)
    assert ticket.has_unseen_reply is True
    ticket.reporter_seen_at = now
    assert ticket.has_unseen_reply is False


def test_allowed_statuses_for_lists_only_the_moves_the_user_may_make(ticket, customer, agent):
    assert ticket.allowed_statuses_for(agent) == [ACTIVE, CLOSED]
    assert ticket.allowed_statuses_for(customer) == [CLOSED]


# The system actor (by=None): scheduled commands, never a request.


@pytest.mark.parametrize(("from_status", "to_status"), sorted(ALLOWED))
def test_the_system_may_make_every_allowed_move_and_its_event_has_no_actor(
    from_status, to_status, ticket, agent
):
    ticket = put_in_status(ticket, from_status, agent)
    before = snapshot(ticket)

    event = ticket.update_status(to_status, by=None)

    ticket.refresh_from_db()
    assert ticket.status == to_status
    assert ticket.version == before["version"] + 1
    assert ticket.modified_by is None
    assert (ticket.closed_at is not None) == (to_status == CLOSED)
    stored = TicketEvent.objects.get(pk=event.pk)
    assert stored.actor is None
    assert (stored.from_value, stored.to_value) == (from_status, to_status)
    assert TicketEvent.objects.filter(ticket=ticket).count() == before["events"] + 1


def test_the_system_is_still_held_to_the_transition_table(ticket, agent):
    ticket = put_in_status(ticket, CLOSED, agent)
    before = snapshot(ticket)
    with pytest.raises(ValidationError) as excinfo:
        ticket.update_status(ACTIVE, by=None)
    assert excinfo.value.code == "invalid_transition"
    assert snapshot(ticket) == before


def test_the_system_closing_a_ticket_tells_the_reporter_it_was_the_help_desk(
    ticket, customer, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket.update_status(CLOSED, by=None)
    [email] = [m for m in mailoutbox if m.to == [customer.email]]
    assert "The help desk closed your ticket" in email.body


def test_a_page_opened_before_a_system_change_is_stale(ticket, agent):
    stale_page = Ticket.objects.get(pk=ticket.pk)
    ticket.update_status(ACTIVE, by=None)
    with pytest.raises(StaleTicketError):
        stale_page.update_status(CLOSED, by=agent, expected_version=stale_page.version)
    ticket.refresh_from_db()
    assert ticket.status == ACTIVE


# The database refuses what the code should never write, whoever writes it.


def _assert_refused_by_database(ticket: Ticket, **values) -> None:
    before = snapshot(ticket)
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.filter(pk=ticket.pk).update(**values)
    assert snapshot(ticket) == before


def test_database_refuses_an_unknown_status(ticket):
    _assert_refused_by_database(ticket, status="bogus")


def test_database_refuses_an_unknown_priority(ticket):
    _assert_refused_by_database(ticket, priority="bogus")


def test_database_refuses_a_closed_ticket_without_closed_at(ticket):
    _assert_refused_by_database(ticket, status=CLOSED)


def test_database_refuses_closed_at_on_a_ticket_that_is_not_closed(ticket):
    _assert_refused_by_database(ticket, closed_at=timezone.now())


def test_database_refuses_an_empty_title(ticket):
    _assert_refused_by_database(ticket, title="")


def test_database_refuses_an_unknown_event_kind(ticket, agent):
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketEvent.objects.create(ticket=ticket, actor=agent, kind="bogus")
    assert not TicketEvent.objects.filter(ticket=ticket).exists()


class TestWhoSeesAndMovesWhat:
    def test_nobody_signed_out_or_deactivated_sees_a_ticket(self, ticket, customer, deactivate):
        assert list(Ticket.objects.visible_to(AnonymousUser())) == []
        assert list(Ticket.objects.visible_to(customer)) == [ticket]
        assert list(Ticket.objects.visible_to(deactivate(customer))) == []

    def test_a_deactivated_reporter_may_not_close_their_ticket(self, ticket, customer, deactivate):
        assert ticket.can_change_status(customer, Ticket.Status.CLOSED)
        assert not ticket.can_change_status(deactivate(customer), Ticket.Status.CLOSED)
