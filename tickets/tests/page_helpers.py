"""Small helpers shared by the ticket page tests (not a test module itself)."""

from __future__ import annotations

import uuid

from django.contrib.messages import get_messages
from django.test import Client

from messaging.models import Message
from tickets.models import Ticket, TicketEvent

BACKEND = "accounts.backends.UsernameOrEmailBackend"
# Fits the URL's <int:pk> but not a BigAutoField: must be "not found", never a server error.
HUGE_ID = 99_999_999_999_999_999_999


def client_for(user=None, **kwargs) -> Client:
    """A fresh client, logged in as `user` when one is given (for tests with two people)."""
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user, backend=BACKEND)
    return client


def db_state() -> dict:
    """Everything a ticket page could change: row counts and every ticket's changeable fields."""
    return {
        "tickets": list(
            Ticket.objects.order_by("pk").values_list(
                "pk",
                "status",
                "priority",
                "assignee_id",
                "reporter_id",
                "version",
                "closed_at",
                "first_response_at",
                "last_activity_at",
                "last_staff_reply_at",
                "reporter_seen_at",
            )
        ),
        "messages": Message.objects.count(),
        "internal_notes": Message.objects.filter(is_internal=True).count(),
        "events": TicketEvent.objects.count(),
    }


def flash_messages(response) -> list[str]:
    """The django.contrib.messages queued or shown by this request."""
    return [str(message) for message in get_messages(response.wsgi_request)]


def reply_data(content: str = "Any news?", **extra) -> dict:
    return {"content": content, "client_token": str(uuid.uuid4()), **extra}


def status_data(ticket: Ticket, status: str, **extra) -> dict:
    return {"status": status, "version": ticket.version, **extra}
