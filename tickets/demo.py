"""Demo data: a small believable help desk, or a large one for benchmarks.

The history is generated directly as rows (bulk_create) rather than through the services, because
it happens in the past: every ticket's story (assignment, replies, internal notes, closes and
reopens) is laid out with timestamps first, and the derived fields (`first_response_at`,
`closed_at`, `last_activity_at`, ...) are computed from that story by the same rules the services
apply (METRICS.md), so reports over demo data mean what they say.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import AGENTS_GROUP
from messaging.attachments import delete_after_commit
from messaging.models import Attachment, Message
from messaging.sample_files import error_dialog_png, pdf_bytes
from messaging.services import attachment_add

from .models import Category, Ticket, TicketEvent

User = get_user_model()

# username, email, password, role. Printed by `seed_demo`; they are demo logins, not secrets.
DEMO_USERS = [
    ("alice", "alice@example.com", "alice-demo-pass-2026", "customer"),
    ("bob", "bob@example.com", "bob-demo-pass-2026", "customer"),
    ("carol", "carol@example.com", "carol-demo-pass-2026", "customer"),
    ("agent", "agent@example.com", "agent-demo-pass-2026", "agent"),
    ("erin", "erin@example.com", "erin-demo-pass-2026", "agent"),
    ("admin", "admin@example.com", "admin-demo-pass-2026", "admin"),
]

TOPICS = [
    ("Cannot log in to the portal", "Since this morning the portal says my password is wrong."),
    (
        "Invoice shows the wrong amount",
        "The invoice for last month charges two seats; we have one.",
    ),
    ("Printer on floor 2 is offline", "The printer by the kitchen shows 'offline' for everyone."),
    (
        "VPN disconnects every few minutes",
        "Working from home, the VPN drops about every 5 minutes.",
    ),
    (
        "Request: new laptop for a new hire",
        "Maya starts on Monday and needs a laptop and an account.",
    ),
    (
        "Email attachments are blocked",
        "Attachments from our supplier bounce with 'policy violation'.",
    ),
    (
        "Password reset link expired",
        "The reset link says it expired although I clicked it at once.",
    ),
    ("Shared drive is very slow", "Opening files on the shared drive takes a minute or more."),
    ("Export to CSV misses columns", "The monthly export lacks the 'region' and 'owner' columns."),
    ("Two-factor codes are not accepted", "My authenticator codes are refused as invalid."),
    (
        "Website contact form does nothing",
        "Pressing Send on the contact form shows no confirmation.",
    ),
    ("Please add me to the sales mailing list", "I moved to the sales team last week."),
]
# The demo's categories, and which one each topic is in. Billing goes to erin by default.
DEMO_CATEGORIES = ["Access", "Billing", "Hardware", "Network", "Website"]
DEMO_DEFAULT_ASSIGNEES = {"Billing": "erin"}
TOPIC_CATEGORIES = {
    "Cannot log in to the portal": "Access",
    "Invoice shows the wrong amount": "Billing",
    "Printer on floor 2 is offline": "Hardware",
    "VPN disconnects every few minutes": "Network",
    "Request: new laptop for a new hire": "Hardware",
    "Email attachments are blocked": "Network",
    "Password reset link expired": "Access",
    "Shared drive is very slow": "Network",
    "Export to CSV misses columns": "Website",
    "Two-factor codes are not accepted": "Access",
    "Website contact form does nothing": "Website",
}
STAFF_REPLIES = [
    "Thanks for reporting this. I am looking into it now.",
    "Could you tell me which browser and version you are using?",
    "I have applied a fix on our side. Could you try again and let me know?",
    "This is a known issue; a fix is scheduled for tonight's maintenance window.",
    "Done. You should see the change within the next few minutes.",
]
CUSTOMER_REPLIES = [
    "Thanks! I tried again and it works now.",
    "I am on Firefox, the latest version.",
    "It still happens, unfortunately. Same error as before.",
    "Great, thank you for the quick help.",
]
INTERNAL_NOTES = [
    "Checked the logs: the account was locked by the nightly sync.",
    "Escalating to the network team; not something we can fix from here.",
    "Same root cause as last week's outage.",
]
PRIORITY_WEIGHTS = [("low", 2), ("normal", 6), ("high", 2), ("urgent", 1)]


@dataclass
class Story:
    """One ticket's history before it is written."""

    ticket: Ticket
    messages: list[Message] = field(default_factory=list)
    events: list[TicketEvent] = field(default_factory=list)


def ensure_demo_users() -> dict[str, list]:
    """The demo logins, created once; returns them by role."""
    agents_group = Group.objects.get(name=AGENTS_GROUP)
    by_role: dict[str, list] = {"customer": [], "agent": [], "admin": []}
    for username, email, password, role in DEMO_USERS:
        user = User.objects.filter(username__iexact=username).first()
        if user is None:
            user = User(username=username, email=email, first_name=username.title())
            user.is_staff = role in {"agent", "admin"}
            user.is_superuser = role == "admin"
            user.set_password(password)
            user.save()
            if role == "agent":
                user.groups.add(agents_group)
        by_role[role].append(user)
    return by_role


