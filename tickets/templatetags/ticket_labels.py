"""A ticket's status and priority as its pages show them, from the stored value: the lists
read plain rows (tickets.selectors.list_rows), which have no get_status_display()."""

from django import template

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
