from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import (
    MaxLengthValidator,
    MinLengthValidator,
    ProhibitNullCharactersValidator,
)
from django.db import models, transaction
from django.db.models import Case, Q, Value, When
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import notifications
from .search_vectors import SearchDocument

# The largest id a BigAutoField can hold: a bigger number in a URL is simply "not found".
MAX_ID = 2**63 - 1


class StaleTicketError(ValidationError):
    """The ticket changed after the page that sent this change was loaded."""


def unseen_reply(last_staff_reply_at, reporter_seen_at) -> bool:
    """Whether there is a public staff reply the reporter has not opened the ticket to see."""
    if last_staff_reply_at is None:
        return False
    return reporter_seen_at is None or reporter_seen_at < last_staff_reply_at


def waiting_on_customer(status: str, last_public_by: str) -> bool:
    return status != "closed" and last_public_by == "staff"


def customer_replied(status: str, last_public_by: str, last_staff_reply_at) -> bool:
    return status != "closed" and last_public_by == "customer" and last_staff_reply_at is not None


# A status as the customer reads it, on their pages and in their mails; staff keep the
# internal names (Ticket.Status). "Waiting for your reply": not closed, and the latest public
# message is staff's (the stored `last_public_by`, so a list reads no message to say it).
CUSTOMER_STATUS_LABELS = {
    "open": _("Waiting for support"),
    "active": _("In progress"),
    "closed": _("Closed"),
}
WAITING_FOR_YOUR_REPLY = _("Waiting for your reply")


def customer_status_lazy(status: str, last_public_by: str):
    """The customer's words for a status, said in the language active when it is rendered
    (an email is rendered in its recipient's)."""
    if waiting_on_customer(status, last_public_by):
        return WAITING_FOR_YOUR_REPLY
    return CUSTOMER_STATUS_LABELS.get(status, status)


def customer_status_label(status: str, last_public_by: str) -> str:
    return str(customer_status_lazy(status, last_public_by))


def customer_status_class(status: str, last_public_by: str) -> str:
    """The customer's status badge's name (static/css/site.css, badge-status-<name>): the
    status, or "waiting" when the ticket waits on them, in a colour of its own so that they
    see at a glance which tickets need their answer."""
    return "waiting" if waiting_on_customer(status, last_public_by) else status


def unseen_reply_q() -> Q:
    """In SQL, what unseen_reply() says in Python: a staff reply the reporter has not seen."""
    return Q(last_staff_reply_at__isnull=False) & (
        Q(reporter_seen_at__isnull=True) | Q(reporter_seen_at__lt=models.F("last_staff_reply_at"))
    )


class TicketQuerySet(models.QuerySet):
    def visible_to(self, user) -> TicketQuerySet:
        """The tickets a user may see: staff see all, customers their own, others none."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_staff:
            return self
        return self.filter(reporter=user)

    def not_closed(self) -> TicketQuerySet:
        # "status IN (open, active)" rather than "NOT closed": an index can serve it.
        return self.filter(status__in=[Ticket.Status.OPEN, Ticket.Status.ACTIVE])

    def for_reporter_default(self) -> TicketQuerySet:
        """A customer's default list: what is not closed, and closed tickets holding a staff
        reply they have not seen yet (so the answer that closed it is one click away). With
        the reporter's filter, the index ticket_reporter_recent serves it in list order."""
        return self.filter(
            Q(status__in=[Ticket.Status.OPEN, Ticket.Status.ACTIVE])
            | (Q(status=Ticket.Status.CLOSED) & unseen_reply_q())
        )

    def unassigned(self) -> TicketQuerySet:
        return self.filter(assignee__isnull=True)

    def waiting_on_customer(self) -> TicketQuerySet:
        return self.not_closed().filter(last_public_by=Ticket.Party.STAFF)

    def customer_replied(self) -> TicketQuerySet:
        return self.not_closed().filter(
            last_public_by=Ticket.Party.CUSTOMER, last_staff_reply_at__isnull=False
        )

    def for_agent(self, user) -> TicketQuerySet:
        return self.filter(assignee=user)

    # A list's orders, by the key in its URL (?sort=): the column, then newest activity, then id.
    # "priority" and "status" put the most urgent and the least advanced first.
    SORTS = {
        "-activity": ("-last_activity_at", "-pk"),
        "activity": ("last_activity_at", "pk"),
        "-created": ("-created_at", "-pk"),
        "created": ("created_at", "pk"),
        "priority": ("priority_rank", "-last_activity_at", "-pk"),
        "-priority": ("-priority_rank", "-last_activity_at", "-pk"),
        "status": ("status_rank", "-last_activity_at", "-pk"),
        "-status": ("-status_rank", "-last_activity_at", "-pk"),
    }
    DEFAULT_SORT = "-activity"

    def for_list(self, sort: str = DEFAULT_SORT) -> TicketQuerySet:
        """A list page's order (SORTS; most recent activity first by default). Counted as it
        is (no joins); a page of it is read as rows by tickets.selectors.list_rows."""
        return self.order_by(*self.SORTS[sort])


