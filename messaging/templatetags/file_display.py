"""How the pages name a file's type: plain text for the templates, which escape it."""

from django import template

from messaging.attachments import type_label

register = template.Library()


@register.filter
def file_type(sniffed_type: str) -> str:
    """ "image/png" -> "PNG image"; a type without a name as it is."""
    return type_label(sniffed_type or "")
