"""The outbox: every email the help desk sends is first a row, then a delivery.

`queue` writes each email as a django-post-office `Email` row in the caller's transaction, so a
change and the mail it causes are saved together (or not at all); `accounts.tasks` then asks a
worker to `send` those rows once the transaction commits, and a periodic task (`send_due`, also
`manage.py send_outbox`) sends whatever is still due: mail queued while the broker was
down, and retries.

It lives in accounts, the app every other one builds on, because every email goes through it:
the tickets' notifications (tickets/notifications.py) and the account emails too (confirmation
links, email changes, password resets: accounts/verification.py, accounts/forms.py).

Why not post-office's own sending: its task sends every queued row, from each worker that runs
it, with nothing to stop two workers sending the same row (its lock is a file on one machine).
Here a row is claimed before it is sent: in one short transaction, its next try
(`scheduled_time`) is moved past a lease (`LEASE`), with a row lock on PostgreSQL (SQLite's
transactions take the write lock when they begin), so no other worker or sweep picks it up while
it is being sent, and nothing is locked while the SMTP server answers. A worker that dies while
sending leaves its rows to be tried again when the lease is over.

A failed try is recorded as post-office records it (a `Log` row with the error, which the admin
shows) and tried again after RETRY_INTERVAL, then twice that, four times... (back-off), up to
MAX_RETRIES more times (settings.POST_OFFICE); then the mail is "failed", and `send_again` (the
admin's action) puts it back in the queue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from post_office.models import PRIORITY, STATUS, Email, Log
from post_office.settings import (
    get_batch_size,
    get_log_level,
    get_max_retries,
    get_retry_timedelta,
)

from .mail import AUTOMATIC_HEADERS

logger = logging.getLogger(__name__)

# How long a claimed row is left to the worker that claimed it: longer than a batch can take
# (BATCH_SIZE emails, each at most EMAIL_TIMEOUT seconds when the server hangs).
LEASE = timedelta(minutes=10)
# How long one run of the periodic task keeps sending before it leaves the rest to the next.
SWEEP_SECONDS = 45


@dataclass
class Mail:
    """One email to one address, as it will be sent."""

    to: str
    subject: str
    text: str
    html: str = ""
    message_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Sent:
    """What one send did: rows sent, rows that failed (tried again later or not)."""

    sent: int = 0
    failed: int = 0

    def __add__(self, other: Sent) -> Sent:
        return Sent(self.sent + other.sent, self.failed + other.failed)


def queue(mails: Iterable[Mail]) -> list[int]:
    """Write `mails` to the outbox in the current transaction; returns their ids.

    A mail the outbox refuses (an address it cannot use) is logged and left out: a notification
    must not undo the change that caused it.
    """
    rows = []
    for mail in mails:
        row = Email(
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[mail.to],
            subject=mail.subject,
            message=mail.text,
            html_message=mail.html,
            message_id=mail.message_id,
            headers={**AUTOMATIC_HEADERS, **mail.headers},
            status=STATUS.queued,
            priority=PRIORITY.medium,
        )
        try:
            row.full_clean()
        except ValidationError as exc:
            logger.error("An email was not queued: %s", "; ".join(exc.messages))
            continue
        rows.append(row)
    return [row.pk for row in Email.objects.bulk_create(rows)]


def due(now: datetime | None = None) -> QuerySet[Email]:
    """Rows waiting to be sent whose time has come (not sent, not failed, not claimed)."""
    now = now or timezone.now()
    return Email.objects.filter(
        Q(scheduled_time__isnull=True) | Q(scheduled_time__lte=now),
        status__in=[STATUS.queued, STATUS.requeued],
    )


def claim(*, ids: Iterable[int] | None = None, limit: int | None = None) -> list[Email]:
    """Take up to `limit` due rows (of `ids`, if given) for this worker, oldest first: each is
    nobody else's until it is sent or LEASE is over."""
    now = timezone.now()
    with transaction.atomic():
        rows = due(now).select_for_update(skip_locked=True).order_by("pk")
        if ids is not None:
            rows = rows.filter(pk__in=list(ids))
        pks = list(rows.values_list("pk", flat=True)[: limit or get_batch_size()])
        if not pks:
            return []
        Email.objects.filter(pk__in=pks).update(scheduled_time=now + LEASE)
    return list(Email.objects.filter(pk__in=pks).prefetch_related("attachments").order_by("pk"))


