"""Hostile text (XSS payloads, template syntax, formula cells) is shown as text, never run.

Each payload goes into a ticket title and description, a public message, an internal note, a
staff reply and the reporter's first and last names; every page and email that shows them is
checked as the role that sees it: the raw payload never appears, the escaped text does, and
template syntax is shown literally instead of being evaluated.

Hostile files (at the end): names (paths, tags, bidi overrides, CR/LF, 300 characters, empty)
are cleaned and shown as text everywhere; bytes that are not what their name says (HTML and SVG
named .png, a zero-byte file) are refused, and allowed ones that could run (a PDF with
JavaScript, a GIF that is also a script) are served inert.
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


# --- Hostile files ------------------------------------------------------------------------------
# Names: what a person, a script or (later) an email may call a file. Each is stored as a real
# PNG through the service every path takes (the forms, the admin, mail), then looked at on the
# customer's and the agent's ticket pages, in the admin and in the download's headers: a cleaned
# name, shown as text, never a path, a tag or a header break.
HOSTILE_NAMES = {
    "path-traversal": ("../../etc/passwd", "passwd"),
    "windows-path": ("..\\..\\Windows\\system.ini", "system.ini"),
    "script-tag": ("<script>.png", "<script>.png"),
    "img-onerror": ("<img src=x onerror=alert(1)>.png", "<img src=x onerror=alert(1)>.png"),
    "right-to-left-override": ("invoice\u202egnp.exe", "invoicegnp.exe"),
    # The "/" of text/html is a path separator: only what follows it is kept.
    "cr-lf": ("a\r\nContent-Type: text/html\r\n\r\n<b>.png", "html<b>.png"),
    "cr-lf-only": ("two\r\nlines.png", "twolines.png"),
    "300-characters": ("n" * 296 + ".png", "n" * 146 + ".png"),
    "empty": ("", "attachment.png"),
    "only-invisible": ("\u202e\u200b", "attachment.png"),
}


@pytest.mark.parametrize("kind", list(HOSTILE_NAMES))
def test_a_hostile_file_name_is_cleaned_and_shown_as_text(kind, ticket, customer, agent):
    from django.core.files.base import ContentFile

    from messaging.models import Attachment
    from messaging.services import message_send
    from messaging.tests.file_helpers import png_bytes

    uploaded, expected = HOSTILE_NAMES[kind]
    # The name as any caller may hand it over (the test client and Django's form parser would
    # already refuse or trim some of these; mail will not).
    message_send(
        ticket=ticket,
        sender=customer,
        content="Named badly",
        files=[ContentFile(png_bytes(), name=uploaded)],
    )
    file = Attachment.objects.get()
    assert file.name == expected
    assert "/" not in file.name and "\\" not in file.name
    assert not any(ord(char) < 32 or 0x202A <= ord(char) <= 0x202E for char in file.name)

    url = f"/tickets/{ticket.pk}/files/{file.pk}/"
    for who, page in (
        ("customer", ticket.get_absolute_url()),
        ("agent", ticket.get_absolute_url()),
        ("agent", f"/admin/tickets/ticket/{ticket.pk}/change/"),
    ):
        html = _get(client_for(customer if who == "customer" else agent), page)
        assert escape(file.name) in html, (who, page)
        assert url in html
        # Never a tag: escaped in the text, percent-encoded in the link.
        for raw in ("<script>.png", "<img src=x", "<b>.png"):
            assert raw not in html, (raw, who, page)

    download = client_for(customer).get(url + "anything")
    assert download.status_code == 200
    disposition = download["Content-Disposition"]
    assert disposition.startswith("inline; filename")
    assert "\r" not in disposition and "\n" not in disposition
    assert download["Content-Type"] == "image/png"


def test_a_path_in_a_browsers_file_name_is_dropped(ticket, customer):
    """Through the reply form, as a browser sends it."""
    from messaging.models import Attachment
    from messaging.tests.file_helpers import png_upload
    from tickets.tests.page_helpers import reply_data

    response = client_for(customer).post(
        f"/tickets/{ticket.pk}/reply/",
        reply_data("Look", files=png_upload("../../etc/passwd")),
    )
    assert response.status_code == 302
    assert Attachment.objects.get().name == "passwd"


def test_a_file_field_left_empty_stores_nothing(ticket, customer):
    """Browsers send an empty name and no bytes for a file field left empty: no file, no error."""
    from messaging.models import Message

    boundary = "hostile-boundary"
    parts = {"content": "No file", "client_token": "0c4e5e5e-1b1b-4c4c-8d8d-000000000002"}
    body = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in parts.items()
    )
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename=""\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n\r\n--{boundary}--\r\n"
    )
    response = client_for(customer).post(
        f"/tickets/{ticket.pk}/reply/",
        body.encode(),
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 302
    message = Message.objects.get()
    assert message.attachments.count() == 0


# Bytes: what a file may really be, whatever its name says.
POLYGLOT_GIF = b"GIF89a/*\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00*/=alert(1);//;"
HOSTILE_BYTES = {
    "html-named-png": (
        "photo.png",
        b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>",
        "is an HTML page",
    ),
    "svg-named-png": (
        "logo.png",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script>'
        b"</svg>",
        "is an SVG image",
    ),
    "zero-bytes": ("nothing.png", b"", "is empty"),
}


@pytest.mark.parametrize("kind", list(HOSTILE_BYTES))
def test_hostile_bytes_are_refused_whatever_the_name(kind, ticket, customer):
    from messaging.models import Attachment, Message
    from messaging.tests.file_helpers import upload
    from tickets.tests.page_helpers import reply_data

    name, data, refusal = HOSTILE_BYTES[kind]
    response = client_for(customer).post(
        f"/tickets/{ticket.pk}/reply/", reply_data("Look", files=upload(name, data, "image/png"))
    )
    assert response.status_code == 400
    assert refusal in response.context["reply_form"].errors["files"][0]
    assert not Message.objects.exists()
    assert not Attachment.objects.exists()


@pytest.mark.parametrize(
    ("kind", "name", "content", "served_as", "disposition"),
    [
        # A PDF that runs JavaScript when a viewer opens it: stored, but only ever a download,
        # sandboxed, so no viewer renders it inside the help desk's origin.
        ("pdf-with-javascript", "report.pdf", "pdf", "application/pdf", "attachment"),
        # A GIF whose bytes are also a script: an image, nothing else (nosniff refuses it as a
        # script; the sandbox runs nothing of it).
        ("polyglot-gif-js", "cat.gif", POLYGLOT_GIF, "image/gif", "inline"),
    ],
)
def test_hostile_bytes_that_are_allowed_are_served_inert(
    kind, name, content, served_as, disposition, ticket, customer
):
    from messaging.models import Attachment
    from messaging.tests.file_helpers import pdf_bytes, upload
    from tickets.tests.page_helpers import reply_data

    data = pdf_bytes(javascript="app.alert(document.cookie)") if content == "pdf" else content
    client = client_for(customer)
    response = client.post(
        f"/tickets/{ticket.pk}/reply/",
        reply_data("Look", files=upload(name, data, "text/html")),  # the browser's word: wrong
    )
    assert response.status_code == 302
    file = Attachment.objects.get()
    assert (file.sniffed_type, file.declared_type) == (served_as, "text/html")

    download = client.get(f"/tickets/{ticket.pk}/files/{file.pk}/{file.name}")
    assert download["Content-Type"] == served_as
    assert download["Content-Disposition"] == f'{disposition}; filename="{name}"'
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert b"".join(download.streaming_content) == data
