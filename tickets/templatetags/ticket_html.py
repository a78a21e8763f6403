"""The parts of the ticket pages that repeat: a list's rows, a conversation's messages, badges
and times.

A list page shows 25 tickets and a ticket page may show hundreds of messages. Written as
template markup, each row or message resolves dozens of variables, tags and filters, which cost
more than the rest of the page together. As with the admin's changelist rows
(django.contrib.admin.templatetags.admin_list), they are assembled here in Python, by `_html`
(helpdesk_site.html), which escapes every value it is given, exactly as format_html does:
titles, usernames and messages are user text and are never marked safe. Only fixed markup
(badges of fixed choices) is SafeString.
"""

from functools import cache

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from helpdesk_site.html import html as _html
from tickets.models import Ticket

register = template.Library()

# How a moment reads on the ticket pages, in the site's time zone: "28 Nov 2026, 14:05 UTC".
MOMENT_FORMAT = "%d %b %Y, %H:%M %Z"

PRIORITY_CLASSES = {
    "urgent": "text-bg-danger",
    "high": "text-bg-warning",
    "low": "text-bg-light border",
}
NEW_REPLY = SafeString('<span class="badge text-bg-info ms-1">New reply</span>')
AWAITING = SafeString('<span class="badge text-bg-warning ms-1">Awaiting first response</span>')
UNASSIGNED = SafeString('<span class="text-body-secondary">Unassigned</span>')
STAFF_BADGE = SafeString('<span class="badge text-bg-primary">staff</span>')
NOTE_BADGE = SafeString('<span class="badge text-bg-warning">internal note</span>')


@cache
def _url_parts(name: str, prefix: str, urlconf) -> tuple[str, str]:
    """A URL that takes a ticket's id, around the id: reversed once per script prefix and URL
    conf."""
    marker = 1234567890
    return tuple(reverse(name, args=[marker]).split(str(marker)))


def ticket_url(pk: int, name: str = "tickets:detail") -> str:
    """reverse(name, args=[pk]) without a reverse() each time: by default the ticket's page
    (Ticket.get_absolute_url())."""
    before, after = _url_parts(name, get_script_prefix(), get_urlconf())
    return f"{before}{int(pk)}{after}"


@register.simple_tag
def ticket_action_url(name: str, ticket) -> str:
    """{% url name ticket.pk %} for the ticket page's forms and links, without a reverse()
    each (a ticket page has six)."""
    return ticket_url(ticket.pk, name)


@cache
def _status_badges() -> dict[str, SafeString]:
    return {
        value: format_html('<span class="badge badge-status-{}">{}</span>', value, label)
        for value, label in Ticket.Status.choices
    }


@cache
def _priority_badges() -> dict[str, SafeString]:
    return {
        value: format_html(
            '<span class="badge {}">{}</span>',
            PRIORITY_CLASSES.get(value, "text-bg-secondary"),
            label,
        )
        for value, label in Ticket.Priority.choices
    }


@register.simple_tag
def status_badge(ticket) -> SafeString:
    badge = _status_badges().get(ticket.status)
    return badge or format_html('<span class="badge badge-status-{0}">{0}</span>', ticket.status)


@register.simple_tag
def priority_badge(ticket) -> SafeString:
    badge = _priority_badges().get(ticket.priority)
    return badge or format_html('<span class="badge text-bg-secondary">{}</span>', ticket.priority)


def _local(value, tz=None):
    """An aware datetime in the current time zone (`tz`, when the caller has it at hand: a
    page's rows share it)."""
    return value.astimezone(tz or timezone.get_current_timezone())


@register.simple_tag
def moment(value, tz=None) -> SafeString:
    """<time> for an aware datetime: machine-readable (ISO 8601) and as a person reads it."""
    if value is None:
        return SafeString("")
    local = _local(value, tz)
    return _html('<time datetime="{}">{}</time>', local.isoformat(), local.strftime(MOMENT_FORMAT))


def ticket_row(context, ticket, tz=None) -> SafeString:
    """One <tr> of a ticket list: number, title (and its badges), status, priority, for staff
    the reporter and assignee, and how long ago the last activity was (exact in the tooltip)."""
    user = context["user"]
    staff = user.is_staff
    flags = []
    if ticket.reporter_id == user.pk and ticket.has_unseen_reply:
        flags.append(NEW_REPLY)
    if staff and not ticket.first_response_at and ticket.status != Ticket.Status.CLOSED:
        flags.append(AWAITING)
    people = ""
    if staff:
        assignee = ticket.assignee.username if ticket.assignee_id else UNASSIGNED
        people = _html("<td>{}</td><td>{}</td>", ticket.reporter.username, assignee)
    when = _local(ticket.last_activity_at, tz)
    return _html(
        "<tr><td>{}</td>"
        '<td class="title-cell"><a href="{}">{}</a>{}</td>'
        '<td>{}</td><td class="d-none d-sm-table-cell">{}</td>{}'
        '<td><time datetime="{}" title="{}">{} ago</time></td></tr>',
        ticket.pk,
        ticket_url(ticket.pk),
        ticket.title,
        SafeString("".join(flags)),
        status_badge(ticket),
        priority_badge(ticket),
        people,
        when.isoformat(),
        when.strftime(MOMENT_FORMAT),
        timesince(ticket.last_activity_at),
    )


