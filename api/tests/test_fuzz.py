"""schemathesis against the live schema, in process (the WSGI app): no server errors, no
answer that breaks the schema, and the access rules under fuzzing, for two customers and an
agent.

Each actor has real things to find: both customers a ticket with a file, a message of their
own with a file, a staff reply and an internal note with a file. A fuzzed id would almost
always be a 404, so each generated case is also sent with its path pinned to those real ids
(`pins`): a customer's own, an internal note on their own ticket, the other customer's
message and file under their own ticket's id, the other customer's ticket; for the agent, a
customer's, a note, another ticket's message and file and another agent's canned reply. Two
checks of our own run on every answer besides schemathesis's: a pinned id that is not the
actor's to have gets a 404 (or exactly the answer an id nothing has gets: a 400 for a query
string refused first, a 405 for a method the path does not have) and changes nothing; and no
answer to a customer holds an internal note or anything of the other customer's (marker
strings in all of them: titles, texts, file names and bytes).
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import (
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
)

from accounts.services import api_token_create
from messaging.models import Attachment, CannedReply, Message
from messaging.services import attachment_add, message_send, ticket_create_with_files
from messaging.tests.file_helpers import pdf_upload
from tickets.models import Ticket

from .conftest import FUZZ_PROPERTY

# Two checks judge what the schema cannot say: an id of no category is schema-valid but refused
# (400, positive_data_acceptance), and an empty filter (?status=) is ignored as on the pages
# rather than refused (negative_data_rejection). Every other check runs: no server error, every
# answer (and its content type, status and headers) documented and conforming. ignored_auth is
# left out because the token is sent as a plain header here, which it cannot take off (it drops
# only the schema's cookie): tests/test_url_matrix.py and api/tests/test_auth.py prove the 401s.
LENIENT_ON_PURPOSE = [positive_data_acceptance, negative_data_rejection, ignored_auth]

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())


# Examples per operation and actor: a few in every run of the suite (each sent once as generated
# and once per pin); `make fuzz-api` runs many.
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "4"))

# In every internal note's text, file name and file bytes: never in an answer to a customer.
NOTE = "internal-note-9c41e7"
# An id nothing has: what a foreign id's answer is compared with.
MISSING = 999_999_999


def private(username: str) -> str:
    """In everything of this customer's: never in an answer to the other one."""
    return f"private-to-{username}-5b20d3"


@dataclass
class Side:
    """One customer's things: their ticket, the file they reported it with, their message and
    its file, a staff reply, and an internal note with its file."""

    ticket: int
    ticket_file: int
    message: int
    file: int
    reply: int
    note: int
    note_file: int


@dataclass(frozen=True)
class Pin:
    """Path parameters to send a case with; `foreign`: those naming what the actor may not
    have (an operation that uses any of them must answer 404, or exactly what it answers for
    an id nothing has)."""

    name: str
    ids: dict
    foreign: frozenset = field(default_factory=frozenset)


