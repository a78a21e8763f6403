"""Fetching the support mailbox by IMAP (`manage.py fetch_mail`, and beat every
INBOUND_FETCH_INTERVAL seconds through messaging.tasks.fetch_mail).

Each run takes a lock in Redis first, so that two workers (or a worker and an operator) never
fetch the same mailbox at once; without Redis (the `make run` default: one process) there is no
lock. Then, for each waiting mail: its size is asked first (a mail over INBOUND_MAX_BYTES is not
downloaded: its headers are recorded, quarantined), it is downloaded without being marked read
(BODY.PEEK), stored and applied by messaging.inbound.ingest, which commits, and only then is it
marked done on the server: moved to IMAP_PROCESSED_FOLDER, or flagged \\Seen. A server (or a
connection) that goes down half-way loses nothing: a mail stored but not yet marked is fetched
again next time, and ingest knows it already (the same sender and Message-ID, or the same
bytes): it is marked done and nothing is applied twice. Nothing is ever deleted.

One bad mail never stops the others: an error while storing one (outside the processing,
which records its own failures) is caught for that mail alone; it is stored as failed if it
can be (and marked done), else left on the server as it is, and the run goes on.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted

from .inbound import ingest, ingest_failed, ingest_too_large
from .models import InboundEmail

logger = logging.getLogger("helpdesk.inbound")

# How long one run goes on fetching before it leaves the rest to the next run.
FETCH_SECONDS = 50
# The lock's lease: longer than a run can take (FETCH_SECONDS, plus one mail at the limit).
LOCK_SECONDS = 600
SIZES_AT_ONCE = 200
_SIZE = re.compile(rb"UID (\d+)[^)]*?RFC822\.SIZE (\d+)|RFC822\.SIZE (\d+)[^)]*?UID (\d+)")


@dataclass(frozen=True)
class Fetched:
    """What one fetched mail became: its line for the output (not the row itself, so that a
    long run keeps no mail in memory)."""

    uid: str
    record_id: int | None  # None: it could not be stored, and is left on the server
    created: bool
    line: str

    @property
    def stored(self) -> bool:
        return self.record_id is not None


@dataclass
class FetchRun:
    """What one run did: the mails, and whether another fetcher held the lock."""

    locked_out: bool = False
    mails: list[Fetched] = field(default_factory=list)


def lock_url() -> str:
    """The Redis the lock lives in: REDIS_URL, else the broker when it is Redis."""
    if settings.REDIS_URL:
        return settings.REDIS_URL
    broker = settings.CELERY_BROKER_URL or ""
    return broker if broker.startswith(("redis://", "rediss://")) else ""


class LockUnavailable(Exception):
    """Redis, where the mailbox's lock lives, does not answer: nothing is fetched."""


@contextmanager
def fetch_lock() -> Iterator[bool]:
    """Hold the mailbox's lock (yields True), or yield False when another fetcher has it.
    Raises LockUnavailable when Redis does not answer (nothing is fetched then: without the
    lock, two fetchers could take the same mail)."""
    url = lock_url()
    if not url:
        yield True  # one process (no Redis): nobody else fetches
        return
    import redis

    client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
    prefix = settings.CACHES["default"].get("KEY_PREFIX") or "helpdesk"
    mailbox = (
        f"{settings.IMAP_USER}@{settings.IMAP_HOST}:{settings.IMAP_PORT}/{settings.IMAP_FOLDER}"
    )
    name = f"{prefix}:fetch-mail:{mailbox}"
    lock = client.lock(name, timeout=LOCK_SECONDS, blocking=False)
    try:
        acquired = lock.acquire(blocking=False)
    except redis.exceptions.RedisError as exc:
        client.close()
        raise LockUnavailable(
            f"Redis ({redact_url(url)}), where the mailbox's lock is taken, does not answer: "
            f"{exc} ({type(exc).__name__})"
        ) from exc
    try:
        yield acquired
    finally:
        if acquired:
            try:
                lock.release()
            except redis.exceptions.LockError:  # the lease ran out: someone else may hold it
                logger.warning("The fetch lock ran out before the fetch ended")
            except redis.exceptions.RedisError as exc:  # Redis went down: the lease runs out
                logger.warning("Could not release the fetch lock (%s)", type(exc).__name__)
        client.close()


