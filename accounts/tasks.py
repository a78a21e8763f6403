"""The outbox's Celery tasks (accounts/outbox.py does the work).

`send_emails` sends the rows a change queued, once its transaction has committed
(`send_after_commit`); `send_outbox` runs on the beat schedule (settings.CELERY_BEAT_SCHEDULE,
and `manage.py send_outbox` by hand) and sends whatever is still due. Both can run twice, or on two
workers at once, without sending a row twice. Without a broker they run in the calling process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial

from celery import shared_task
from django.db import transaction

from . import outbox

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def send_emails(email_ids: list[int]) -> None:
    outbox.send(email_ids)


@shared_task(ignore_result=True)
def send_outbox() -> None:
    outbox.send_due()


def send_after_commit(email_ids: Iterable[int]) -> None:
    """Have these outbox rows sent once the current transaction commits (at once outside one)."""
    email_ids = list(email_ids)
    if email_ids:
        transaction.on_commit(partial(_publish, email_ids))


def _publish(email_ids: list[int]) -> None:
    try:
        send_emails.delay(email_ids)
    except Exception as exc:
        # The broker is down: the rows are saved, and send_outbox sends them once it is
        # back. The change that queued them must not fail for it.
        logger.warning(
            "Could not hand %d email(s) to a worker (%s); they wait in the outbox",
            len(email_ids),
            type(exc).__name__,
            exc_info=True,
        )