class Category(models.Model):
    """What a ticket is about (billing, access, ...): chosen by the reporter or by staff.

    Managed in the admin. An inactive category is not offered any more but stays on the tickets
    that have it. A category with a default assignee hands each new ticket in it to them.
    """

    name = models.CharField(
        max_length=80, validators=[MinLengthValidator(1)], verbose_name=_("name")
    )
    active = models.BooleanField(
        default=True, help_text=_("Offered on the new-ticket form."), verbose_name=_("active")
    )
    default_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
        limit_choices_to={"is_staff": True, "is_active": True},
        help_text=_("New tickets in this category are assigned to them."),
        verbose_name=_("default assignee"),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="category_name_not_empty"),
            models.UniqueConstraint(
                Lower("name"),
                name="category_name_unique",
                violation_error_message=_("There is already a category with this name."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.name = (self.name or "").strip()
        try:
            ProhibitNullCharactersValidator()(self.name)
        except ValidationError as exc:
            raise ValidationError({"name": exc.error_list}) from None


class Tag(models.Model):
    """A free label staff put on tickets ("vip", "outage-2026-12"); created by using it."""

    MAX_LENGTH = 40

    name = models.CharField(
        max_length=MAX_LENGTH, validators=[MinLengthValidator(1)], verbose_name=_("name")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="tag_name_not_empty"),
            models.UniqueConstraint(
                Lower("name"),
                name="tag_name_unique",
                violation_error_message=_("There is already a tag with this name."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACTIVE = "active", _("Active")
        CLOSED = "closed", _("Closed")

    class Party(models.TextChoices):
        NOBODY = "", _("Nobody yet")
        STAFF = "staff", _("Staff")
        CUSTOMER = "customer", _("Customer")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")
        URGENT = "urgent", _("Urgent")

    # Allowed moves, and the ones a reporter may make on their own ticket. Staff may make any
    # allowed move; nobody else may make any.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.OPEN: frozenset({Status.ACTIVE, Status.CLOSED}),
        Status.ACTIVE: frozenset({Status.OPEN, Status.CLOSED}),
        Status.CLOSED: frozenset({Status.OPEN}),
    }
    REPORTER_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
        {
            (Status.OPEN, Status.CLOSED),
            (Status.ACTIVE, Status.CLOSED),
            (Status.CLOSED, Status.OPEN),
        }
    )

    title = models.CharField(
        max_length=200, validators=[MinLengthValidator(1)], verbose_name=_("title")
    )
    description = models.TextField(
        max_length=20_000, validators=[MinLengthValidator(1)], verbose_name=_("description")
    )
    status = models.CharField(
        max_length=16,
        choices=Status.choices,
        default=Status.OPEN,
        editable=False,
        verbose_name=_("status"),
    )
    priority = models.CharField(
        max_length=16, choices=Priority.choices, default=Priority.NORMAL, verbose_name=_("priority")
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="reported_tickets",
        verbose_name=_("reporter"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="assigned_tickets",
        null=True,
        blank=True,
        limit_choices_to={"is_staff": True},
        verbose_name=_("assignee"),
    )
    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        related_name="tickets",
        null=True,
        blank=True,
        verbose_name=_("category"),
    )
    # Set by staff through ticket_set_tags (an event each). `tag_names` is a copy of the names,
    # sorted, kept by the same service, so that pages show them without another query.
    tags = models.ManyToManyField(
        Tag, related_name="tickets", blank=True, through="TicketTag", verbose_name=_("tags")
    )
    tag_names = models.JSONField(
        default=list, blank=True, editable=False, verbose_name=_("tag names")
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    modified_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("modified at")
    )
    # Any public message or status change; the lists are ordered by it.
    last_activity_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("last activity")
    )
    # The first public message by staff other than the reporter (METRICS.md). Set once.
    first_response_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("first response at")
    )
    # The latest public staff reply, and when the reporter last looked: "new reply" marker.
    last_staff_reply_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("last staff reply at")
    )
    reporter_seen_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("seen by the reporter at")
    )
    # Who wrote the latest public message: staff (the ticket waits on its customer) or the
    # customer (after a staff reply: "customer replied"). Kept by message_send.
    last_public_by = models.CharField(
        max_length=8,
        choices=Party.choices,
        default=Party.NOBODY,
        blank=True,
        editable=False,
        verbose_name=_("latest public message by"),
    )
    closed_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("closed at")
    )
    # A file was attached once (kept by messaging's attachment_add and the import): the ticket
    # pages read the files only for such a ticket, one query less for most.
    has_files = models.BooleanField(default=False, editable=False, verbose_name=_("has files"))
    # Bumped by every change; forms carry it so a change made on a stale page is refused.
    version = models.PositiveIntegerField(default=1, editable=False, verbose_name=_("version"))
    modified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        editable=False,
        verbose_name=_("modified by"),
    )
    # Sort keys for the triage queue (open before active before closed; urgent first), computed
    # by the database from status and priority so the queue's ordering can use an index.
    status_rank = models.GeneratedField(
        expression=Case(
            When(status="open", then=Value(0)),
            When(status="active", then=Value(1)),
            default=Value(2),
        ),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
        verbose_name=_("status rank"),
    )
    priority_rank = models.GeneratedField(
        expression=Case(
            When(priority="urgent", then=Value(0)),
            When(priority="high", then=Value(1)),
            When(priority="normal", then=Value(2)),
            default=Value(3),
        ),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
        verbose_name=_("priority rank"),
    )
    # The words of the title (weight A) and the description (B), for the search: PostgreSQL's
    # tsvector, with a GIN index and fuller statistics made by migration 0016; NULL on SQLite,
    # whose search reads the FTS5 table tickets_ticket_fts (tickets/search.py).
    search_vector = models.GeneratedField(
        expression=SearchDocument(("title", "A"), ("description", "B")),
        output_field=SearchVectorField(),
        db_persist=True,
        verbose_name=_("search words"),
    )
    # Set by the "new ticket" form, so a double submit creates one ticket.
    client_token = models.UUIDField(
        null=True, blank=True, unique=True, editable=False, verbose_name=_("form token")
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-last_activity_at", "-pk"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["open", "active", "closed"]), name="ticket_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(priority__in=["low", "normal", "high", "urgent"]),
                name="ticket_priority_valid",
            ),
            models.CheckConstraint(condition=~Q(title=""), name="ticket_title_not_empty"),
            models.CheckConstraint(
                condition=~Q(description=""), name="ticket_description_not_empty"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="closed", closed_at__isnull=False)
                    | (~Q(status="closed") & Q(closed_at__isnull=True))
                ),
                name="ticket_closed_at_matches_status",
            ),
        ]
        indexes = [
            # "My tickets": one reporter, a status filter, newest activity first.
            models.Index(
                fields=["reporter", "status", "-last_activity_at"], name="ticket_reporter_list"
            ),
            models.Index(fields=["reporter", "-last_activity_at"], name="ticket_reporter_recent"),
            # Staff list: status filter and newest activity first; assignee filters.
            models.Index(fields=["status", "-last_activity_at"], name="ticket_status_list"),
            # The whole list order (Meta.ordering), tie-breaker included: with the id in the
            # index, SQLite reads the first page from it instead of joining every reporter first
            # and sorting all the matching tickets.
            models.Index(fields=["-last_activity_at", "-id"], name="ticket_recent"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status"),
            # "Waiting on customer" and "customer replied": the open work by who wrote last.
            models.Index(
                fields=["last_public_by", "status", "-last_activity_at"],
                name="ticket_waiting_list",
            ),
            # The lists sorted by priority or by status (the rank columns), newest activity next.
            models.Index(
                fields=["priority_rank", "-last_activity_at", "-id"], name="ticket_priority_sort"
            ),
            models.Index(
                fields=["status_rank", "-last_activity_at", "-id"], name="ticket_status_sort"
            ),
            # A list filtered by category, newest activity first.
            models.Index(
                fields=["category", "status", "-last_activity_at"], name="ticket_category_list"
            ),
            # The report's workload (tickets not closed per assignee): the open work only, not
            # every ticket ever assigned.
            models.Index(
                fields=["assignee"],
                condition=models.Q(status__in=["open", "active"]),
                name="ticket_open_work_assignee",
            ),
            # Reports read tickets by creation time: on PostgreSQL these columns come from the
            # index alone (an index-only scan), not from the table.
            models.Index(
                fields=["created_at"],
                include=["status", "priority", "reporter", "first_response_at"],
                name="ticket_created",
            ),
            # Reports (reports/selectors.py): resolution by close time, open work by age.
            models.Index(fields=["closed_at"], include=["created_at"], name="ticket_closed_at"),
            models.Index(
                fields=["status", "created_at"],
                include=["first_response_at", "assignee"],
                name="ticket_status_created",
            ),
            # The admin's triage queue: urgent and old open work first.
            models.Index(
                fields=["status_rank", "priority_rank", "created_at"], name="ticket_triage"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("tickets:detail", args=[self.pk])

    def clean(self) -> None:
        # A TextField's max_length is enforced by forms only, not by full_clean(): check it here.
        limit = self._meta.get_field("description").max_length
        try:
            MaxLengthValidator(limit)(self.description or "")
        except ValidationError as exc:
            raise ValidationError({"description": exc.error_list}) from None
        # Forms refuse NUL bytes, full_clean() does not; PostgreSQL cannot store them (a
        # DataError, not a ValidationError, from ticket_create on PostgreSQL).
        no_nul = ProhibitNullCharactersValidator()
        for name in ("title", "description"):
            try:
                no_nul(getattr(self, name) or "")
            except ValidationError as exc:
                raise ValidationError({name: exc.error_list}) from None

    @property
    def has_unseen_reply(self) -> bool:
        """A public staff reply the reporter has not opened the ticket to see yet."""
        return unseen_reply(self.last_staff_reply_at, self.reporter_seen_at)

    @property
    def waiting_on_customer(self) -> bool:
        """Not closed, and the latest public message is staff's."""
        return waiting_on_customer(self.status, self.last_public_by)

    @property
    def customer_replied(self) -> bool:
        """Not closed, and the customer wrote last, after a staff reply."""
        return customer_replied(self.status, self.last_public_by, self.last_staff_reply_at)

    @property
    def customer_status(self) -> str:
        """The status in the customer's words (customer_status_label)."""
        return customer_status_label(self.status, self.last_public_by)

    @property
    def customer_status_class(self) -> str:
        """The customer's status badge's name (customer_status_class)."""
        return customer_status_class(self.status, self.last_public_by)

    @property
    def customer_status_words(self):
        """The same, said in the language active when it is rendered (customer_status_lazy)."""
        return customer_status_lazy(self.status, self.last_public_by)

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED

    def allowed_statuses_for(self, user) -> list[str]:
        """The statuses this user may move the ticket to now (for the page's buttons)."""
        return [s for s in self.Status.values if self.can_change_status(user, s)]

    def may_act_on(self, user) -> bool:
        """Staff, or the ticket's reporter: the only people who may change anything on it."""
        if not (user is not None and user.is_authenticated and user.is_active):
            return False
        return user.is_staff or user.pk == self.reporter_id

    def can_change_status(self, user, new_status: str) -> bool:
        if new_status not in self.TRANSITIONS.get(self.status, ()):
            return False
        if not user.is_authenticated or not user.is_active:
            return False
        if user.is_staff:
            return True
        return user.pk == self.reporter_id and (self.status, new_status) in (
            self.REPORTER_TRANSITIONS
        )

    def lock(self) -> Ticket:
        """Re-read this ticket's row with a row lock; call inside transaction.atomic()."""
        return type(self).objects.select_for_update().get(pk=self.pk)

    def check_version(self, expected_version: int | None) -> None:
        if expected_version is not None and expected_version != self.version:
            who = self.modified_by.username if self.modified_by_id else _("someone else")
            raise StaleTicketError(
                _(
                    "This ticket was changed by %(who)s after you opened it. "
                    "Reload the page to see the change, then try again."
                )
                % {"who": who},
                code="stale",
            )

    def touch(self, *, by, at=None, activity: bool = True) -> list[str]:
        """Mark a change by `by` (None: the system): bump the version; returns the fields set."""
        at = at or timezone.now()
        self.version += 1
        self.modified_at = at
        self.modified_by = by
        fields = ["version", "modified_at", "modified_by"]
        if activity:
            self.last_activity_at = at
            fields.append("last_activity_at")
        return fields

    def update_status(
        self, new_status: str, *, by, expected_version: int | None = None, notify: bool = True
    ):
        """Move the ticket to `new_status`: the one door for every status change.

        Checks the transition table and who is asking, locks the row, refuses a change made on a
        stale page, sets or clears `closed_at`, writes one TicketEvent and saves, atomically.
        Returns the event, or None when the ticket already has that status (a repeated submit).
        Raises ValidationError (unknown status, move not allowed, stale page) or PermissionDenied.

        `by=None` is the system (a scheduled command, never a request): it may make any allowed
        move, and the event records no actor. `notify=False`: the reporter is not emailed about
        the change, because the caller's public reply, written next in the same transaction,
        tells them (its email shows the new status): one email, not two.
        """
        if new_status not in self.Status.values:
            raise ValidationError(
                _("“%(value)s” is not a ticket status.") % {"value": new_status},
                code="invalid_status",
            )
        with transaction.atomic():
            locked = self.lock()
            is_system = by is None
            if not is_system and not locked.may_act_on(by):
                raise PermissionDenied(_("You may not change the status of this ticket."))
            if locked.status == new_status:
                self._copy_state_from(locked)
                return None
            locked.check_version(expected_version)
            if new_status not in self.TRANSITIONS[locked.status]:
                raise ValidationError(
                    _("A ticket cannot go from %(old)s to %(new)s.")
                    % {
                        "old": locked.get_status_display().lower(),
                        "new": str(self.Status(new_status).label).lower(),
                    },
                    code="invalid_transition",
                )
            if not is_system and not locked.can_change_status(by, new_status):
                raise PermissionDenied(_("You may not change the status of this ticket."))
            old_status = locked.status
            now = timezone.now()
            locked.status = new_status
            locked.closed_at = now if new_status == self.Status.CLOSED else None
            fields = ["status", "closed_at", *locked.touch(by=by, at=now)]
            locked.save(update_fields=fields)
            event = TicketEvent.objects.create(
                ticket=locked,
                actor=by,
                kind=TicketEvent.Kind.STATUS,
                from_value=old_status,
                to_value=new_status,
                created_at=now,
            )
            if notify:
                notifications.notify_status_changed(
                    locked, old_status=old_status, by=by, event=event
                )
            self._copy_state_from(locked)
        return event

    def _copy_state_from(self, other: Ticket) -> None:
        for field in self._meta.concrete_fields:
            if field.name != "id" and not field.generated:
                setattr(self, field.attname, getattr(other, field.attname))


class TicketTag(models.Model):
    """A tag on a ticket."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, verbose_name=_("ticket"))
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, verbose_name=_("tag"))

    class Meta:
        verbose_name = _("ticket tag")
        verbose_name_plural = _("ticket tags")
        constraints = [
            models.UniqueConstraint(fields=["ticket", "tag"], name="tickettag_unique"),
        ]
        indexes = [
            # A list filtered by a tag: its tickets.
            models.Index(fields=["tag", "ticket"], name="tickettag_tag"),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.tag_id}"


class TicketEvent(models.Model):
    """The audit trail: one row per status, assignment, priority, category or tag change, per
    file staff removed from the conversation, and for a ticket staff opened for a customer."""

    class Kind(models.TextChoices):
        STATUS = "status", _("Status")
        ASSIGNMENT = "assignment", _("Assignment")
        PRIORITY = "priority", _("Priority")
        CATEGORY = "category", _("Category")
        TAG = "tag", _("Tag")
        FILE_REMOVED = "file_removed", _("File removed")
        # The actor (staff) opened the ticket for its reporter; `to_value` is the reporter.
        OPENED_FOR = "opened_for", _("Opened for a customer")
        # A mail about the ticket bounced: `to_value` is the address, `from_value` the reason.
        BOUNCE = "bounce", _("Mail bounced")
        # An admin anonymised the reporter at their request (tickets.services.
        # customer_anonymise): `to_value` is the name the account has now.
        ANONYMISED = "anonymised", _("Customer anonymised")

    # A removed file's event: `from_value` is its name, `to_value` says where it was. The
    # timeline shows a note's file only to staff (tickets.selectors.ticket_timeline).
    FROM_NOTE = "internal note"

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="events", verbose_name=_("ticket")
    )
    # None means the system (a scheduled command), never an unknown person.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="ticket_events",
        null=True,
        blank=True,
        verbose_name=_("by"),
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    from_value = models.CharField(max_length=150, blank=True, verbose_name=_("old value"))
    to_value = models.CharField(max_length=150, blank=True, verbose_name=_("new value"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("time"))

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "status",
                        "assignment",
                        "priority",
                        "category",
                        "tag",
                        "file_removed",
                        "opened_for",
                        "bounce",
                        "anonymised",
                    ]
                ),
                name="ticketevent_kind_valid",
            ),
        ]
        indexes = [
            # A ticket's timeline; for reports, its status history without the table.
            models.Index(
                fields=["ticket", "created_at"],
                include=["kind", "from_value", "to_value"],
                name="ticketevent_ticket_time",
            ),
            # Closes by time, with the ticket and the event's id (the tie-breaker of a replay).
            models.Index(
                fields=["kind", "to_value", "created_at"],
                include=["ticket", "id"],
                name="ticketevent_closes_time",
            ),
            models.Index(
                fields=["kind", "from_value", "created_at"],
                include=["ticket"],
                name="ticketevent_kind_from_time",
            ),
            # Reports replay status events by time; on PostgreSQL the index covers the query.
            models.Index(
                fields=["kind", "created_at"],
                include=["from_value", "to_value"],
                name="ticketevent_kind_created",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.kind}: {self.from_value or '—'} → {self.to_value or '—'}"

    @property
    def description(self) -> str:
        return describe_event(self.kind, self.from_value, self.to_value)


def describe_event(kind: str, from_value: str, to_value: str) -> str:
    """What an event did, as the timeline says it after the actor's name (in the active
    language: gettext, called per event, as the page is drawn)."""
    old, new = from_value, to_value
    if kind == TicketEvent.Kind.STATUS:
        labels = dict(Ticket.Status.choices)
        return gettext("changed the status from %(old)s to %(new)s") % {
            "old": labels.get(old, old),
            "new": labels.get(new, new),
        }
    if kind == TicketEvent.Kind.OPENED_FOR:
        return gettext("opened the ticket for %(customer)s") % {"customer": new}
    if kind == TicketEvent.Kind.BOUNCE:
        if old:
            return gettext("could not deliver a mail to %(address)s (%(why)s)") % {
                "address": new,
                "why": old,
            }
        return gettext("could not deliver a mail to %(address)s") % {"address": new}
    if kind == TicketEvent.Kind.ANONYMISED:
        return gettext("anonymised the customer (%(name)s) at their request") % {"name": new}
    if kind == TicketEvent.Kind.FILE_REMOVED:
        if new == TicketEvent.FROM_NOTE:
            return gettext("removed the file “%(name)s” from an internal note") % {"name": old}
        return gettext("removed the file “%(name)s”") % {"name": old}
    if kind == TicketEvent.Kind.ASSIGNMENT:
        if not new:
            return gettext("unassigned %(name)s") % {"name": old}
        return gettext("assigned the ticket to %(name)s") % {"name": new}
    if kind == TicketEvent.Kind.TAG:
        if new:
            return gettext("tagged the ticket %(tag)s") % {"tag": new}
        return gettext("removed the tag %(tag)s") % {"tag": old}
    if kind == TicketEvent.Kind.CATEGORY:
        if not new:
            return gettext("removed the category %(name)s") % {"name": old}
        if not old:
            return gettext("set the category to %(name)s") % {"name": new}
        return gettext("changed the category from %(old)s to %(new)s") % {"old": old, "new": new}
    labels = dict(Ticket.Priority.choices)
    return gettext("changed the priority from %(old)s to %(new)s") % {
        "old": labels.get(old, old),
        "new": labels.get(new, new),
    }
