"""Inbound mail's Celery task: `fetch_mail` on the beat schedule (every INBOUND_FETCH_INTERVAL
seconds when IMAP_HOST is set; `manage.py fetch_mail` by hand). Safe to run twice or on two
workers at once: one holds the mailbox's lock, the other does nothing."""

from __future__ import annotations

import logging

from celery import shared_task

from . import mailbox

logger = logging.getLogger("helpdesk.inbound")


@shared_task(ignore_result=True)
def fetch_mail() -> None:
    run = mailbox.fetch_mail()
    if run.locked_out:
        logger.info("fetch_mail: another fetcher holds the lock")
        return
    for fetched in run.mails:
        level = logging.INFO if fetched.stored else logging.WARNING
        logger.log(level, "fetch_mail: mail %s: %s", fetched.uid, fetched.line)
