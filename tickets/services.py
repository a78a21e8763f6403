"""Writes to tickets. Status changes go through Ticket.update_status; everything else is here."""

from __future__ import annotations

import re
import unicodedata
import uuid

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AGENTS_GROUP
from accounts.services import customer_find_or_create

from .models import Category, Tag, Ticket, TicketEvent
from .notifications import notify_assigned, notify_ticket_created

User = get_user_model()


def ticket_create(
    *,
    reporter: User,
    title: str,
    description: str,
    priority: str = Ticket.Priority.NORMAL,
    category: Category | None = None,
    client_token: uuid.UUID | None = None,
    opened_by: User | None = None,
) -> Ticket:
    """Report a new ticket. A repeated submit of the same form (same token) returns the first.

    `opened_by`: a member of staff who opens it for the reporter, a customer (ticket_open_for):
    an event records it, and the reporter is emailed about it. A ticket in a category with a
    default assignee is assigned to them by the system (an assignment event with no actor), in
    the same transaction.
    """
    if opened_by is not None:
        _require_staff(opened_by, _("open tickets for customers"))
        if reporter.is_staff or not reporter.is_active:
            raise ValidationError(
                {
                    "customer": _("%(username)s is not an active customer.")
                    % {"username": reporter.username}
                },
                code="invalid_customer",
            )
    if not reporter.is_authenticated or not reporter.is_active:
        raise PermissionDenied(_("Only signed-in users can report tickets."))
    if category is not None and not category.active:
        raise ValidationError(
            {
                "category": _("The category %(name)s is no longer offered; choose another.")
                % {"name": category.name}
            },
            code="inactive_category",
        )
    if client_token is not None:
        existing = Ticket.objects.filter(client_token=client_token).first()
        if existing is not None:
            if existing.reporter_id != reporter.pk:
                # Someone else's form: refuse it, rather than fail on the unique token below.
                raise ValidationError(_("This form was already used; reload the page."))
            return existing
    now = timezone.now()
    ticket = Ticket(
        reporter=reporter,
        title=(title or "").strip(),
        description=(description or "").strip(),
        priority=priority,
        category=category,
        created_at=now,
        modified_at=now,
        last_activity_at=now,
        modified_by=opened_by or reporter,
        client_token=client_token,
    )
    # No query in validation: the fields' own rules (choices, not blank) say what the check
    # constraints say, and the database enforces them; the users and the category are the
    # instances checked above, not ids from a form (a foreign key's validation reads its row).
    ticket.full_clean(
        exclude=["client_token", "reporter", "modified_by", "category", "assignee"],
        validate_constraints=False,
    )
    try:
        with transaction.atomic():
            ticket.save()
            if opened_by is not None:
                TicketEvent.objects.create(
                    ticket=ticket,
                    actor=opened_by,
                    kind=TicketEvent.Kind.OPENED_FOR,
                    to_value=reporter.username,
                    created_at=now,
                )
            notify_ticket_created(ticket, opened_by=opened_by)
            default = _default_assignee(category)
            if default is not None:
                ticket_assign(ticket=ticket, assignee=default, by=None)
    except IntegrityError:
        # The same form raced itself in; the first one won.
        existing = Ticket.objects.filter(client_token=client_token, reporter=reporter).first()
        if existing is None:
            raise
        return existing
    return ticket


def ticket_open_for(
    *,
    agent: User,
    customer: User | str,
    title: str,
    description: str,
    priority: str = Ticket.Priority.NORMAL,
    category: Category | None = None,
    client_token: uuid.UUID | None = None,
) -> Ticket:
    """A member of staff opens a ticket for a customer (who phoned, say): the customer is its
    reporter and is emailed about it, and an event records who opened it.

    `customer` is a user, or the username or email address the agent typed: an address no
    account has gets a new account, without a usable password (accounts'
    customer_find_or_create), made in the same transaction as the ticket, so a refused ticket
    leaves no account behind. A repeated submit (same token) returns the first ticket. Raises
    PermissionDenied for someone who is not staff, and ValidationError (under "customer" for
    the customer) with a readable message.
    """
    _require_staff(agent, _("open tickets for customers"))
    with transaction.atomic():
        if isinstance(customer, str):
            try:
                customer, _created = customer_find_or_create(identifier=customer)
            except ValidationError as exc:
                raise ValidationError({"customer": exc.messages}) from None
        return ticket_create(
            reporter=customer,
            title=title,
            description=description,
            priority=priority,
            category=category,
            client_token=client_token,
            opened_by=agent,
        )


