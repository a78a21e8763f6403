"""A ticket's status and priority badges: one function call each, where a list page would
otherwise render an included template per row (twice per ticket)."""

from django import template
from django.utils.html import format_html

register = template.Library()

PRIORITY_CLASSES = {
    "urgent": "text-bg-danger",
    "high": "text-bg-warning",
    "low": "text-bg-light border",
}


@register.simple_tag
def status_badge(ticket) -> str:
    return format_html(
        '<span class="badge badge-status-{}">{}</span>', ticket.status, ticket.get_status_display()
    )


@register.simple_tag
def priority_badge(ticket) -> str:
    return format_html(
        '<span class="badge {}">{}</span>',
        PRIORITY_CLASSES.get(ticket.priority, "text-bg-secondary"),
        ticket.get_priority_display(),
    )