def ensure_demo_categories() -> dict[str, Category]:
    """The demo's categories, created once (an existing one of the same name is kept as it is)."""
    categories = {}
    for name in DEMO_CATEGORIES:
        category = Category.objects.filter(name__iexact=name).first()
        if category is None:
            assignee = DEMO_DEFAULT_ASSIGNEES.get(name)
            category = Category.objects.create(
                name=name,
                default_assignee=User.objects.filter(username=assignee, is_staff=True).first()
                if assignee
                else None,
            )
        categories[category.name] = category
    return categories


def ensure_bulk_customers(count: int) -> list:
    """Extra customers for large data sets (one shared password hash: hashing is slow)."""
    existing = list(User.objects.filter(username__startswith="customer").order_by("pk")[:count])
    missing = count - len(existing)
    if missing > 0:
        password = make_password("customer-demo-pass-2026")
        start = len(existing)
        User.objects.bulk_create(
            [
                User(
                    username=f"customer{start + i:06d}",
                    email=f"customer{start + i:06d}@example.com",
                    password=password,
                )
                for i in range(missing)
            ],
            batch_size=2000,
        )
        existing = list(User.objects.filter(username__startswith="customer").order_by("pk")[:count])
    return existing


# The bulk customers ensure_bulk_customers makes: "customer" and six digits.
BULK_CUSTOMER_USERNAME = r"^customer[0-9]{6}$"


def demo_users_to_delete():
    """The demo logins (by username and their demo email, so a real account that happens to be
    called "admin" is kept) and the bulk customers."""
    demo = Q()
    for username, email, _password, _role in DEMO_USERS:
        demo |= Q(username__iexact=username, email__iexact=email)
    bulk = Q(username__regex=BULK_CUSTOMER_USERNAME, email__iendswith="@example.com")
    return User.objects.filter(demo | bulk)


def reset_demo_data(*, dry_run: bool = False) -> dict[str, int]:
    """Delete every ticket (with its messages and events), the demo logins and the bulk customers.

    Every ticket goes, not only generated ones: this is for development and benchmark
    databases. Returns the number of rows deleted (or, with `dry_run`, that would be) per kind:
    tickets, messages, events, users.
    """
    with transaction.atomic():
        users = demo_users_to_delete()
        counts = {
            "tickets": Ticket.objects.count(),
            "messages": Message.objects.count(),
            "events": TicketEvent.objects.count(),
            "users": users.count(),
        }
        if dry_run:
            return counts
        # Children first: messages and events protect the users they name, tickets their
        # reporters; deleting them as plain tables avoids loading every row into Python. The
        # attachments' bytes go once the deletion commits.
        delete_after_commit(
            list(Attachment.objects.stored().values_list("storage_name", flat=True))
        )
        Attachment.objects.all().delete()
        Message.objects.all().delete()
        TicketEvent.objects.all().delete()
        Ticket.objects.all().delete()
        users.delete()
    return counts


