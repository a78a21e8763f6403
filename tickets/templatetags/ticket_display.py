"""How the ticket pages say a status, a priority and a time: plain text for the templates, which
escape it. The lists read plain rows (tickets.selectors.list_rows), without get_FOO_display()."""

from django import template
from django.utils.translation import get_language

from tickets.models import Ticket

register = template.Library()

STATUS_LABELS = dict(Ticket.Status.choices)
PRIORITY_LABELS = dict(Ticket.Priority.choices)
# The Bootstrap classes of a priority's badge; any other priority's is grey.
PRIORITY_CLASSES = {
    Ticket.Priority.URGENT: "text-bg-danger",
    Ticket.Priority.HIGH: "text-bg-warning",
    Ticket.Priority.LOW: "text-bg-light border",
}


@register.filter
def status_label(value: str) -> str:
    """ "open" -> "Open"; a value outside the choices as it is."""
    return STATUS_LABELS.get(value, value)


@register.filter
def priority_label(value: str) -> str:
    """ "urgent" -> "Urgent"; a value outside the choices as it is."""
    return PRIORITY_LABELS.get(value, value)


@register.filter
def priority_class(value: str) -> str:
    return PRIORITY_CLASSES.get(value, "text-bg-secondary")


# A time's forms on the ticket pages, in the current time zone (the template engine converts an
# aware datetime before calling these): <time datetime="{{ t|iso }}">{{ t|moment }}</time>.
# Through the datetime's own strftime rather than Django's per-character formatter (a
# conversation shows one per message, a list one per row), with the active language's order
# of day, month and year: numbers only outside English (strftime's month names are English).
MOMENT_FORMATS = {"de": "%d.%m.%Y, %H:%M %Z", "es": "%d/%m/%Y, %H:%M %Z"}
DAY_FORMATS = {"de": "%d.%m.%Y", "es": "%d/%m/%Y"}


@register.filter(expects_localtime=True)
def iso(value) -> str:
    """ISO 8601, for machines: "2026-11-28T14:05:00+00:00"."""
    return value.isoformat() if value else ""


@register.filter(expects_localtime=True)
def day(value) -> str:
    """The day alone: "28 Nov 2026", "28.11.2026", "28/11/2026"."""
    return value.strftime(DAY_FORMATS.get(get_language(), "%d %b %Y")) if value else ""


@register.filter(expects_localtime=True)
def moment(value) -> str:
    """As a person reads it, with the zone: "28 Nov 2026, 14:05 UTC", "28.11.2026, 15:05 CET"."""
    return value.strftime(MOMENT_FORMATS.get(get_language(), "%d %b %Y, %H:%M %Z")) if value else ""