def _default_assignee(category: Category | None) -> User | None:
    """The category's default assignee, if they can still take tickets."""
    if category is None or category.default_assignee_id is None:
        return None
    assignee = category.default_assignee
    return assignee if assignee.is_active and assignee.is_staff else None


def _require_staff(user: User, action: str) -> None:
    if not (user.is_authenticated and user.is_active and user.is_staff):
        raise PermissionDenied(_("Only staff may %(action)s.") % {"action": action})


def ticket_assign(
    *, ticket: Ticket, assignee: User | None, by: User | None, expected_version: int | None = None
) -> TicketEvent | None:
    """Assign the ticket to a staff member (or unassign it with None), with its own event.

    Assigning an open ticket makes it active (a status event too). Returns the assignment
    event, or None when the ticket is already assigned that way. `by=None` is the system (a
    command such as remove_agent): its events record no actor.
    """
    if by is not None:
        _require_staff(by, _("assign tickets"))
    if assignee is not None and not (assignee.is_active and assignee.is_staff):
        raise ValidationError(
            _("%(username)s is not an active staff member.") % {"username": assignee.username},
            code="invalid_assignee",
        )
    with transaction.atomic():
        locked = ticket.lock()
        if locked.assignee_id == (assignee.pk if assignee else None):
            ticket._copy_state_from(locked)
            return None
        locked.check_version(expected_version)
        old = locked.assignee.username if locked.assignee_id else ""
        now = timezone.now()
        locked.assignee = assignee
        locked.save(update_fields=["assignee", *locked.touch(by=by, at=now, activity=False)])
        event = TicketEvent.objects.create(
            ticket=locked,
            actor=by,
            kind=TicketEvent.Kind.ASSIGNMENT,
            from_value=old,
            to_value=assignee.username if assignee else "",
            created_at=now,
        )
        if assignee is not None and locked.status == Ticket.Status.OPEN:
            locked.update_status(Ticket.Status.ACTIVE, by=by)
        if assignee is not None:
            # After the status change, so the email shows the ticket as it now is (active).
            notify_assigned(locked, by=by, event=event)
        ticket._copy_state_from(locked)
    return event


def ticket_set_priority(
    *, ticket: Ticket, priority: str, by: User, expected_version: int | None = None
) -> TicketEvent | None:
    """Change the priority (staff only), with an event. None when it is already that."""
    _require_staff(by, _("change the priority"))
    if priority not in Ticket.Priority.values:
        raise ValidationError(
            _("“%(value)s” is not a priority.") % {"value": priority}, code="invalid_priority"
        )
    with transaction.atomic():
        locked = ticket.lock()
        if locked.priority == priority:
            ticket._copy_state_from(locked)
            return None
        locked.check_version(expected_version)
        old = locked.priority
        now = timezone.now()
        locked.priority = priority
        locked.save(update_fields=["priority", *locked.touch(by=by, at=now, activity=False)])
        event = TicketEvent.objects.create(
            ticket=locked,
            actor=by,
            kind=TicketEvent.Kind.PRIORITY,
            from_value=old,
            to_value=priority,
            created_at=now,
        )
        ticket._copy_state_from(locked)
    return event


def ticket_set_category(
    *,
    ticket: Ticket,
    category: Category | None,
    by: User,
    expected_version: int | None = None,
) -> TicketEvent | None:
    """Put the ticket in a category, or in none (staff only), with an event. None when it is
    already there. An inactive category stays on the tickets that have it but is not given to
    others."""
    _require_staff(by, _("change the category"))
    with transaction.atomic():
        locked = ticket.lock()
        if locked.category_id == (category.pk if category else None):
            ticket._copy_state_from(locked)
            return None
        locked.check_version(expected_version)
        if category is not None and not category.active:
            raise ValidationError(
                _("The category %(name)s is no longer offered.") % {"name": category.name},
                code="inactive_category",
            )
        old = locked.category.name if locked.category_id else ""
        now = timezone.now()
        locked.category = category
        locked.save(update_fields=["category", *locked.touch(by=by, at=now, activity=False)])
        event = TicketEvent.objects.create(
            ticket=locked,
            actor=by,
            kind=TicketEvent.Kind.CATEGORY,
            from_value=old,
            to_value=category.name if category else "",
            created_at=now,
        )
        ticket._copy_state_from(locked)
    return event


