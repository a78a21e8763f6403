"""Changing several tickets at once (the lists' and the admin's bulk actions).

Each ticket is changed on its own, through the same service as one at a time, in its own
transaction: one that is refused (a move its status does not allow, someone else's change in
the way) leaves the others done. What was done, what was so already and what was refused, with
why, is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Ticket


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)

    def report(self, verb: str) -> list[tuple[int, str]]:
        """The messages (level, text) that say it: "`verb` 3 tickets.", what was left alone,
        and one line for each refusal."""
        lines = []
        if self.done:
            count = len(self.done)
            tickets = ngettext("%(count)d ticket", "%(count)d tickets", count) % {"count": count}
            lines.append(
                (messages.SUCCESS, _("%(verb)s %(tickets)s.") % {"verb": verb, "tickets": tickets})
            )
        if self.unchanged:
            ids = ", ".join(f"#{pk}" for pk in self.unchanged)
            lines.append((messages.INFO, _("Already so, left alone: %(ids)s.") % {"ids": ids}))
        lines += [
            (messages.WARNING, _("Refused #%(id)s: %(why)s") % {"id": pk, "why": why})
            for pk, why in self.refused
        ]
        return lines


def apply_to_each(tickets: Iterable[Ticket], change: Callable[[Ticket], object]) -> BulkResult:
    """Apply `change(ticket)` (a service call; None means "so already") to each ticket."""
    result = BulkResult()
    for ticket in tickets:
        try:
            with transaction.atomic():
                outcome = change(ticket)
        except (ValidationError, PermissionDenied) as exc:
            result.refused.append((ticket.pk, " ".join(getattr(exc, "messages", [str(exc)]))))
        else:
            (result.done if outcome not in (None, []) else result.unchanged).append(ticket.pk)
    return result
