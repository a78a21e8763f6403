"""The fixed cast every test can use, small helpers to make tickets and messages, and the
property tests' hypothesis profiles."""

import itertools
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache, caches
from django.test.utils import override_settings
from django.utils import timezone, translation
from hypothesis import settings as hypothesis_settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import DirectoryBasedExampleDatabase

from accounts.management.commands.compile_translations import catalogues, compile_po
from accounts.models import AGENTS_GROUP, User
from helpdesk_site.celery import app as celery_app
from messaging.services import message_send
from tests.mail_helpers import SmtpServer, send_over
from tickets.models import Ticket
from tickets.services import ticket_create

# The translations, compiled before any test draws a page: plain `pytest` works as `make test`
# does (a catalogue whose .mo is newer is left alone; each xdist worker may try, safely).
for catalogue in catalogues():
    compile_po(catalogue)

LOCMEM = "django.core.cache.backends.locmem.LocMemCache"
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)

# Hypothesis draws new examples on every run (never derandomized: each CI run explores further),
# and a failure can be replayed: it is kept in the example database, which the next run (CI's
# PostgreSQL pass after its SQLite pass, or a developer's rerun) tries first, and print_blob
# prints the @reproduce_failure line to paste above the test. Its caches and the database live
# in test-artifacts/hypothesis/ (not in git). 200 examples per property, as before (with the
# suite on two workers, they cost about what 100 did); HYPOTHESIS_PROFILE=quick (20) while
# iterating, =thorough (2,000) for a long hunt; --hypothesis-profile and --hypothesis-seed work.
HYPOTHESIS_DIR = Path(__file__).resolve().parent / "test-artifacts" / "hypothesis"
set_hypothesis_home_dir(HYPOTHESIS_DIR)
hypothesis_settings.register_profile(
    "helpdesk",
    max_examples=200,
    derandomize=False,
    database=DirectoryBasedExampleDatabase(HYPOTHESIS_DIR / "examples"),
    print_blob=True,
)
hypothesis_settings.register_profile(
    "quick", hypothesis_settings.get_profile("helpdesk"), max_examples=20
)
hypothesis_settings.register_profile(
    "thorough", hypothesis_settings.get_profile("helpdesk"), max_examples=2000
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "helpdesk"))


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    """bcrypt is slow on purpose; the tests that prove bcrypt opt back in."""
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(autouse=True)
def _no_hourly_optimize(settings):
    """SQLite's hourly PRAGMA optimize after a request is not part of any page's queries; the
    tests of it (tickets/tests/test_db_statistics.py) turn it on."""
    settings.SQLITE_OPTIMIZE_EVERY = None


@pytest.fixture(scope="session", autouse=True)
def attachment_root(tmp_path_factory) -> Path:
    """Where this test process (and the servers and commands it starts) keeps attachments: a
    temporary folder, never the project's own. Set for the whole session, before any fixture
    of a module writes a file."""
    root = tmp_path_factory.mktemp("attachments")
    storage = settings.STORAGES["attachments"]
    override = None
    if storage["BACKEND"].endswith("FileSystemStorage"):
        override = override_settings(
            STORAGES={
                **settings.STORAGES,
                "attachments": {**storage, "OPTIONS": {**storage["OPTIONS"], "location": root}},
            }
        )
        override.enable()
    previous = os.environ.get("ATTACHMENT_ROOT")
    os.environ["ATTACHMENT_ROOT"] = str(root)
    yield root
    if override is not None:
        override.disable()
    if previous is None:
        os.environ.pop("ATTACHMENT_ROOT", None)
    else:
        os.environ["ATTACHMENT_ROOT"] = previous


@pytest.fixture(autouse=True, scope="session")
def _tasks_run_in_the_test_process():
    """Celery tasks run where they are called (eager), whatever broker the environment names:
    a test sees their effect at once. tests/test_worker.py starts real workers."""
    celery_app.conf.task_always_eager = True


@pytest.fixture(autouse=True)
def _generous_account_limits(settings):
    """Tests make many accounts and emails from one address (hypothesis, hundreds); the tests of
    the limits (accounts/tests/test_email_confirmation.py) set them back."""
    settings.ACCOUNT_EMAILS_PER_ADDRESS = 10_000
    settings.ACCOUNT_REQUESTS_PER_CLIENT = 10_000


@pytest.fixture(autouse=True)
def _site_language():
    """Each test starts in the site's language and zone: a request activates its reader's
    language for the rest of the thread (as Django does; the next request activates its own),
    which must not carry over into the next test."""
    yield
    translation.activate(settings.LANGUAGE_CODE)
    timezone.deactivate()


@pytest.fixture(scope="session", autouse=True)
def _fragments_cache():
    """The rendered rows' cache as production has it (settings turn it off with DEBUG, which
    is on when the settings load for the tests), so every page test goes through it."""
    override = override_settings(
        CACHES={
            **settings.CACHES,
            "fragments": {**settings.CACHES["fragments"], "BACKEND": LOCMEM},
        }
    )
    override.enable()
    yield
    override.disable()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: a report one test computed is not another's."""
    cache.clear()
    caches["fragments"].clear()


def create_user(username: str, *, staff: bool = False, superuser: bool = False) -> User:
    """A user with PASSWORD (hashed with the hasher in force: FAST_HASHERS inside a test); an
    agent is in the Agents group. The cast's fixtures and module-wide casts use it."""
    user = User.objects.create_user(
        username=username,
        email=f"{username}@example.com",
        password=PASSWORD,
        is_staff=staff or superuser,
        is_superuser=superuser,
    )
    if staff and not superuser:
        user.groups.add(Group.objects.get(name=AGENTS_GROUP))
    return user


@pytest.fixture
def make_user(db):
    return create_user


@pytest.fixture
def customer(db) -> User:
    return create_user("customer")


@pytest.fixture
def other_customer(db) -> User:
    return create_user("other_customer")


@pytest.fixture
def agent(db) -> User:
    return create_user("agent", staff=True)


@pytest.fixture
def other_agent(db) -> User:
    return create_user("other_agent", staff=True)


@pytest.fixture
def admin_user(db) -> User:
    return create_user("admin", superuser=True)


@pytest.fixture
def make_ticket(db):
    def make(reporter: User, **fields) -> Ticket:
        fields.setdefault("title", f"Printer on fire {next(_counter)}")
        fields.setdefault("description", "Smoke is coming out of the printer.")
        return ticket_create(reporter=reporter, **fields)

    return make


@pytest.fixture
def make_message(db):
    def make(ticket: Ticket, sender: User, content: str = "Hello", **fields):
        return message_send(ticket=ticket, sender=sender, content=content, **fields)

    return make


@pytest.fixture
def ticket(make_ticket, customer) -> Ticket:
    return make_ticket(customer)


@pytest.fixture
def deactivate():
    """Turn a user's account off (they can no longer log in or receive mail)."""

    def do(user: User) -> User:
        user.is_active = False
        user.save(update_fields=["is_active"])
        return user

    return do


@pytest.fixture
def login(client):
    """Log the test client in as a user (no password check: the login tests do that)."""

    def do(user: User):
        client.force_login(user, backend="accounts.backends.UsernameOrEmailBackend")
        return client

    return do


@pytest.fixture
def smtp(settings):
    """Django sends over SMTP to a real server (aiosmtpd) on a loopback port, started."""
    server = send_over(settings, SmtpServer().start())
    yield server
    server.stop()