def parse_tags(text: str) -> list[str]:
    """Tag names from what a person typed, comma-separated: trimmed, inner spaces collapsed,
    empty ones and repeats (in any case) dropped, in the order given. ValidationError names
    each one that cannot be a tag (too long, or with control characters)."""
    names: dict[str, str] = {}
    problems = []
    for part in (text or "").split(","):
        name = re.sub(r"\s+", " ", part).strip()
        if not name:
            continue
        if any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in name):
            problems.append(_("“%(name)s” has characters a tag cannot have.") % {"name": name[:20]})
        elif len(name) > Tag.MAX_LENGTH:
            problems.append(
                _("“%(name)s…” is longer than %(max)d characters.")
                % {"name": name[:20], "max": Tag.MAX_LENGTH}
            )
        else:
            names.setdefault(name.casefold(), name)
    if problems:
        raise ValidationError(problems, code="invalid_tag")
    return list(names.values())


def _tag_named(name: str) -> Tag:
    """The tag called `name` in any case, made if there is none (two at once: one wins)."""
    tag = Tag.objects.filter(name__iexact=name).first()
    if tag is not None:
        return tag
    try:
        with transaction.atomic():
            return Tag.objects.create(name=name)
    except IntegrityError:
        return Tag.objects.get(name__iexact=name)


def ticket_set_tags(
    *, ticket: Ticket, names: list[str], by: User, expected_version: int | None = None
) -> list[TicketEvent]:
    """Make the ticket's tags exactly `names` (staff only): an event for each tag put on or
    taken off, none when nothing changes. Names are matched in any case; new ones are made."""
    _require_staff(by, _("tag tickets"))
    wanted = {name.casefold(): name for name in names}
    with transaction.atomic():
        locked = ticket.lock()
        current = {tag.name.casefold(): tag for tag in locked.tags.all()}
        added = [wanted[key] for key in wanted if key not in current]
        removed = [current[key] for key in current if key not in wanted]
        if not added and not removed:
            ticket._copy_state_from(locked)
            return []
        locked.check_version(expected_version)
        now = timezone.now()
        changes = []  # (from, to): a tag taken off, a tag put on
        if removed:
            locked.tags.remove(*removed)
            changes += [(tag.name, "") for tag in removed]
        for name in added:
            tag = _tag_named(name)
            locked.tags.add(tag)
            changes.append(("", tag.name))
        events = TicketEvent.objects.bulk_create(
            TicketEvent(
                ticket=locked,
                actor=by,
                kind=TicketEvent.Kind.TAG,
                from_value=old,
                to_value=new,
                created_at=now,
            )
            for old, new in changes
        )
        locked.tag_names = tag_names_of(locked)
        locked.save(update_fields=["tag_names", *locked.touch(by=by, at=now, activity=False)])
        ticket._copy_state_from(locked)
    return events


def tag_names_of(ticket: Ticket) -> list[str]:
    """The ticket's tags' names as Ticket.tag_names keeps them: sorted, in any case."""
    return sorted(ticket.tags.values_list("name", flat=True), key=str.casefold)


def ticket_add_tag(*, ticket: Ticket, name: str, by: User) -> TicketEvent | None:
    """Put one more tag on the ticket (the list's and the admin's bulk action)."""
    with transaction.atomic():
        locked = ticket.lock()  # the tags as they are now, not as the caller read them
        events = ticket_set_tags(ticket=locked, names=[*locked.tag_names, name], by=by)
        ticket._copy_state_from(locked)
    return events[0] if events else None


