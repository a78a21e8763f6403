"""How the ticket pages say a status, a priority and a time: plain text for the templates, which
escape it. The lists read plain rows (tickets.selectors.list_rows), without get_FOO_display()."""

import datetime
import hashlib
import json
import re
from decimal import Decimal

from django import template
from django.core.cache import caches
from django.template.loader import get_template
from django.urls import get_script_prefix
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from tickets.models import CUSTOMER_STATUS_LABELS, Ticket

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
def customer_status_word(value: str) -> str:
    """ "open" -> "Waiting for support": a status filter's value in the customer's words."""
    return CUSTOMER_STATUS_LABELS.get(value, value)


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


# Web and email addresses in a message: http(s)://..., www.... (linked as http://), and
# name@domain.tld (mailto:). Nothing else is ever a link: no javascript:, data: or other scheme.
# Quotes and angle brackets end an address; the template escapes the rest as any text.
ADDRESS_RE = re.compile(
    r"(?P<url>https?://[^\s<>\"'`]+)"
    r"|(?P<www>\bwww\.[^\s<>\"'`]+)"
    r"|(?P<email>\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b)",
    re.IGNORECASE,
)
# Punctuation after an address ends the sentence, not the address.
TRAILING = ".,:;!?"


def _trim(address: str) -> str:
    """An address without the sentence's punctuation after it, or a closing bracket it did not
    open ("(see https://example.com/a)")."""
    while address:
        if (
            address[-1] in TRAILING
            or (address[-1] == ")" and address.count(")") > address.count("("))
            or (address[-1] == "]" and address.count("]") > address.count("["))
        ):
            address = address[:-1]
        else:
            break
    return address


@register.filter
def linked_parts(text) -> list[dict]:
    """A message's text cut into parts for templates/includes/linked_text.html: {"text"} alone,
    or with the "href" it links to (http, https or mailto only). Data, not markup: the template
    escapes both, as everything else."""
    text = "" if text is None else str(text)
    parts: list[dict] = []
    position = 0
    for match in ADDRESS_RE.finditer(text):
        address = _trim(match.group())
        if match.group("url") and address.endswith("://"):
            continue  # "https://..." is punctuation after a scheme, not an address
        if match.start() > position:
            parts.append({"text": text[position : match.start()]})
        if match.group("email"):
            href = f"mailto:{address}"
        elif match.group("www"):
            href = f"http://{address}"
        else:
            href = address
        parts.append({"text": address, "href": href})
        position = match.start() + len(address)
    if position < len(text):
        parts.append({"text": text[position:]})
    return parts


def _plain(value):
    """What a row may hold besides JSON's own types; anything else (a model instance, whose
    text would not show all it holds) is refused, so a key always covers what is shown."""
    if isinstance(value, datetime.date):  # datetimes too, with their UTC offset
        return value.isoformat()
    if isinstance(value, Promise | Decimal):
        return str(value)
    raise TypeError(f"render_rows: a row holds {type(value).__name__}, not plain data")


@register.simple_tag
def render_rows(template_name: str, rows: list[dict], item: str = "row", **extras) -> list:
    """Each of `rows` rendered through `template_name` (as `item`, beside `extras`), kept in the
    "fragments" cache under a digest of all it can show: the row, the extras, the language, the
    time zone and the site's address prefix. The template gets no request context (no user, no
    CSRF token), so its output is a function of that digest: a row that changes gets a new key
    and is rendered again, and nothing shown is ever stale. A list of 25 rows or a conversation
    of 50 messages then costs the rows that changed since it was last shown, not every row on
    every request (a row's template is 0.1-0.2 ms). The output is marked safe as any
    template's output is: the template escaped what it shows."""
    context = (
        template_name,
        get_language(),
        timezone.get_current_timezone_name(),
        get_script_prefix(),  # where the site is mounted: the start of every {% url %}
        extras,
    )
    keys = [
        "rows:"
        + hashlib.md5(
            json.dumps([*context, row], default=_plain, sort_keys=True).encode(),
            usedforsecurity=False,
        ).hexdigest()
        for row in rows
    ]
    cache = caches["fragments"]
    found = cache.get_many(keys)
    missing = {}
    rendered: list[SafeString] = []
    row_template = None
    for key, row in zip(keys, rows, strict=True):
        html = found.get(key)
        if html is None:
            row_template = row_template or get_template(template_name)
            html = missing[key] = str(row_template.render({item: row, **extras}))
        rendered.append(mark_safe(html))  # noqa: S308 (the template's own, escaped output)
    if missing:
        cache.set_many(missing)
    return rendered