@pytest.fixture
def one_connection():
    """The requests run inside the test's transaction: as django.test.Client does, the app
    must not close the connection at the start and end of each (on PostgreSQL it would, as the
    transaction leaves autocommit off; SQLite's in-memory database is never closed)."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def unthrottled(settings):
    """Hundreds of requests a minute from one token: a 429 would hide every other answer (the
    throttles have their own tests in test_auth.py)."""
    settings.API_THROTTLE_RATES = dict.fromkeys(settings.API_THROTTLE_RATES, "1000000/min")


def side_of(customer, agent) -> Side:
    secret = private(customer.username)
    ticket = ticket_create_with_files(
        reporter=customer,
        title=f"Printer {secret}",
        description=f"Smoke, {secret}.",
        files=[pdf_upload(f"report-{secret}.pdf", text=secret)],
    )
    message = message_send(ticket=ticket, sender=customer, content=f"More smoke, {secret}.")
    file = attachment_add(
        ticket=ticket,
        message=message,
        upload=pdf_upload(f"photo-{secret}.pdf", text=secret),
        by=customer,
    )
    reply = message_send(ticket=ticket, sender=agent, content=f"On our way, {secret}.")
    note = message_send(
        ticket=ticket,
        sender=agent,
        content=f"{NOTE}: the printer is beyond saving.",
        is_internal=True,
        files=[pdf_upload(f"{NOTE}.pdf", text=NOTE)],
    )
    return Side(
        ticket=ticket.pk,
        ticket_file=Attachment.objects.get(ticket=ticket, message=None).pk,
        message=message.pk,
        file=file.pk,
        reply=reply.pk,
        note=note.pk,
        note_file=Attachment.objects.get(message=note).pk,
    )


def pins(actor: str, sides: dict[str, Side], shared: int, theirs: int) -> list[Pin]:
    """Where to send each case besides the generated path (see the module's docstring);
    `shared`: a canned reply every agent may use, `theirs`: another agent's own."""
    if actor == "agent":
        a, b = sides["customer"], sides["other_customer"]
        return [
            Pin(
                "a customer's",
                {"id": a.ticket, "message_id": a.reply, "file_id": a.file, "reply_id": shared},
            ),
            Pin(
                "an internal note",
                {"id": b.ticket, "message_id": b.note, "file_id": b.note_file, "reply_id": shared},
            ),
            Pin(
                "another ticket's message and file, another agent's canned reply",
                {"id": a.ticket, "message_id": b.reply, "file_id": b.file, "reply_id": theirs},
                foreign=frozenset({"message_id", "file_id", "reply_id"}),
            ),
        ]
    own = sides[actor]
    other = sides["other_customer" if actor == "customer" else "customer"]
    # A customer's reply_id is always refused (403: canned replies are for staff).
    return [
        Pin(
            "own",
            {"id": own.ticket, "message_id": own.message, "file_id": own.file, "reply_id": shared},
        ),
        Pin(
            "own ticket, its internal note",
            {
                "id": own.ticket,
                "message_id": own.note,
                "file_id": own.note_file,
                "reply_id": shared,
            },
            foreign=frozenset({"message_id", "file_id"}),
        ),
        Pin(
            "own ticket, the other's message and file",
            {
                "id": own.ticket,
                "message_id": other.message,
                "file_id": other.ticket_file,
                "reply_id": theirs,
            },
            foreign=frozenset({"message_id", "file_id"}),
        ),
        Pin(
            "the other's ticket",
            {
                "id": other.ticket,
                "message_id": other.message,
                "file_id": other.file,
                "reply_id": theirs,
            },
            foreign=frozenset({"id", "message_id", "file_id"}),
        ),
    ]


def rows(sides: list[Side]):
    """The customers' tickets, conversations and files as rows: what no request on a foreign
    pin may change."""
    tickets = [side.ticket for side in sides]

    def state() -> tuple:
        return (
            list(Ticket.objects.filter(pk__in=tickets).order_by("pk").values_list("pk", "version")),
            list(Message.objects.filter(ticket__in=tickets).order_by("pk").values_list("pk")),
            list(Attachment.objects.filter(ticket__in=tickets).order_by("pk").values_list("pk")),
        )

    return state


@dataclass
class Actor:
    name: str
    token: str
    pins: list[Pin]
    secrets: list[str]  # what no answer to this actor may hold
    state: object  # () -> rows: what no request on a foreign pin may change


@pytest.fixture(params=["customer", "other_customer", "agent"])
def actor(request, db, one_connection, unthrottled, customer, other_customer, agent, other_agent):
    """Two customers and an agent, each with a token, the cast's things, and what each may
    not see."""
    sides = {user.username: side_of(user, agent) for user in (customer, other_customer)}
    shared = CannedReply.objects.create(title="Restart", body="Turn it off and on.")
    theirs = CannedReply.objects.create(title="Mine", body="Not yours", owner=other_agent)
    name = request.param
    user = {"customer": customer, "other_customer": other_customer, "agent": agent}[name]
    secrets = []
    if name != "agent":
        other = "other_customer" if name == "customer" else "customer"
        secrets = [NOTE, private(other)]
    return Actor(
        name=name,
        token=api_token_create(user=user, name="fuzz")[1],
        pins=pins(name, sides, shared.pk, theirs.pk),
        secrets=secrets,
        state=rows(list(sides.values())),
    )


def access_checks(actor: Actor, pin: Pin | None, used: set[str], resend) -> list:
    """schemathesis checks of our own for one request (see the module's docstring).
    `resend(case, ids)`: the answer to the same request with other path parameters."""

    def no_secret_in_the_answer(ctx, response, case):
        text = response.content.decode("latin-1") + repr(response.headers)
        for secret in actor.secrets:
            if secret in text:
                raise AssertionError(
                    f"The answer to {actor.name} holds {secret!r}: "
                    + ("an internal note" if secret == NOTE else "the other customer's")
                )

    def foreign_is_as_missing(ctx, response, case):
        """A 404, or the very answer a missing id gets (a 400 for a query string the API
        refuses first, a 405 for a method it does not have: they tell nothing)."""
        foreign = ", ".join(sorted(used & pin.foreign))
        if response.status_code == 404:
            return
        if 200 <= response.status_code < 300 and case.method.upper() != "OPTIONS":
            raise AssertionError(f"{actor.name} got {response.status_code} for {pin.name}")
        ids = {
            name: MISSING if name in pin.foreign else v for name, v in case.path_parameters.items()
        }
        missing = resend(case, ids)
        if (missing.status_code, missing.content) != (response.status_code, response.content):
            raise AssertionError(
                f"{actor.name} got {response.status_code} for {pin.name} ({foreign}), "
                f"{missing.status_code} for a missing one: {response.content[:200]!r}"
            )

    checks = [no_secret_in_the_answer]
    if pin is not None and used & pin.foreign:
        checks.append(foreign_is_as_missing)
    return checks


def pins_for(case, every: list[Pin]) -> list[Pin]:
    """The pins a case is sent with: all of them for the random examples (API_FUZZ_EXAMPLES);
    one for each of the coverage phase's many deterministic variants (boundary values, a
    method the operation does not have, ...), taking turns by the case's content."""
    if case.meta is None or case.meta.phase.name != TestPhase.COVERAGE:
        return every
    return [every[zlib.crc32(repr(case).encode()) % len(every)]]


class Tally:
    """What one operation's test did for one actor, for the run's summary (the hook in
    api/tests/conftest.py prints it): kept in the test's user_properties, which reach the
    summary from xdist's workers too. A failing example's shrinking counts as cases."""

    def __init__(self, actor: str):
        self.counts = {
            "actor": actor,
            "operation": "",
            "examples": EXAMPLES,
            "cases": 0,
            "requests": 0,
        }

    def case(self, operation: str) -> None:
        self.counts["operation"] = operation
        self.counts["cases"] += 1

    def request(self) -> None:
        self.counts["requests"] += 1


@pytest.fixture
def tally(request, actor) -> Tally:
    tally = Tally(actor.name)
    request.node.user_properties.append((FUZZ_PROPERTY, tally.counts))
    return tally


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_schema_and_its_access_rules(case, actor, tally):
    headers = {"Authorization": f"Bearer {actor.token}"}

    def resend(case, ids: dict):
        again = case.derive()
        again.path_parameters = ids
        tally.request()
        return again.call(headers=headers)

    tally.case(case.operation.label)
    sends = [(case, None)]
    used = set(case.path_parameters)
    for pin in pins_for(case, actor.pins) if used else []:
        pinned = case.derive()
        pinned.path_parameters = {name: pin.ids[name] for name in used}
        sends.append((pinned, pin))
    for sent, pin in sends:
        foreign = pin is not None and bool(used & pin.foreign)
        before = actor.state() if foreign else None
        tally.request()
        sent.call_and_validate(
            headers=headers,
            excluded_checks=LENIENT_ON_PURPOSE,
            additional_checks=access_checks(actor, pin, used, resend),
        )
        if foreign:
            assert actor.state() == before, f"{actor.name} changed something through {pin.name}"