def ticket_mark_seen(*, ticket: Ticket, user: User) -> None:
    """Record that the reporter has looked at the ticket (clears the "new reply" marker).

    Not a change to the ticket: no version bump, no event, one UPDATE without a lock, and only
    when there is a reply to mark. The UPDATE itself checks that the reply is still unseen, so a
    second tab holding an older copy of the ticket writes nothing.
    """
    if user.pk != ticket.reporter_id or not ticket.has_unseen_reply:
        return
    now = timezone.now()
    unseen = Q(reporter_seen_at__isnull=True) | Q(reporter_seen_at__lt=F("last_staff_reply_at"))
    if Ticket.objects.filter(unseen, pk=ticket.pk).update(reporter_seen_at=now):
        ticket.reporter_seen_at = now


def ticket_update(
    *,
    ticket: Ticket,
    by: User,
    expected_version: int | None,
    status: str | None = None,
    assignee: User | None = None,
    change_assignee: bool = False,
    priority: str | None = None,
    category: Category | None = None,
    change_category: bool = False,
    tags: list[str] | None = None,
) -> list[TicketEvent]:
    """Apply several triage changes from one form at once: all of them, or none.

    The version the form saw is checked once, under the row lock, before anything is changed;
    then the assignment, the priority, the category, the tags (`tags`: the whole new set) and
    the status go through their own services (so each writes its own events). Status is
    applied last, so "assign and close" closes the ticket.
    """
    _require_staff(by, _("change tickets"))
    events: list[TicketEvent | None] = []
    with transaction.atomic():
        locked = ticket.lock()
        locked.check_version(expected_version)
        if change_assignee:
            events.append(ticket_assign(ticket=locked, assignee=assignee, by=by))
        if priority is not None:
            events.append(ticket_set_priority(ticket=locked, priority=priority, by=by))
        if change_category:
            events.append(ticket_set_category(ticket=locked, category=category, by=by))
        if tags is not None:
            events.extend(ticket_set_tags(ticket=locked, names=tags, by=by))
        if status is not None:
            events.append(locked.update_status(status, by=by))
        ticket._copy_state_from(locked)
    return [event for event in events if event is not None]


def agent_remove(*, agent: User, dry_run: bool = False) -> list[Ticket]:
    """Take `agent` off the team: no staff status, out of the Agents group, and their tickets
    that are not closed unassigned by the system (an assignment event with no actor each).

    The user is not deleted, and their closed tickets keep them as assignee (history). Refuses a
    superuser (ValidationError): take away superuser status in the admin first. Returns the
    tickets unassigned, oldest first; with `dry_run`, the ones that would be, changing nothing.
    """
    if agent.is_superuser:
        raise ValidationError(
            _("%(username)s is a superuser; remove the superuser status in the admin first.")
            % {"username": agent.username},
            code="superuser",
        )
    with transaction.atomic():
        tickets = list(Ticket.objects.not_closed().for_agent(agent).order_by("created_at", "pk"))
        if dry_run:
            return tickets
        for ticket in tickets:
            ticket_assign(ticket=ticket, assignee=None, by=None)
        agent.is_staff = False
        agent.save(update_fields=["is_staff"])
        agent.groups.remove(*agent.groups.filter(name=AGENTS_GROUP))
    return tickets


# --- The staff ticket page's triage form ---------------------------------------------------------

TRIAGE_FIELDS = ("status", "priority", "assignee", "category", "tags")


class TriageConflict(ValidationError):
    """Fields the agent changed that someone else changed too since the page was shown.

    `theirs`: each such field's value now, as a person reads it (a status's label, a username).
    """

    def __init__(self, theirs: dict[str, str], by: str):
        self.theirs = theirs
        self.changed_by = by
        names = ", ".join(theirs)
        super().__init__(
            f"{by} changed {names} after you opened the page; nothing was saved.", code="conflict"
        )


def triage_keys(ticket: Ticket) -> dict[str, object]:
    """The triage fields as compared for conflicts: ids for people and categories, the tags as
    a sorted tuple in any case."""
    return {
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee": ticket.assignee_id,
        "category": ticket.category_id,
        "tags": tag_key(ticket.tag_names),
    }


def tag_key(names: list[str]) -> tuple[str, ...]:
    return tuple(sorted(name.casefold() for name in names))