def send(ids: Iterable[int] | None = None, *, limit: int | None = None) -> Sent:
    """Claim the due rows among `ids` (or any due rows, up to `limit`) and send them over one
    connection. Safe to run twice, and on several workers at once: a row is sent once."""
    emails = claim(ids=ids, limit=limit)
    if not emails:
        return Sent()
    sent: list[Email] = []
    failed: list[tuple[Email, Exception]] = []
    connection = get_connection()
    try:
        connection.open()
    except Exception as exc:  # the server is down or refuses us: every row waits for a retry
        failed = [(email, exc) for email in emails]
    else:
        try:
            for email in emails:
                try:
                    connection.send_messages([email.email_message()])
                except Exception as exc:  # this one failed; the others still go
                    failed.append((email, exc))
                else:
                    sent.append(email)
        finally:
            try:
                connection.close()
            except Exception:
                logger.warning("Could not close the mail server connection", exc_info=True)
    _record(sent, failed)
    return Sent(sent=len(sent), failed=len(failed))


def _record(sent: list[Email], failed: list[tuple[Email, Exception]]) -> None:
    now = timezone.now()
    if sent:
        Email.objects.filter(pk__in=[email.pk for email in sent]).update(
            status=STATUS.sent, scheduled_time=None, last_updated=now
        )
        if get_log_level() >= 2:
            Log.objects.bulk_create(Log(email=email, status=STATUS.sent) for email in sent)
    if not failed:
        return
    max_retries, interval = get_max_retries(), get_retry_timedelta()
    for email, exc in failed:
        tries = email.number_of_retries or 0
        if tries < max_retries:
            email.status = STATUS.requeued
            email.number_of_retries = tries + 1
            email.scheduled_time = now + interval * 2**tries
            logger.warning(
                "Email #%s was not sent (%s); next try at %s",
                email.pk,
                type(exc).__name__,
                email.scheduled_time.isoformat(timespec="seconds"),
            )
        else:
            email.status = STATUS.failed
            email.scheduled_time = None
            logger.error(
                "Email #%s was not sent (%s) after %d tries: it is listed as failed in the admin",
                email.pk,
                type(exc).__name__,
                tries + 1,
            )
        email.last_updated = now
    Email.objects.bulk_update(
        [email for email, _ in failed],
        ["status", "number_of_retries", "scheduled_time", "last_updated"],
    )
    if get_log_level() >= 1:
        Log.objects.bulk_create(
            Log(
                email=email,
                status=STATUS.failed,
                message=str(exc) or type(exc).__name__,
                exception_type=type(exc).__name__,
            )
            for email, exc in failed
        )


def send_due(*, seconds: float = SWEEP_SECONDS) -> Sent:
    """Send every due row, a batch at a time, for at most about `seconds`; stops early when a
    whole batch failed (the server is down: the next run tries again)."""
    deadline = time.monotonic() + seconds
    total = Sent()
    while time.monotonic() < deadline:
        batch = send()
        total += batch
        if batch.sent == 0:
            break
    return total


def send_again(ids: Iterable[int]) -> list[int]:
    """Put failed rows among `ids` back in the queue, to be tried at once with a new set of
    retries. Returns the ids put back (rows not failed are left alone: they are sent, or still
    being tried)."""
    with transaction.atomic():
        pks = list(
            Email.objects.select_for_update()
            .filter(pk__in=list(ids), status=STATUS.failed)
            .values_list("pk", flat=True)
        )
        Email.objects.filter(pk__in=pks).update(
            status=STATUS.queued,
            number_of_retries=0,
            scheduled_time=None,
            last_updated=timezone.now(),
        )
    return pks
