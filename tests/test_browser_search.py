"""The search and the lists on a phone, in a real browser (Debian's Chromium, Playwright).

An agent searches from the list's box on a 390 x 844 screen: the results are cards (no table
wider than the screen), with the words marked; the same page on a desktop is the table. A
customer's list is cards too. Screenshots in test-artifacts/browser/search/.
"""

from __future__ import annotations

import pytest

from messaging.services import message_send
from tests.test_browser import CHROMIUM, TIMEOUT_MS, Journey, _log_in, browser  # noqa: F401
from tickets.services import ticket_create

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not __import__("pathlib").Path(CHROMIUM).exists(), reason="no Chromium"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
PHONE = {"width": 390, "height": 844}


def layout(page) -> dict:
    """How the list is drawn: the first row's display, and how far the page is wider than
    the screen."""
    return page.evaluate(
        """() => ({
            row: getComputedStyle(document.querySelector('.ticket-list tbody tr')).display,
            overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        })"""
    )


def test_search_and_cards_on_a_phone(browser, live_server, agent, customer):  # noqa: F811
    for number in range(3):
        ticket_create(
            reporter=customer,
            title=f"Printer on floor {number} jams with a very long title that wraps",
            description="The printer by the kitchen says <b>offline</b>.",
        )
    vpn = ticket_create(reporter=customer, title="VPN drops", description="Every five minutes.")
    message_send(ticket=vpn, sender=agent, content="Which firmware does the router run?")

    journey = Journey(browser, live_server.url, "search")
    page = journey.browser.new_context(viewport=PHONE).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    _log_in(page, journey.url, agent.username)
    page.goto(f"{journey.url}/tickets/")
    assert layout(page) == {"row": "grid", "overflow": 0}
    journey.step(page, "phone-staff-list")

    page.get_by_label("Search", exact=True).fill("firmware")
    with page.expect_navigation():
        page.get_by_role("button", name="Search", exact=True).click()
    assert "q=firmware" in page.url
    assert page.locator(".ticket-list tbody tr").count() == 1
    assert page.locator(".search-snippet mark").inner_text() == "firmware"
    assert layout(page) == {"row": "grid", "overflow": 0}
    journey.step(page, "phone-search-in-a-message")

    page.goto(f"{journey.url}/tickets/?q=printer+-vpn")
    assert page.locator(".ticket-list tbody tr").count() == 3
    # The description's markup is text on the page, never markup.
    assert "<b>offline</b>" in page.locator(".search-snippet").first.inner_text()
    journey.step(page, "phone-search")

    page.goto(f"{journey.url}/tickets/?q=%23{vpn.pk}")
    assert page.url.endswith(f"/tickets/{vpn.pk}/")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{journey.url}/tickets/?q=printer")
    assert layout(page) == {"row": "table-row", "overflow": 0}
    journey.step(page, "desktop-search")

    customer_page = journey.browser.new_context(viewport=PHONE).new_page()
    _log_in(customer_page, journey.url, customer.username)
    customer_page.goto(f"{journey.url}/tickets/")
    assert layout(customer_page) == {"row": "grid", "overflow": 0}
    journey.step(customer_page, "phone-customer-list")