def _triage_labels(ticket: Ticket) -> dict[str, str]:
    return {
        "status": ticket.get_status_display(),
        "priority": ticket.get_priority_display(),
        "assignee": ticket.assignee.username if ticket.assignee_id else _("Unassigned"),
        "category": ticket.category.name if ticket.category_id else _("No category"),
        "tags": ", ".join(ticket.tag_names) or _("No tags"),
    }


def ticket_triage(
    *, ticket: Ticket, by: User, changes: dict[str, object], shown: dict[str, object]
) -> list[TicketEvent]:
    """Apply the fields an agent changed on the triage form, refusing only real conflicts.

    `changes`: field (TRIAGE_FIELDS) -> the new value (a status or priority, a User or None, a
    Category or None, a list of tag names) for the fields the agent changed; `shown`: field ->
    its key (triage_keys) as the page showed it. Under the row lock, a changed field that
    someone else changed since (its key now is neither the shown one nor the agent's) refuses
    the whole save with TriageConflict; changes to other fields (a customer's reply, another
    agent's priority when this one only assigns) never do. The changes then go through
    ticket_update, so each writes its own event, status last.
    """
    _require_staff(by, _("change tickets"))
    new_keys = {
        "status": changes.get("status"),
        "priority": changes.get("priority"),
        "assignee": getattr(changes.get("assignee"), "pk", None),
        "category": getattr(changes.get("category"), "pk", None),
        "tags": tag_key(changes.get("tags") or []),
    }
    with transaction.atomic():
        locked = ticket.lock()
        now = triage_keys(locked)
        conflicts = [
            field
            for field in changes
            if now[field] != shown[field] and now[field] != new_keys[field]
        ]
        if conflicts:
            labels = _triage_labels(locked)
            who = locked.modified_by.username if locked.modified_by_id else _("Someone else")
            raise TriageConflict({field: labels[field] for field in conflicts}, by=who)
        events = ticket_update(
            ticket=locked,
            by=by,
            expected_version=None,
            status=changes.get("status"),
            assignee=changes.get("assignee"),
            change_assignee="assignee" in changes,
            priority=changes.get("priority"),
            category=changes.get("category"),
            change_category="category" in changes,
            tags=changes.get("tags"),
        )
        ticket._copy_state_from(locked)
    return events


# What an anonymised account is called: its messages stay, signed "former customer".
FORMER_CUSTOMER = "former-customer"


def customer_anonymise(*, user: User, by: User) -> bool:
    """Delete a customer's personal data at their request, keeping their tickets and messages:
    the username becomes "former-customer-<id>", the address one of an unreachable domain
    (".invalid", RFC 2606), the name is emptied, the account cannot log in or get mail, and
    its API tokens stop working. One ANONYMISED event on each of their tickets (the audit
    trail: who did it and when; not the old name, which would keep what was to be deleted).
    Staff accounts are refused (PermissionDenied); one anonymised already is left (False)."""
    if not (by.is_active and by.is_superuser):
        raise PermissionDenied("Only an administrator may anonymise an account.")
    if user.is_staff:
        raise PermissionDenied(f"{user.username} is staff: take away their staff role first.")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.anonymised_at is not None:
            return False
        now = timezone.now()
        locked.username = f"{FORMER_CUSTOMER}-{locked.pk}"
        locked.email = f"{FORMER_CUSTOMER}-{locked.pk}@anonymised.invalid"
        locked.first_name = locked.last_name = ""
        locked.is_active = False
        locked.notify_by_email = False
        locked.anonymised_at = now
        locked.email_undeliverable_reason = ""
        locked.set_unusable_password()
        locked.save()
        locked.api_tokens.filter(revoked_at__isnull=True).update(revoked_at=now)
        TicketEvent.objects.bulk_create(
            TicketEvent(
                ticket_id=ticket_id,
                actor=by,
                kind=TicketEvent.Kind.ANONYMISED,
                to_value=f"{FORMER_CUSTOMER}-{locked.pk}",
                created_at=now,
            )
            for ticket_id in Ticket.objects.filter(reporter=locked).values_list("pk", flat=True)
        )
    user.refresh_from_db()
    return True
