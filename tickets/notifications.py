"""Email notifications: who hears about what, and what each email carries.

Each email is written to the outbox (accounts/outbox.py) in the transaction of the change that
caused it, and sent by a worker after the commit: a change that is rolled back sends nothing,
and a mail server or broker that is down delays the mail, never loses it, and never fails the
change. Never for internal notes; never to the person who made the change; never to a user who
turned notifications off (on their profile page, or with the link in any email).

What customers hear about: public replies on their ticket, and their ticket closed or reopened
by someone else (not its becoming active), and a ticket staff opened for them. Staff: new
tickets, a reporter's replies, and a
ticket assigned to them.

Every email of a ticket has the same subject (`[#12] Title`, `Re: ` before all but the first)
and answers the ticket's own Message-ID (In-Reply-To, References), so mail clients show a
ticket's emails as one conversation; its Message-ID and plus address are signed
(tickets/mail_ids.py); and an email to a user has a one-click List-Unsubscribe (RFC 8058).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import outbox
from accounts.locale import for_reader
from accounts.mail import unsubscribe_token
from accounts.tasks import send_after_commit

from . import mail_ids


@dataclass(frozen=True)
class Recipient:
    address: str
    # None for an address of HELPDESK_STAFF_EMAILS, which belongs to no user.
    user: object | None = None


def ticket_url(ticket) -> str:
    return f"{settings.SITE_URL}{ticket.get_absolute_url()}"


def unsubscribe_url(user) -> str:
    return f"{settings.SITE_URL}{reverse('accounts:unsubscribe', args=[unsubscribe_token(user)])}"


# The kinds of mail a person may turn off on their profile page, each the User field that says
# whether they want it (notify_by_email, which the unsubscribe link turns off, is all of them).
REPLIES = "notify_replies"
STATUS_CHANGES = "notify_status"


def recipients(users: Iterable, *, exclude=None, kind: str | None = None) -> list[Recipient]:
    """The users who want mail (of this `kind`: REPLIES, STATUS_CHANGES; None: any mail they
    have not turned off altogether), once each, without the one who acted."""
    exclude_pk = getattr(exclude, "pk", None)
    seen: set[str] = set()
    result = []
    for user in users:
        if user is None or user.pk == exclude_pk:
            continue
        if not (user.is_active and user.notify_by_email and user.email):
            continue
        if kind is not None and not getattr(user, kind):
            continue
        if user.email_undeliverable_at is not None:  # it bounced: staff clear it in the admin
            continue
        if user.email.lower() not in seen:
            seen.add(user.email.lower())
            result.append(Recipient(user.email, user))
    return result


def staff_recipients(*, exclude=None, kind: str | None = None) -> list[Recipient]:
    """Who hears about unassigned work: HELPDESK_STAFF_EMAILS if set, or else every agent
    (who wants mail of this `kind`)."""
    configured = list(settings.HELPDESK_STAFF_EMAILS)
    if configured:
        excluded = (getattr(exclude, "email", "") or "").lower()
        return [Recipient(address) for address in configured if address.lower() != excluded]
    staff = (
        get_user_model()
        .objects.staff()
        .filter(notify_by_email=True, email_undeliverable_at__isnull=True)
        .order_by("pk")
    )
    if kind is not None:
        staff = staff.filter(**{kind: True})
    return recipients(staff, exclude=exclude, kind=kind)


def ticket_context(ticket, *, for_customer: bool = False) -> dict:
    """What every ticket email shows, copied now so the email says what was true at the time.
    `for_customer`: the status in the customer's words ("Waiting for your reply"), not the
    staff's. The labels stay lazy and `when` aware: each is said in its recipient's language
    and time zone when their copy is rendered (queue_ticket_email)."""
    status = ticket.customer_status_words if for_customer else ticket.Status(ticket.status).label
    return {
        "ticket_id": ticket.pk,
        "title": ticket.title,
        "status": status,
        "priority": ticket.Priority(ticket.priority).label,
        "when": timezone.now(),
        "url": ticket_url(ticket),
        "site_url": settings.SITE_URL,
        "reply_by_mail": bool(settings.HELPDESK_EMAIL),
    }


def subject(ticket_id: int, title: str, *, follow_up: bool) -> str:
    # One line, whatever a title contains (a header cannot hold a line break).
    line = " ".join(f"[#{ticket_id}] {title}".split())
    return f"Re: {line}" if follow_up else line


def queue_ticket_email(
    template: str,
    to: list[Recipient],
    context: dict,
    *,
    message_id: int = 0,
    event_id: int | None = None,
) -> list[int]:
    """Write `emails/<template>` (text and HTML) to each recipient into the outbox, to be sent
    after the commit: about the ticket's message `message_id` (0: the ticket itself, the first
    email of its thread) or its event `event_id`. Returns the outbox ids."""
    if not to:
        return []
    ticket_id = context["ticket_id"]
    root = mail_ids.thread_root(ticket_id)
    this_id = mail_ids.message_id(ticket_id, message_id=message_id, event_id=event_id)
    follow_up = this_id != root
    headers = {}
    if follow_up:
        headers.update({"In-Reply-To": root, "References": root})
    reply_to = mail_ids.reply_address(ticket_id)
    if reply_to:
        headers["Reply-To"] = reply_to
    mails = []
    # One email per recipient, so nobody sees the others' addresses, each with its own link.
    for recipient in to:
        personal = dict(headers)
        link = None
        if recipient.user is not None:
            link = unsubscribe_url(recipient.user)
            personal["List-Unsubscribe"] = f"<{link}>"
            personal["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        full_context = {**context, "unsubscribe_url": link}
        # In the recipient's language and time zone (their profile's, else the site's).
        with for_reader(recipient.user):
            text = render_to_string(f"emails/{template}.txt", full_context)
            html = render_to_string(f"emails/{template}.html", full_context)
        mails.append(
            outbox.Mail(
                to=recipient.address,
                subject=subject(ticket_id, context["title"], follow_up=follow_up),
                text=text,
                html=html,
                message_id=this_id,
                headers=personal,
            )
        )
    ids = outbox.queue(mails)
    send_after_commit(ids)
    return ids


def notify_ticket_created(ticket, *, opened_by=None) -> None:
    """Staff hear of a new ticket (not whoever opened it). A ticket opened for a customer by
    `opened_by` (staff): the customer hears of it too, with how to choose a password if their
    account has none yet."""
    context = {
        **ticket_context(ticket),
        "reporter": ticket.reporter.username,
        "description": ticket.description,
    }
    if opened_by is None:
        queue_ticket_email("ticket_created", staff_recipients(exclude=ticket.reporter), context)
        return
    queue_ticket_email(
        "ticket_created",
        staff_recipients(exclude=opened_by),
        {**context, "opened_by": opened_by.username},
    )
    queue_ticket_email(
        "ticket_opened_for",
        recipients([ticket.reporter], exclude=opened_by),
        {
            **context,
            **ticket_context(ticket, for_customer=True),
            "actor": opened_by.get_full_name() or opened_by.username,
            "reset_url": None
            if ticket.reporter.has_usable_password()
            else f"{settings.SITE_URL}{reverse('accounts:password_reset')}",
        },
    )


def notify_status_changed(ticket, *, old_status: str, by, event) -> None:
    """The reporter hears that their ticket was closed or reopened, unless they did it."""
    closed = ticket.status == ticket.Status.CLOSED
    reopened = old_status == ticket.Status.CLOSED and ticket.status == ticket.Status.OPEN
    if not (closed or reopened):
        return
    queue_ticket_email(
        "status_changed",
        recipients([ticket.reporter], exclude=by, kind=STATUS_CHANGES),
        {
            **ticket_context(ticket, for_customer=True),
            "closed": closed,
            "actor": by.username if by is not None else _("The help desk"),
        },
        event_id=event.pk,
    )


def notify_assigned(ticket, *, by, event) -> None:
    """The new assignee hears that the ticket is theirs now (unless they took it)."""
    queue_ticket_email(
        "ticket_assigned",
        recipients([ticket.assignee], exclude=by),
        {
            **ticket_context(ticket),
            "actor": by.username if by is not None else _("The help desk"),
            "reporter": ticket.reporter.username,
        },
        event_id=event.pk,
    )
