"""Hostile text (XSS payloads, template syntax, formula cells) is shown as text, never run.

Each payload goes into a ticket title and description, a public message, an internal note, a
staff reply and the reporter's first and last names; every page and email that shows them is
checked as the role that sees it: the raw payload never appears, the escaped text does, and
template syntax is shown literally instead of being evaluated.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils.html import escape

from tickets.services import ticket_assign
from tickets.tests.page_helpers import client_for

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<a href="javascript:alert(1)">click</a>',
    "javascript:alert(1)",
    '"><script>alert(1)</script>',
    "'><script>alert(1)</script>",
    "' onmouseover='alert(1)",
    '" onmouseover="alert(1)',
    '" autofocus onfocus="alert(1)',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "<iframe src=javascript:alert(1)>",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    "<style>*{background:url(javascript:alert(1))}</style>",
    "<meta http-equiv=refresh content=0;url=javascript:alert(1)>",
    "</textarea><script>alert(1)</script>",
    "</script><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "<!--<script>alert(1)//-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "<scr\u200bipt>alert(1)</scr\u200bipt>",
    "\u202e<img src=x onerror=alert(1)>",
    "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e",
    "<img src=x onerror=\u0061lert(1)\u200d>",
    "{{ 7|add:1 }}",
    '{% now "Y" %}',
    "{{ request.user.password }}",
    "{% load static %}{% static 'x' %}",
    "{# hidden #}shown",
    "${7*7} #{7*7} <%= 7*7 %>",
]

# What a payload would turn into if a template evaluated it instead of showing it.
EVALUATED = {
    "{{ 7|add:1 }}": "8",
    '{% now "Y" %}': "20",
    "{{ request.user.password }}": "md5$",
    "{% load static %}{% static 'x' %}": "/static/x",
    "{# hidden #}shown": "shown",
    "${7*7} #{7*7} <%= 7*7 %>": "49",
}

TITLE, DESCRIPTION, MESSAGE, NOTE, REPLY = "TTL ", "DSC ", "MSG ", "NOTE ", "RPL "


def _ids(payload: str) -> str:
    return payload.encode("ascii", "backslashreplace").decode()[:40]


@pytest.fixture(params=PAYLOADS, ids=[_ids(p) for p in PAYLOADS])
def scene(
    request,
    customer,
    agent,
    admin_user,
    make_ticket,
    make_message,
    django_capture_on_commit_callbacks,
):
    payload = request.param
    customer.first_name = payload
    customer.last_name = payload
    customer.save()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        # Stays awaiting a first response (an internal note is not one): on the report page.
        ticket = make_ticket(customer, title=TITLE + payload, description=DESCRIPTION + payload)
    created_emails = list(mail.outbox)
    make_message(ticket, customer, MESSAGE + payload)
    make_message(ticket, agent, NOTE + payload, is_internal=True)
    # A second ticket for the staff reply, so the first one keeps awaiting a first response.
    replied = make_ticket(customer, title=TITLE + payload, description=DESCRIPTION + payload)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        make_message(replied, agent, REPLY + payload)
    reply_emails = list(mail.outbox)
    return {
        "payload": payload,
        "ticket": ticket,
        "replied": replied,
        "customer": customer,
        "agent": agent,
        "admin": admin_user,
        "created_emails": created_emails,
        "reply_emails": reply_emails,
    }


def _html_part(email) -> str:
    parts = [content for content, mimetype in email.alternatives if mimetype == "text/html"]
    assert len(parts) == 1, "each email has exactly one HTML alternative"
    return parts[0]


def assert_shown_safely(html: str, payload: str, *prefixes: str, where: str) -> None:
    """The payload is shown as escaped text after each prefix, and never raw or evaluated."""
    escaped = escape(payload)
    if escaped != payload:
        assert payload not in html, f"raw payload in {where}"
    for prefix in prefixes:
        assert prefix + escaped in html, f"{prefix.strip()} text not shown escaped in {where}"
        if payload in EVALUATED:
            assert prefix + EVALUATED[payload] not in html, f"template evaluated in {where}"
    # User text never becomes a link or a source (e.g. javascript:alert(1) as an href).
    lowered = html.lower()
    for marker in ('href="javascript:', "href='javascript:", 'src="javascript:', "<script>alert"):
        assert marker not in lowered, f"{marker!r} in {where}"
    assert "md5$" not in html, f"a password hash in {where}"


def _get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def test_payload_is_escaped_everywhere(scene):
    payload, ticket, replied = scene["payload"], scene["ticket"], scene["replied"]
    customer_client = client_for(scene["customer"])
    agent_client = client_for(scene["agent"])
    admin_client = client_for(scene["admin"])

    # The customer's pages: title, description and public messages; never the internal note.
    html = _get(customer_client, "/tickets/")
    assert_shown_safely(html, payload, TITLE, where="customer ticket list")
    html = _get(customer_client, ticket.get_absolute_url())
    assert_shown_safely(html, payload, TITLE, DESCRIPTION, MESSAGE, where="customer ticket page")
    assert NOTE not in html, "the customer sees an internal note"
    html = _get(customer_client, replied.get_absolute_url())
    assert_shown_safely(html, payload, TITLE, REPLY, where="customer page with staff reply")

    # The staff pages: everything, internal note included.
    html = _get(agent_client, "/tickets/")
    assert_shown_safely(html, payload, TITLE, where="staff ticket list")
    html = _get(agent_client, ticket.get_absolute_url())
    assert_shown_safely(html, payload, TITLE, DESCRIPTION, MESSAGE, NOTE, where="staff ticket page")

    # The admin, as an agent.
    html = _get(agent_client, "/admin/tickets/ticket/")
    assert_shown_safely(html, payload, TITLE, where="admin ticket changelist")
    html = _get(agent_client, f"/admin/tickets/ticket/{ticket.pk}/change/")
    assert_shown_safely(
        html, payload, TITLE, DESCRIPTION, MESSAGE, NOTE, where="admin ticket change page"
    )

    # The admin's user page, as an admin: first and last names are form values.
    html = _get(admin_client, f"/admin/accounts/user/{scene['customer'].pk}/change/")
    assert_shown_safely(html, payload, where="admin user change page")
    assert f'value="{escape(payload)}"' in html, "first/last name not shown escaped"

    # The report: the awaiting ticket's title.
    html = _get(agent_client, "/reports/?preset=all")
    assert_shown_safely(html, payload, TITLE, where="report page")

    # The emails' HTML alternatives; the plain-text parts keep the text as typed.
    created = scene["created_emails"]
    assert created, "no new-ticket email to staff"
    for email in created:
        assert_shown_safely(
            _html_part(email), payload, TITLE, DESCRIPTION, where="new-ticket email HTML"
        )
        assert TITLE + payload in email.body
    replies = [email for email in scene["reply_emails"] if "customer@example.com" in email.to]
    assert len(replies) == 1, "no staff-reply email to the reporter"
    assert_shown_safely(_html_part(replies[0]), payload, TITLE, REPLY, where="reply email HTML")
    assert REPLY + payload in replies[0].body
    assert "\n" not in replies[0].subject


FORMULAS = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "=1+1",
]


def test_report_csv_neutralises_formula_cells(make_user, make_ticket, make_message, customer):
    # Usernames may start with + or - (a spreadsheet formula); the workload table lists the
    # assignees' usernames. "=" and "@" are not valid in usernames, but are tried anyway.
    names = ("-2+3", "+1-1", "=cmd", "@SUM")
    for name in names:
        assignee = make_user(name, staff=True)
        for formula in FORMULAS:
            ticket = make_ticket(customer, title=formula, description=formula)
            make_message(ticket, customer, formula)
            ticket_assign(ticket=ticket, assignee=assignee, by=assignee)
    response = client_for(assignee).get("/reports/export.csv?preset=all")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    cells = [cell for row in rows for cell in row]
    for cell in cells:
        assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), f"formula cell {cell!r}"
    # The hostile usernames are there, neutralised with a leading quote.
    for name in names:
        assert "'" + name in cells


def test_ticket_export_csv_keeps_formula_titles_verbatim(tmp_path, customer, make_ticket):
    """export_tickets is a lossless backup format read back by import_tickets: it does NOT
    neutralise formula-like cells, so a title starting with "=" is written as typed. Opening
    the file in a spreadsheet is unsafe; this records the behaviour (see the report)."""
    make_ticket(customer, title='=HYPERLINK("http://evil.example","x")', description="=1+1")
    path = tmp_path / "export.csv"
    call_command("export_tickets", format="csv", output=str(path))
    rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    assert len(rows) == 1
    assert rows[0]["title"] == '=HYPERLINK("http://evil.example","x")'
    assert rows[0]["description"] == "=1+1"