@register.simple_tag(takes_context=True)
def ticket_rows(context, tickets) -> SafeString:
    """The <tr>s of a list page's tickets, in one tag call (see ticket_row)."""
    tz = timezone.get_current_timezone()
    return SafeString("".join(ticket_row(context, ticket, tz) for ticket in tickets))


def message_card(message, ticket, tz=None) -> SafeString:
    """One message of a conversation. A staff member's message is marked as staff, unless they
    reported the ticket themselves; an internal note (shown to staff only) as a note."""
    sender = message.sender
    from_staff = sender.is_staff and message.sender_id != ticket.reporter_id
    if message.is_internal:
        kind, badges = " message-internal", STAFF_BADGE + NOTE_BADGE if from_staff else NOTE_BADGE
    elif from_staff:
        kind, badges = " message-staff", STAFF_BADGE
    else:
        kind, badges = "", ""
    return _html(
        '<article class="card mb-2{}" aria-label="Message from {}">'
        '<div class="card-body py-2"><div class="small text-body-secondary mb-1">'
        '<strong class="text-body">{}</strong> {} · {}</div>'
        '<div class="message-body">{}</div></div></article>',
        kind,
        sender.username,
        sender.username,
        badges,
        moment(message.created_at, tz),
        message.content,
    )


@register.simple_tag
def conversation(messages, ticket) -> SafeString:
    """Every message of a conversation, oldest first (one tag call for all of them, not a
    template loop), or a line saying there are none yet."""
    tz = timezone.get_current_timezone()
    cards = [message_card(message, ticket, tz) for message in messages]
    if not cards:
        return SafeString('<p class="text-body-secondary">No messages yet.</p>')
    return SafeString("".join(cards))


def timeline_items(events, template: str) -> SafeString:
    """A ticket's events (tickets.selectors.TimelineEntry), each as `template` filled with when,
    who (or the system) and what they did."""
    tz = timezone.get_current_timezone()
    items = [
        _html(
            template,
            moment(event.created_at, tz),
            "The system" if event.actor is None else event.actor,
            event.description,
        )
        for event in events
    ]
    return SafeString("".join(items))


@register.simple_tag
def timeline(events) -> SafeString:
    """The ticket page's timeline: its events as <li>s, in one tag call."""
    return timeline_items(events, "<li>{}<br>{} {}</li>")


@register.simple_tag
def reply_fields(form) -> SafeString:
    """The reply form's fields in Bootstrap markup (as crispy-forms lays them out), with the
    typed text, the form's errors and, for staff, the internal-note box. The page keeps every
    value a person typed when it comes back with an error."""
    content, token = form["content"], form["client_token"]
    errors = form.non_field_errors()
    parts = []
    if errors:
        parts.append(
            format_html(
                '<div class="alert alert-block alert-danger"><ul class="m-0">{}</ul></div>',
                format_html_join("", "<li>{}</li>", ((error,) for error in errors)),
            )
        )
    invalid = ""
    feedback = ""
    if content.errors:
        invalid = SafeString(' is-invalid" aria-invalid="true" aria-describedby="id_content_error')
        feedback = format_html(
            '<div id="id_content_error" class="invalid-feedback">{}</div>',
            format_html_join("", "<p><strong>{}</strong></p>", ((e,) for e in content.errors)),
        )
    parts.append(
        format_html(
            '<div id="div_id_content" class="mb-3"><label for="id_content" '
            'class="form-label requiredField">{}<span class="asteriskField">*</span></label>'
            '<textarea name="content" rows="{}" maxlength="{}" class="textarea form-control{}" '
            'required id="id_content">\n{}</textarea>{}</div>'
            '<input type="hidden" name="client_token" value="{}" id="id_client_token">',
            content.label,
            content.field.widget.attrs.get("rows", 5),
            content.field.max_length,
            invalid,
            content.value() or "",
            feedback,
            token.value() or "",
        )
    )
    if "is_internal" in form.fields:
        internal = form["is_internal"]
        parts.append(
            format_html(
                '<div class="mb-3"><div id="div_id_is_internal" class="form-check">'
                '<input type="checkbox" name="is_internal" class="checkboxinput form-check-input" '
                'id="id_is_internal"{}><label for="id_is_internal" class="form-check-label">{}'
                "</label></div></div>",
                SafeString(" checked") if internal.value() else "",
                internal.label,
            )
        )
    return SafeString("".join(parts))


@register.simple_tag
def choice_options(choices, current) -> SafeString:
    """The <option>s of a select over `choices` ((value, label) pairs), `current` selected."""
    current = "" if current is None else str(current)
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (value, SafeString(" selected") if str(value) == current else "", label)
            for value, label in choices
        ),
    )
