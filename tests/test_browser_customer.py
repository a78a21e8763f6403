"""The customer's side in a real browser (issue 20): statuses in their words, a closed ticket with
an unread answer on "My tickets", links in messages, the timeline without staff housekeeping,
the profile's notification choices, the email change by link and "Download my data"; and the
login error and the register page's password rules.

Set up as tests/test_browser.py (Debian's Chromium through Playwright; skipped, with the reason,
where it is missing); the journey fails on any console error, page error, failed request or
request leaving the test server, and saves its screenshots to test-artifacts/browser/<journey>/.
"""

import json
import re
from pathlib import Path

import pytest

from accounts.models import User
from messaging.services import message_send
from tests.test_browser import CHROMIUM, Journey, _log_in, browser  # noqa: F401 (a fixture)
from tickets.services import ticket_assign, ticket_create, ticket_set_priority

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_customer_reads_an_answer_and_manages_their_account(
    browser,  # noqa: F811 (the fixture imported above)
    live_server,
    customer,
    agent,
    settings,
    mailoutbox,
):
    journey = Journey(browser, live_server.url, "customer-side")
    url = journey.url
    settings.SITE_URL = url
    # A ticket answered and closed while the customer was away, one waiting on them, one new.
    solved = ticket_create(
        reporter=customer, title="The printer prints blank pages", description="Only blank pages."
    )
    ticket_assign(ticket=solved, assignee=agent, by=agent)
    ticket_set_priority(ticket=solved, priority="high", by=agent)
    message_send(
        ticket=solved,
        sender=agent,
        content="Fixed: the toner was empty.\nThe guide: https://docs.example.com/toner?model=5\n"
        "Questions: printing@example.com <script>alert(1)</script>",
    )
    solved.update_status("closed", by=agent)
    asked = ticket_create(reporter=customer, title="VPN drops", description="Every hour.")
    message_send(ticket=asked, sender=agent, content="Which client version?")
    waiting = ticket_create(reporter=customer, title="New laptop", description="When?")
    page = journey.new_page()

    # The login error, in plain words.
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Username or email").fill("customer")
    page.locator("#id_password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Please enter a correct username (or email address) and password.").wait_for()
    journey.expect_refusal("/accounts/login/", 400)
    journey.step(page, "login-error")

    # "My tickets": the closed ticket with its unread answer is there, in the customer's words.
    _log_in(page, url, "customer")
    rows = page.locator("table.ticket-list tbody tr")
    assert rows.count() == 3

    def row(title: str):
        return rows.filter(has_text=title)

    assert row("The printer prints blank pages").get_by_text("New reply").is_visible()
    status = "[class*=badge-status]"
    assert row("The printer prints blank pages").locator(status).inner_text() == "Closed"
    assert row("VPN drops").locator(status).inner_text() == "Waiting for your reply"
    assert row("New laptop").locator(status).inner_text() == "Waiting for support"
    assert page.get_by_text("Active", exact=True).count() == 0
    journey.step(page, "my-tickets")

    # The ticket: the answer's link, escaped text, the customer's timeline.
    page.get_by_role("link", name="The printer prints blank pages").click()
    page.wait_for_url(f"{url}/tickets/{solved.pk}/")
    link = page.get_by_role("link", name="https://docs.example.com/toner?model=5")
    assert link.get_attribute("href") == "https://docs.example.com/toner?model=5"
    assert link.get_attribute("rel") == "nofollow noopener"
    mail_link = page.get_by_role("link", name="printing@example.com")
    assert mail_link.get_attribute("href") == "mailto:printing@example.com"
    assert page.get_by_text("<script>alert(1)</script>").is_visible()  # shown as text
    timeline = page.locator("ol.timeline").inner_text()
    assert "agent replied" in timeline and "agent closed the ticket" in timeline
    assert "assigned" not in timeline and "priority" not in timeline
    journey.step(page, "answer-with-links")

    # Read: it leaves the default list, and is still under "All".
    page.goto(f"{url}/tickets/")
    assert page.locator("table.ticket-list tbody tr").count() == 2
    page.goto(f"{url}/tickets/?status=all")
    assert page.locator("table.ticket-list tbody tr").count() == 3
    journey.step(page, "all-tickets")

    # Profile: the name, and no more mails about status changes.
    page.goto(f"{url}/accounts/profile/")
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Email me about status changes").uncheck()
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("Your profile was saved.").wait_for()
    customer.refresh_from_db()
    assert (customer.first_name, customer.notify_replies, customer.notify_status) == (
        "Ada",
        True,
        False,
    )
    journey.step(page, "profile-saved")

    # A new email address: a link goes to it; the old one holds until it is used.
    page.get_by_label("New email address").fill("ada@example.org")
    page.get_by_role("button", name="Send the link").click()
    page.get_by_text("We sent a link to ada@example.org.").wait_for()
    [email] = [sent for sent in mailoutbox if "ada@example.org" in sent.to]
    assert User.objects.get(pk=customer.pk).email == "customer@example.com"
    [link] = re.findall(rf"{re.escape(url)}/accounts/email/\S+/", email.body)
    page.goto(link)
    journey.step(page, "confirm-new-address")
    page.get_by_role("button", name="Use this address").click()
    page.wait_for_url(f"{url}/accounts/profile/")
    page.get_by_text("Your email address is now ada@example.org.").wait_for()
    assert User.objects.get(pk=customer.pk).email == "ada@example.org"
    journey.step(page, "address-changed")

    # Download my data.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data").click()
    data = json.loads(Path(download.value.path()).read_text())
    assert data["account"]["email"] == "ada@example.org"
    assert {ticket["title"] for ticket in data["tickets"]} == {
        "The printer prints blank pages",
        "VPN drops",
        "New laptop",
    }
    assert waiting.pk in {ticket["id"] for ticket in data["tickets"]}
    journey.step(page, "data-downloaded")

    # The register page: its password rules are there, in small print.
    anonymous = journey.new_page()
    anonymous.goto(f"{url}/accounts/register/")
    rules = anonymous.locator("#id_password1_helptext")
    assert "at least 12 characters" in rules.inner_text()
    size = rules.locator("li").first.evaluate("e => getComputedStyle(e).fontSize")
    assert float(size.removesuffix("px")) < 14
    journey.step(anonymous, "register-rules")
