"""Email notifications: who hears about what.

Mail goes out after the transaction commits (`transaction.on_commit`), so a change that is rolled
back sends nothing, and a failing mail server is logged without failing the request or losing the
change. Never for internal notes; never to the person who made the change; never to a user who
turned notifications off on their profile page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


def ticket_url(ticket) -> str:
    return f"{settings.SITE_URL}{ticket.get_absolute_url()}"


def addresses(users: Iterable, *, exclude=None) -> list[str]:
    """The email addresses of the users who want mail, without the one who acted."""
    exclude_pk = getattr(exclude, "pk", None)
    seen: set[str] = set()
    result = []
    for user in users:
        if user is None or user.pk == exclude_pk:
            continue
        if not (user.is_active and user.notify_by_email and user.email):
            continue
        if user.email.lower() not in seen:
            seen.add(user.email.lower())
            result.append(user.email)
    return result


def staff_addresses(*, exclude=None) -> list[str]:
    """Who hears about unassigned work: HELPDESK_STAFF_EMAILS if set, or else every agent."""
    configured = list(settings.HELPDESK_STAFF_EMAILS)
    if configured:
        excluded = (getattr(exclude, "email", "") or "").lower()
        return [address for address in configured if address.lower() != excluded]
    staff = get_user_model().objects.staff().filter(notify_by_email=True).order_by("pk")
    return addresses(staff, exclude=exclude)


def ticket_context(ticket) -> dict:
    """What every ticket email shows, copied now so the email says what was true at the time."""
    return {
        "ticket_id": ticket.pk,
        "title": ticket.title,
        "status": ticket.get_status_display(),
        "priority": ticket.get_priority_display(),
        "url": ticket_url(ticket),
        "site_url": settings.SITE_URL,
    }


def send_after_commit(template: str, recipients: list[str], context: dict) -> None:
    """Send `emails/<template>` (subject, text and HTML) to each recipient once committed."""
    if recipients:
        transaction.on_commit(partial(_send, template, list(recipients), dict(context)))


def _send(template: str, recipients: list[str], context: dict) -> None:
    try:
        subject = render_to_string(f"emails/{template}_subject.txt", context)
        # One line, whatever a title contains (a header cannot hold a line break).
        subject = " ".join(subject.split())
        text = render_to_string(f"emails/{template}.txt", context)
        html = render_to_string(f"emails/{template}.html", context)
        # One email per recipient, so nobody sees the others' addresses.
        emails = []
        for address in recipients:
            email = EmailMultiAlternatives(subject, text, to=[address])
            email.attach_alternative(html, "text/html")
            emails.append(email)
        get_connection().send_messages(emails)
    except Exception:
        # The change is saved already; a mail problem must not turn it into an error page.
        logger.exception(
            "Could not send the %s email for ticket #%s to %d recipient(s)",
            template,
            context.get("ticket_id"),
            len(recipients),
        )


def notify_ticket_created(ticket) -> None:
    send_after_commit(
        "ticket_created",
        staff_addresses(exclude=ticket.reporter),
        {
            **ticket_context(ticket),
            "reporter": ticket.reporter.username,
            "description": ticket.description,
        },
    )


def notify_status_changed(ticket, *, old_status: str, by) -> None:
    """The reporter hears about every status change they did not make themselves."""
    labels = dict(ticket.Status.choices)
    send_after_commit(
        "status_changed",
        addresses([ticket.reporter], exclude=by),
        {
            **ticket_context(ticket),
            "old_status": labels.get(old_status, old_status),
            "actor": by.username if by is not None else "The help desk",
        },
    )


def notify_assigned(ticket, *, by) -> None:
    """The new assignee hears that the ticket is theirs now (unless they took it)."""
    send_after_commit(
        "ticket_assigned",
        addresses([ticket.assignee], exclude=by),
        {
            **ticket_context(ticket),
            "actor": by.username if by is not None else "The help desk",
            "reporter": ticket.reporter.username,
        },
    )
