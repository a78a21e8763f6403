"""The customer's side of the ticket pages: statuses in their words, "My tickets" keeping the
closed tickets they have not read the answer of, and links in messages (escaped as all else)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.db import connection, transaction
from django.template.loader import render_to_string

from tickets.models import Ticket, customer_status_label
from tickets.selectors import ticket_list_for

from .page_helpers import client_for


def linkify(text: str) -> str:
    """The text as the pages show a message (templates/includes/linked_text.html)."""
    return render_to_string("includes/linked_text.html", {"text": text})


def listed(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r"<td>(\d+)</td>", html)]


def status_badges(html: str) -> list[str]:
    return re.findall(r'<span class="badge badge-status-\w+">([^<]*)</span>', html)


@pytest.fixture
def four(make_ticket, make_message, customer, agent) -> dict[str, Ticket]:
    """One ticket in each state a customer tells apart, oldest activity first."""
    waiting = make_ticket(customer, title="Nobody answered yet")
    working = make_ticket(customer, title="Being worked on")
    working.update_status("active", by=agent)
    answered = make_ticket(customer, title="Answered")
    make_message(answered, agent, "Which printer?")
    closed = make_ticket(customer, title="Closed and read")
    closed.update_status("closed", by=agent)
    return {"waiting": waiting, "working": working, "answered": answered, "closed": closed}


class TestStatusWords:
    @pytest.mark.parametrize(
        ("status", "last_public_by", "label"),
        [
            ("open", "", "Waiting for support"),
            ("open", "customer", "Waiting for support"),
            ("active", "customer", "In progress"),
            ("open", "staff", "Waiting for your reply"),
            ("active", "staff", "Waiting for your reply"),
            ("closed", "staff", "Closed"),
            ("closed", "", "Closed"),
        ],
    )
    def test_the_customers_label(self, status, last_public_by, label):
        assert customer_status_label(status, last_public_by) == label

    def test_the_customer_reads_their_words_on_their_list(self, four, customer):
        html = client_for(customer).get("/tickets/?status=all").content.decode()

        # Newest activity first: closed, answered, working, waiting.
        assert status_badges(html) == [
            "Closed",
            "Waiting for your reply",
            "In progress",
            "Waiting for support",
        ]
        assert ">Open<" not in html and ">Active<" not in html
        # The filter offers the same words.
        assert '<option value="open">Waiting for support</option>' in html
        assert '<option value="active">In progress</option>' in html

    def test_waiting_for_your_reply_has_a_badge_colour_of_its_own(self, four, customer):
        html = client_for(customer).get("/tickets/?status=all").content.decode()
        classes = {
            label: name
            for name, label in re.findall(r'<span class="badge badge-status-(\w+)">([^<]*)<', html)
        }

        assert classes == {
            "Closed": "closed",
            "Waiting for your reply": "waiting",
            "In progress": "active",
            "Waiting for support": "open",
        }
        page = client_for(customer).get(f"/tickets/{four['answered'].pk}/").content.decode()
        assert '<span class="badge badge-status-waiting">Waiting for your reply</span>' in page
        page = client_for(customer).get(f"/tickets/{four['waiting'].pk}/").content.decode()
        assert '<span class="badge badge-status-open">Waiting for support</span>' in page
        # And the colours differ: each badge's background in the site's stylesheet.
        css = Path(finders.find("css/site.css")).read_text()
        colours = dict(re.findall(r"\.badge-status-(\w+) \{ background-color: (#\w+);", css))
        assert colours["waiting"] not in {colours["open"], colours["active"], colours["closed"]}
        assert colours["waiting"] != "#ffc107"  # nor the amber of a high priority's badge

    def test_staff_keep_the_internal_names(self, four, agent):
        html = client_for(agent).get("/tickets/?status=all").content.decode()

        assert status_badges(html) == ["Closed", "Open", "Active", "Open"]
        assert "Waiting for support" not in html and "Waiting for your reply" not in html
        assert "badge-status-waiting" not in html

    def test_the_ticket_page_says_it_in_the_customers_words(self, four, customer, agent):
        answered = four["answered"]
        customer_page = client_for(customer).get(f"/tickets/{answered.pk}/").content.decode()
        staff_page = client_for(agent).get(f"/tickets/{answered.pk}/").content.decode()

        assert status_badges(customer_page) == ["Waiting for your reply"]
        assert '<dt class="col-5">Status</dt><dd class="col-7">Waiting for your reply</dd>' in (
            customer_page
        )
        # The ticket's badge, then the customer panel's other tickets: internal names.
        assert status_badges(staff_page) == ["Open", "Closed", "Active", "Open"]
        assert "Waiting for your reply" not in staff_page


class TestMyTicketsDefault:
    def test_closed_tickets_with_an_unread_reply_stay_until_read(
        self, four, customer, agent, make_ticket, make_message
    ):
        solved = make_ticket(customer, title="Solved while away")
        make_message(solved, agent, "Fixed: restart the printer.")
        solved.update_status("closed", by=agent)
        client = client_for(customer)

        html = client.get("/tickets/").content.decode()
        assert listed(html) == [
            solved.pk,
            four["answered"].pk,
            four["working"].pk,
            four["waiting"].pk,
        ]
        assert html.count("New reply") == 2  # solved, answered
        assert '<option value="" selected>Not closed, or with a new reply</option>' in html

        client.get(f"/tickets/{solved.pk}/")  # read: it may leave the default list
        assert solved.pk not in listed(client.get("/tickets/").content.decode())

        # The filters still reach every ticket.
        assert set(listed(client.get("/tickets/?status=all").content.decode())) == {
            solved.pk,
            *(t.pk for t in four.values()),
        }
        assert listed(client.get("/tickets/?status=closed").content.decode()) == [
            solved.pk,
            four["closed"].pk,
        ]

    def test_staff_default_list_is_still_what_is_not_closed(self, four, agent, make_message):
        make_message(four["closed"], agent, "One more thing.")  # unseen by the customer
        four["closed"].refresh_from_db()
        if four["closed"].status != "closed":
            four["closed"].update_status("closed", by=agent)

        html = client_for(agent).get("/tickets/").content.decode()

        assert four["closed"].pk not in listed(html)

    def test_a_staff_reply_on_a_closed_ticket_the_customer_saw_is_not_new(
        self, customer, agent, make_ticket, make_message
    ):
        ticket = make_ticket(customer)
        make_message(ticket, agent, "Done.")
        ticket.update_status("closed", by=agent)
        client = client_for(customer)
        client.get(f"/tickets/{ticket.pk}/")

        assert list(ticket_list_for(customer)) == []

    def test_the_default_list_reads_an_index(self, customer, make_ticket):
        """Whether an index CAN serve "My tickets" (the statistics of a few rows may make a scan
        look cheaper): on PostgreSQL, no sequential scan with scans turned off."""
        for _ in range(3):
            make_ticket(customer)
        page = ticket_list_for(customer)[:25]
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL enable_seqscan = off")
            plan = page.explain()
        assert "ticket_reporter" in plan, plan
        assert "Seq Scan" not in plan and "SCAN tickets_ticket" not in plan, plan


class TestLinks:
    @pytest.mark.parametrize(
        ("text", "html"),
        [
            (
                "See https://example.com/a?b=1&c=2.",
                'See <a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener">'
                "https://example.com/a?b=1&amp;c=2</a>.",
            ),
            (
                "www.example.org",
                '<a href="http://www.example.org" rel="nofollow noopener">www.example.org</a>',
            ),
            (
                "Mail help@example.com please",
                '<a href="mailto:help@example.com" rel="nofollow noopener">help@example.com</a>',
            ),
        ],
    )
    def test_addresses_become_links(self, text, html):
        assert html in linkify(text)

    @pytest.mark.parametrize(
        "hostile",
        [
            "<script>alert(1)</script>",
            "javascript:alert(1)",
            "JavaScript:alert(document.cookie)//http://x.com",
            'https://example.com/"onmouseover="alert(1)',
            "https://example.com/'><img src=x onerror=alert(1)>",
            "data:text/html,<script>alert(1)</script>",
            '<a href="javascript:alert(1)">click</a>',
            'http://"><script>alert(1)</script>',
        ],
    )
    def test_hostile_text_is_escaped_and_never_a_script_link(self, hostile):
        out = linkify(hostile)

        assert "<script" not in out and "<img" not in out
        assert 'href="javascript' not in out.lower() and 'href="data' not in out.lower()
        # Every tag left is a link of ours, whose address carries no quote or bracket.
        for tag in re.findall(r"<[^>]*>", out):
            assert re.fullmatch(
                r'<a href="(https?|mailto):[^"<>\']*" rel="nofollow noopener">', tag
            ) or (tag == "</a>"), tag

    @pytest.mark.parametrize(
        ("text", "linked"),
        [
            ("(see https://example.com/a_(b))", "https://example.com/a_(b)"),
            ("(see https://example.com/a).", "https://example.com/a"),
            ("Done: https://example.com/x?y=1!", "https://example.com/x?y=1"),
            ("<https://example.com/>", "https://example.com/"),
            ("https://... and https://example.com", "https://example.com"),
        ],
    )
    def test_punctuation_after_an_address_is_not_part_of_it(self, text, linked):
        assert re.findall(r'<a href="([^"]*)"', linkify(text)) == [linked]

    def test_plain_text_is_only_escaped(self):
        assert linkify("a < b & \"c\"\n'd' http:// mailto:x") == (
            "a &lt; b &amp; &quot;c&quot;\n&#x27;d&#x27; http:// mailto:x"
        )

    def test_messages_on_the_page_keep_their_lines_and_get_links(
        self, customer, agent, ticket, make_message
    ):
        make_message(ticket, agent, 'Read https://docs.example.com/fix\n<b>"then"</b> reply')

        html = client_for(customer).get(f"/tickets/{ticket.pk}/").content.decode()

        assert (
            '<div class="message-body">Read <a href="https://docs.example.com/fix" '
            'rel="nofollow noopener">https://docs.example.com/fix</a>\n'
            "&lt;b&gt;&quot;then&quot;&lt;/b&gt; reply</div>"
        ) in html
