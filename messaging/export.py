""" "Download my data": a person's account, the tickets they reported and those tickets' public
messages, as one JSON document, written piece by piece as the rows are read.

Three queries whatever the number of tickets: the account (the request's user), the tickets in
id order, and the public messages of those tickets in ticket order, read side by side (a merge of
two sorted streams). Never internal notes; of other people, only the names staff sign their
replies with.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F
from django.utils import timezone

from tickets.models import Ticket

from .models import Message

CHUNK = 500


def _dumps(value) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)


def account_data(user) -> dict:
    return {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "notifications": {
            "email": user.notify_by_email,
            "replies": user.notify_replies,
            "status_changes": user.notify_status,
        },
    }


def _author(row: dict, user) -> str:
    """Who wrote a message, as the export names them: the person themselves by their username,
    anyone else (staff, or someone who was staff when they wrote) by the name they sign with."""
    if row["sender_id"] == user.pk:
        return user.username
    full = f"{row['sender_first_name']} {row['sender_last_name']}".strip()
    return full or row["sender_username"]


def personal_data(user) -> Iterator[str]:
    """The JSON document, in pieces."""
    tickets = (
        Ticket.objects.filter(reporter=user)
        .order_by("pk")
        .values(
            "pk",
            "title",
            "description",
            "status",
            "priority",
            "created_at",
            "closed_at",
            category_name=F("category__name"),
        )
    )
    messages = (
        Message.objects.filter(ticket__reporter=user, is_internal=False)
        .order_by("ticket_id", "created_at", "pk")
        .values(
            "ticket_id",
            "sender_id",
            "created_at",
            "content",
            sender_username=F("sender__username"),
            sender_first_name=F("sender__first_name"),
            sender_last_name=F("sender__last_name"),
        )
    )
    header = {"exported_at": timezone.now(), "account": account_data(user)}
    yield _dumps(header)[:-1] + ', "tickets": ['
    pending = messages.iterator(chunk_size=CHUNK)
    message = next(pending, None)
    for index, ticket in enumerate(tickets.iterator(chunk_size=CHUNK)):
        ticket_messages = []
        while message is not None and message["ticket_id"] <= ticket["pk"]:
            if message["ticket_id"] == ticket["pk"]:
                ticket_messages.append(
                    {
                        "from": _author(message, user),
                        "from_staff": message["sender_id"] != user.pk,
                        "created_at": message["created_at"],
                        "content": message["content"],
                    }
                )
            message = next(pending, None)
        entry = {
            "id": ticket["pk"],
            "title": ticket["title"],
            "description": ticket["description"],
            "status": ticket["status"],
            "priority": ticket["priority"],
            "category": ticket["category_name"],
            "created_at": ticket["created_at"],
            "closed_at": ticket["closed_at"],
            "messages": ticket_messages,
        }
        yield ("," if index else "") + _dumps(entry)
    yield "]}"