def build_story(
    rng: random.Random,
    *,
    reporter,
    agents: list,
    now: datetime,
    days: int,
    categories: dict[str, Category] | None = None,
) -> Story:
    """Lay out one ticket's history, all of it in the past, and derive its fields from it."""
    created = now - timedelta(seconds=rng.randint(60, days * 86400))
    title, description = rng.choice(TOPICS)
    ticket = Ticket(
        title=title,
        description=description,
        category=(categories or {}).get(TOPIC_CATEGORIES.get(title, "")),
        priority=rng.choices(
            [p for p, _ in PRIORITY_WEIGHTS], weights=[w for _, w in PRIORITY_WEIGHTS]
        )[0],
        reporter=reporter,
        created_at=created,
        modified_by=reporter,
    )
    story = Story(ticket=ticket)
    status = Ticket.Status.OPEN
    assignee = None
    clock = created
    first_response = last_staff_reply = closed_at = None
    last_public_by = Ticket.Party.NOBODY
    last_activity = created
    version = 1

    def later(low_minutes: int, high_minutes: int) -> datetime | None:
        nonlocal clock
        moment = clock + timedelta(minutes=rng.randint(low_minutes, high_minutes))
        if moment >= now:
            return None
        clock = moment
        return moment

    def move(to_status: str, actor, at: datetime) -> None:
        nonlocal status, closed_at, last_activity, version
        story.events.append(
            TicketEvent(
                kind="status", from_value=status, to_value=to_status, actor=actor, created_at=at
            )
        )
        closed_at = at if to_status == Ticket.Status.CLOSED else None
        status = to_status
        last_activity = at
        version += 1

    def say(sender, content: str, at: datetime, *, internal: bool = False) -> None:
        nonlocal first_response, last_staff_reply, last_activity, last_public_by, version
        staff = sender.is_staff and sender.pk != reporter.pk
        story.messages.append(
            Message(
                sender=sender,
                receiver=None if internal else (reporter if staff else assignee),
                content=content,
                is_internal=internal,
                created_at=at,
            )
        )
        version += 1
        if internal:
            return
        last_activity = at
        last_public_by = Ticket.Party.STAFF if staff else Ticket.Party.CUSTOMER
        if staff:
            first_response = first_response or at
            last_staff_reply = at

    # Most tickets are picked up; some wait in the queue.
    if rng.random() < 0.85 and (at := later(5, 48 * 60)):
        assignee = rng.choice(agents)
        story.events.append(
            TicketEvent(
                kind="assignment",
                from_value="",
                to_value=assignee.username,
                actor=assignee,
                created_at=at,
            )
        )
        version += 1
        move(Ticket.Status.ACTIVE, assignee, at)
        if rng.random() < 0.9 and (at := later(1, 240)):
            say(assignee, rng.choice(STAFF_REPLIES), at)
        if rng.random() < 0.25 and (at := later(1, 120)):
            say(assignee, rng.choice(INTERNAL_NOTES), at, internal=True)
        # A back-and-forth of up to three rounds.
        for _round in range(3):
            if not (rng.random() < 0.6 and (at := later(10, 24 * 60))):
                break
            say(reporter, rng.choice(CUSTOMER_REPLIES), at)
            if rng.random() < 0.8 and (at := later(5, 12 * 60)):
                say(assignee, rng.choice(STAFF_REPLIES), at)
        # Staff sometimes re-rate the ticket once they understand it.
        if rng.random() < 0.3 and (at := later(1, 60)):
            new_priority = rng.choice([p for p, _ in PRIORITY_WEIGHTS if p != ticket.priority])
            story.events.append(
                TicketEvent(
                    kind="priority",
                    from_value=ticket.priority,
                    to_value=new_priority,
                    actor=assignee,
                    created_at=at,
                )
            )
            ticket.priority = new_priority
            version += 1
        if rng.random() < 0.7 and (at := later(30, 72 * 60)):
            move(Ticket.Status.CLOSED, rng.choice([assignee, reporter]), at)
            # Now and then the reporter is not satisfied: a reply reopens, staff close again.
            if rng.random() < 0.12 and (at := later(60, 72 * 60)):
                say(reporter, "It is broken again, sorry.", at)
                move(Ticket.Status.OPEN, reporter, at)
                if rng.random() < 0.7 and (at := later(30, 48 * 60)):
                    say(assignee, rng.choice(STAFF_REPLIES), at)
                    move(Ticket.Status.CLOSED, assignee, at)

    ticket.status = status
    ticket.assignee = assignee
    ticket.first_response_at = first_response
    ticket.last_staff_reply_at = last_staff_reply
    ticket.last_public_by = last_public_by
    ticket.closed_at = closed_at
    ticket.last_activity_at = last_activity
    ticket.modified_at = clock
    ticket.version = version
    # Older conversations have been read by their reporter; the latest replies may not have.
    if last_staff_reply and (now - last_staff_reply) > timedelta(days=2):
        ticket.reporter_seen_at = last_staff_reply + timedelta(hours=1)
    return story


def create_tickets(
    count: int,
    *,
    customers: list,
    agents: list,
    days: int = 90,
    seed: int = 2026,
    chunk: int = 5000,
    now: datetime | None = None,
    categories: dict[str, Category] | None = None,
) -> tuple[int, int, int]:
    """Write `count` tickets with their messages and events; returns the three row counts."""
    rng = random.Random(seed)
    now = now or timezone.now()
    totals = [0, 0, 0]
    for start in range(0, count, chunk):
        stories = [
            build_story(
                rng,
                reporter=rng.choice(customers),
                agents=agents,
                now=now,
                days=days,
                categories=categories,
            )
            for _ in range(min(chunk, count - start))
        ]
        with transaction.atomic():
            Ticket.objects.bulk_create([s.ticket for s in stories], batch_size=1000)
            messages, events = [], []
            for story in stories:
                for message in story.messages:
                    message.ticket = story.ticket
                    messages.append(message)
                for event in story.events:
                    event.ticket = story.ticket
                    events.append(event)
            Message.objects.bulk_create(messages, batch_size=2000)
            TicketEvent.objects.bulk_create(events, batch_size=2000)
        totals[0] += len(stories)
        totals[1] += len(messages)
        totals[2] += len(events)
    return totals[0], totals[1], totals[2]


def add_demo_files(customer) -> int:
    """A picture and a PDF on the newest ticket of `customer` that has a public staff reply:
    the screenshot sent with the ticket, the PDF with the reply. Returns how many files it
    added (none when there is no such ticket, or it has its files already)."""
    message = (
        Message.objects.filter(ticket__reporter=customer, is_internal=False, sender__is_staff=True)
        .select_related("ticket", "sender")
        .order_by("-ticket__created_at", "created_at")
        .first()
    )
    if message is None or Attachment.objects.filter(ticket=message.ticket).exists():
        return 0
    ticket = message.ticket
    files = [
        (None, customer, ContentFile(error_dialog_png(), name="error-dialog.png")),
        (message, message.sender, ContentFile(pdf_bytes("Setup guide"), name="setup-guide.pdf")),
    ]
    with transaction.atomic():
        for on, by, content in files:
            attachment_add(
                ticket=ticket,
                message=on,
                upload=content,
                by=by,
                uploaded_at=on.created_at if on else ticket.created_at,
            )
    return len(files)