def redact_url(url: str) -> str:
    """A URL without its password, to be shown."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def connect():
    """The IMAP connection the settings describe (not logged in yet)."""
    if not settings.IMAP_HOST:
        raise ImproperlyConfigured("Set IMAP_HOST (and IMAP_USER, IMAP_PASSWORD) to fetch mail.")
    host, port, timeout = settings.IMAP_HOST, settings.IMAP_PORT, settings.IMAP_TIMEOUT
    if settings.IMAP_SECURITY == "ssl":
        return MailBox(host, port, timeout=timeout)
    if settings.IMAP_SECURITY == "starttls":
        return MailBoxStartTls(host, port, timeout=timeout)
    return MailBoxUnencrypted(host, port, timeout=timeout)


def _sizes(box, uids: list[str]) -> dict[str, int]:
    """Each mail's size as the server tells it, before anything is downloaded."""
    sizes: dict[str, int] = {}
    for start in range(0, len(uids), SIZES_AT_ONCE):
        chunk = ",".join(uids[start : start + SIZES_AT_ONCE])
        status, data = box.client.uid("FETCH", chunk, "(UID RFC822.SIZE)")
        if status != "OK":
            raise OSError(f"the IMAP server would not give the sizes: {data!r}")
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            match = _SIZE.search(line or b"")
            if match:
                uid = match[1] or match[4]
                sizes[uid.decode()] = int(match[2] or match[3])
    return sizes


def _download(box, uid: str, part: str = "BODY.PEEK[]") -> bytes:
    """The mail's bytes exactly as stored (not re-encoded), without marking it read."""
    status, data = box.client.uid("FETCH", uid, f"({part})")
    if status != "OK":
        raise OSError(f"the IMAP server would not give mail {uid}: {data!r}")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            return item[1]
    raise OSError(f"mail {uid} is gone from the server")


def _mark_done(box, uid: str) -> None:
    if settings.IMAP_PROCESSED_FOLDER:
        box.move(uid, settings.IMAP_PROCESSED_FOLDER)
    else:
        box.flag(uid, "\\Seen", True)


def _store(box, uid: str, raw: bytes, store, source: str) -> Fetched:
    """Store and apply one mail, then mark it done on the server. An error while storing it
    (outside the processing, which records its own failures) does not stop the run, nor block
    the mailbox on every later run: the mail is stored as failed if it can be (and marked done:
    it is kept, and can be processed again from the admin), else left on the server as it is,
    to be fetched again next time."""
    try:
        result = store(raw, source=source)
    except Exception as exc:
        logger.exception("Mail %s could not be stored and applied", uid)
        result = ingest_failed(raw, source=source, error=exc)
        if result is None:
            line = (
                f"failed and not stored ({type(exc).__name__}: {exc}): left on the server, "
                "fetched again next time"
            )
            return Fetched(uid=uid, record_id=None, created=False, line=line)
    record, created = result
    _mark_done(box, uid)
    return Fetched(
        uid=uid, record_id=record.pk, created=created, line=describe(record, created=created)
    )


def fetch_mail(
    *,
    report: Callable[[Fetched], None] | None = None,
    limit: int | None = None,
    seconds: float = FETCH_SECONDS,
) -> FetchRun:
    """Fetch, store and apply the waiting mail (at most `limit`, for about `seconds`), each
    marked done on the server once it is stored; `report` is told of each mail as it is done.
    Raises the connection's error when the server fails (what was stored stays stored)."""
    run = FetchRun()
    with fetch_lock() as acquired:
        if not acquired:
            run.locked_out = True
            return run
        deadline = time.monotonic() + seconds
        with connect() as box:
            box.login(settings.IMAP_USER, settings.IMAP_PASSWORD, settings.IMAP_FOLDER)
            processed = settings.IMAP_PROCESSED_FOLDER
            if processed and not box.folder.exists(processed):
                box.folder.create(processed)
            uids = box.uids("ALL" if processed else "UNSEEN")[:limit]
            sizes = _sizes(box, uids)
            source = f"imap {settings.IMAP_USER}@{settings.IMAP_HOST}/{settings.IMAP_FOLDER}"
            for uid in uids:
                if time.monotonic() > deadline:
                    break
                size = sizes.get(uid)
                if size is None:
                    continue  # gone since the search (another client moved it)
                if size > settings.INBOUND_MAX_BYTES:
                    raw = _download(box, uid, "BODY.PEEK[HEADER]")
                    store = partial(ingest_too_large, size=size)
                else:
                    raw = _download(box, uid)
                    store = ingest
                fetched = _store(box, uid, raw, store, source)
                run.mails.append(fetched)
                if report is not None:
                    report(fetched)
    return run


def describe(record: InboundEmail, *, created: bool = True) -> str:
    """One line about what a mail became, for the commands' output."""
    if not created:
        return f"already stored as #{record.pk} ({record.status}): nothing done again"
    return f"#{record.pk} from {record.from_address or '(no sender)'}: {record.status}, " + (
        record.reason
    )
