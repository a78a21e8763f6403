"""The end-user journey in a real browser: register, report, get a reply, see it closed.

Runs Debian's Chromium through Playwright for Python. Skipped, with the reason, where Chromium
is not installed (`.ci/run` installs it). Screenshots of each step go to test-artifacts/browser/.
"""

import re
import shutil
from pathlib import Path

import pytest
from django.db import connections

from accounts.models import User
from conftest import PASSWORD
from tickets.models import Ticket

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def browser(monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between browser steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        # The ORM calls made while Playwright's loop runs get their own connection; close it,
        # or PostgreSQL refuses to drop the test database at the end of the session.
        connections.close_all()


def _watch(page, live_server_url: str, problems: list[str]) -> None:
    """Collect console errors and any request that leaves the test server."""
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"console: {msg.text}"))
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "request",
        lambda request: (
            request.url.startswith(live_server_url)
            or request.url.startswith("data:")
            or problems.append(f"external request: {request.url}")
        ),
    )
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))


def test_customer_reports_agent_replies_and_closes(browser, live_server, agent):
    problems: list[str] = []
    url = live_server.url

    customer_page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _watch(customer_page, url, problems)

    # Register.
    customer_page.goto(f"{url}/accounts/register/")
    customer_page.locator("#id_username").fill("maya")
    customer_page.locator("#id_email").fill("maya@example.com")
    customer_page.locator("#id_password1").fill("a long enough passphrase")
    customer_page.locator("#id_password2").fill("a long enough passphrase")
    customer_page.screenshot(path=SHOTS / "01-register.png")
    customer_page.get_by_role("button", name="Register").click()
    customer_page.wait_for_url(f"{url}/tickets/new/")
    assert User.objects.filter(username="maya").exists()

    # Report an issue.
    customer_page.locator("#id_title").fill("The printer prints only blank pages")
    customer_page.locator("#id_description").fill("Since Monday.\nEvery page is blank.")
    customer_page.locator("#id_priority").select_option("high")
    customer_page.get_by_role("button", name="Create ticket").click()
    customer_page.wait_for_url(re.compile(rf"{re.escape(url)}/tickets/\d+/$"))
    ticket = Ticket.objects.get(reporter__username="maya")
    assert ticket.status == Ticket.Status.OPEN
    customer_page.screenshot(path=SHOTS / "02-ticket-created.png", full_page=True)

    # The agent logs in, replies and closes.
    agent_page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _watch(agent_page, url, problems)
    agent_page.goto(f"{url}/accounts/login/")
    agent_page.locator("#id_username").fill(agent.username)
    agent_page.locator("#id_password").fill(PASSWORD)
    agent_page.get_by_role("button", name="Log in").click()
    agent_page.wait_for_url(f"{url}/tickets/")
    agent_page.get_by_role("link", name="The printer prints only blank pages").click()
    agent_page.locator("#id_content").fill("Please check the toner cartridge.")
    agent_page.get_by_role("button", name="Send").click()
    agent_page.get_by_text("Reply sent.").wait_for()
    agent_page.get_by_role("button", name="Close ticket").click()
    agent_page.get_by_text("The ticket is closed.").wait_for()
    agent_page.screenshot(path=SHOTS / "03-agent-closed.png", full_page=True)

    # The customer sees the reply and the closed status.
    customer_page.goto(f"{url}/tickets/?status=all")
    row = customer_page.get_by_role("row", name=re.compile("The printer prints only blank pages"))
    assert "New reply" in row.inner_text()
    assert "Closed" in row.inner_text()
    row.get_by_role("link").click()
    customer_page.get_by_text("Please check the toner cartridge.").wait_for()
    assert customer_page.get_by_role("button", name="Reopen ticket").is_visible()
    customer_page.screenshot(path=SHOTS / "04-customer-sees-reply.png", full_page=True)

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.first_response_at is not None
    assert list(ticket.events.values_list("to_value", flat=True)) == ["closed"]
    assert problems == []
