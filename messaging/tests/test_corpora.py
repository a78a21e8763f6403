"""Mail nobody here wrote: CPython's own email test messages (Debian's libpython3.11-testsuite,
test_email/data/msg_*.txt) and the .eml files shipped in the django-mailbox wheel (a test-only
dependency, read as files: it is not an installed app). Every one is ingested without an
exception and ends with a status that is not "failed". Each corpus skips, saying why, where it
is not installed (.ci/run installs both)."""

from __future__ import annotations

import importlib.util
import sysconfig
from collections import Counter
from pathlib import Path

import pytest

from messaging.inbound import ingest
from messaging.models import InboundEmail
from messaging.tests.inbound_helpers import mail_settings  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mail_settings")]


def cpython_messages() -> list[Path]:
    data = Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_email" / "data"
    return sorted(data.glob("msg_*.txt"))


def django_mailbox_messages() -> list[Path]:
    spec = importlib.util.find_spec("django_mailbox")
    if spec is None or not spec.submodule_search_locations:
        return []
    return sorted(Path(next(iter(spec.submodule_search_locations))).rglob("*.eml"))


def ingest_all(paths: list[Path], settings) -> Counter:
    settings.INBOUND_MAX_NEW_PER_HOUR = 10_000  # the corpora share a few senders
    statuses = Counter()
    for path in paths:
        record, created = ingest(path.read_bytes(), source=f"corpus {path.name}")
        record.refresh_from_db()
        assert record.status != InboundEmail.Status.FAILED, (path.name, record.reason)
        assert record.reason, path.name
        statuses[record.status if created else "duplicate"] += 1
    print(f"\n{len(paths)} mails: {dict(sorted(statuses.items()))}")  # the closing note's counts
    return statuses


def test_cpython_email_test_messages_each_end_with_a_status(settings):
    paths = cpython_messages()
    if not paths:
        pytest.skip("needs CPython's email test data (apt-get install libpython3.11-testsuite)")

    statuses = ingest_all(paths, settings)

    assert sum(statuses.values()) == len(paths) >= 40
    assert statuses[InboundEmail.Status.PROCESSED] > 0


def test_django_mailbox_sample_messages_each_end_with_a_status(settings):
    paths = django_mailbox_messages()
    if not paths:
        pytest.skip("needs the django-mailbox wheel's sample mails (pip install django-mailbox)")

    statuses = ingest_all(paths, settings)

    assert sum(statuses.values()) == len(paths) >= 10
    assert statuses[InboundEmail.Status.PROCESSED] > 0
