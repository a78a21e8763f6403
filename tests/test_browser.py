"""Four journeys in a real browser: a customer, an agent opening tickets for callers, an agent in
the admin, and the report page.

Runs Debian's Chromium through Playwright for Python. Skipped, with the reason, where Chromium
is not installed (`.ci/run` installs it). Each journey fails on any console error, page error,
failed request or request that leaves the test server, and saves a screenshot of each step to
test-artifacts/browser/<journey>/NN-step.png.
"""

import re
import shutil
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.db import connections

from accounts.models import User
from conftest import PASSWORD
from messaging.services import message_send
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_assign, ticket_create

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
VIEWPORT = {"width": 1280, "height": 900}
# Any one wait longer than this is a hang, not a slow machine.
TIMEOUT_MS = 15_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def browser(monkeypatch):
    # One Chromium per test, started after the test's database set-up and stopped before its
    # tear-down: while Playwright's event loop runs, Django hands out a different connection
    # (asgiref's Local follows contextvars then), and one without the serialized contents that
    # serialized_rollback restores; a browser shared by the module breaks the next test's data.
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between browser steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        # The ORM calls made while Playwright's loop runs get their own connection; close it,
        # or PostgreSQL refuses to drop the test database at the end of the session.
        connections.close_all()


class Journey:
    """One journey's pages: what the browser reports as wrong, and numbered screenshots."""

    def __init__(self, browser, live_server_url: str, name: str):
        self.browser = browser
        self.url = live_server_url
        self.problems: list[str] = []
        self.steps = 0
        self.shots = SHOTS / name
        # Only this run's screenshots: a step renamed or removed leaves no stale picture.
        shutil.rmtree(self.shots, ignore_errors=True)
        self.shots.mkdir(parents=True)

    def new_page(self):
        """A page in a fresh browser context (its own cookies), watched for problems."""
        page = self.browser.new_context(viewport=VIEWPORT).new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        page.on("request", self._on_request)
        page.on("requestfailed", self._on_request_failed)
        return page

    def _on_request_failed(self, request) -> None:
        # The browser drops a page's icon request when it leaves the page before the icon came:
        # the browser's choice, not the site's problem.
        if request.url.endswith("/static/favicon.svg") and request.failure == "net::ERR_ABORTED":
            return
        self.problems.append(f"request failed: {request.method} {request.url} ({request.failure})")

    def _on_console(self, message) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text} at {message.location}")

    def _on_request(self, request) -> None:
        url = request.url
        if not url.startswith((f"{self.url}/", "data:", "blob:")):
            self.problems.append(f"request leaving the test server: {request.method} {url}")

    def expect_refusal(self, path: str, status: int) -> None:
        """A form refused on purpose: Chromium reports its 4xx answer as a console error."""
        expected = (
            f"console error: Failed to load resource: the server responded with a status of "
            f"{status} "
        )
        refused = [p for p in self.problems if p.startswith(expected) and f"{self.url}{path}'" in p]
        assert len(refused) == 1, self.problems
        self.problems.remove(refused[0])

    def step(self, page, name: str) -> None:
        """Screenshot the page as step NN, then fail if the browser reported anything so far."""
        self.steps += 1
        page.screenshot(path=self.shots / f"{self.steps:02d}-{name}.png", full_page=True)
        assert self.problems == [], f"after step {self.steps:02d}-{name}"


def _log_in(page, url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Username or email").fill(username)
    page.locator("#id_password").fill(password)
    # Until the page it goes to has loaded: leaving it sooner aborts its scripts' requests.
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def _events(ticket: Ticket) -> list[tuple[str, str, str]]:
    return list(ticket.events.values_list("kind", "from_value", "to_value"))


def test_customer_journey(browser, live_server, agent, settings, mailoutbox):
    """Register, confirm the address from the email, log out, log in, report, get a reply,
    reply with a screenshot (which the agent opens), close and reopen."""
    journey = Journey(browser, live_server.url, "customer")
    url = journey.url
    # Links in emails point at the site's address: this server's.
    settings.SITE_URL = url
    page = journey.new_page()
    title = "The printer prints only blank pages"

    # Register.
    page.goto(f"{url}/accounts/register/")
    page.locator("#id_username").fill("maya")
    page.locator("#id_email").fill("maya@example.com")
    page.locator("#id_password1").fill("a long enough passphrase")
    page.locator("#id_password2").fill("a long enough passphrase")
    journey.step(page, "register-form")
    page.get_by_role("button", name="Register").click()
    page.wait_for_url(f"{url}/accounts/register/check-email/")
    page.get_by_role("heading", name="Check your email").wait_for()
    maya = User.objects.get(username="maya")
    assert maya.email == "maya@example.com"
    assert not maya.is_staff
    assert maya.email_verified_at is None
    assert Session.objects.count() == 0
    journey.step(page, "check-your-email")

    # Not before the address is confirmed.
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Username or email").fill("maya")
    page.locator("#id_password").fill("a long enough passphrase")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Your email address is not confirmed yet.").wait_for()
    assert page.get_by_role("button", name="Send the link again").is_visible()
    assert Session.objects.count() == 0
    journey.expect_refusal("/accounts/login/", 400)
    journey.step(page, "login-before-confirming")

    # Follow the link from the email, and press its button.
    [email] = mailoutbox
    assert email.to == ["maya@example.com"]
    [link] = re.findall(rf"{re.escape(url)}/accounts/verify/\S+/", email.body)
    page.goto(link)
    journey.step(page, "confirm-page")
    page.get_by_role("button", name="Confirm my email address").click()
    page.wait_for_url(f"{url}/tickets/new/")
    page.get_by_text("Your email address is confirmed. Welcome!").wait_for()
    maya.refresh_from_db()
    assert maya.email_verified_at is not None
    assert Session.objects.count() == 1
    journey.step(page, "registered")

    # Log out through the user menu (Bootstrap's dropdown: its script must work).
    page.get_by_role("button", name=re.compile(r"^maya")).click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{url}/accounts/login/")
    nav = page.get_by_role("navigation", name="Main navigation")
    assert nav.get_by_role("link", name="Register").is_visible()
    assert Session.objects.count() == 0
    page.goto(f"{url}/tickets/")
    page.wait_for_url(re.compile(re.escape(f"{url}/accounts/login/?next=")))
    journey.step(page, "logged-out")

    # Log in with the new account.
    page.get_by_label("Username or email").fill("maya")
    page.locator("#id_password").fill("a long enough passphrase")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{url}/tickets/")
    page.get_by_text("Signed in as maya.").wait_for()
    assert page.get_by_text("No tickets here.").is_visible()
    journey.step(page, "logged-in")

    # Report an issue.
    nav.get_by_role("link", name="New ticket").click()
    page.wait_for_url(f"{url}/tickets/new/")
    page.locator("#id_title").fill(title)
    page.locator("#id_description").fill("Since Monday.\nEvery page is blank.")
    page.locator("#id_priority").select_option("high")
    page.get_by_role("button", name="Create ticket").click()
    page.wait_for_url(re.compile(rf"{re.escape(url)}/tickets/\d+/$"))
    ticket = Ticket.objects.get(reporter=maya)
    assert page.url == f"{url}/tickets/{ticket.pk}/"
    page.get_by_text(f"Ticket #{ticket.pk} was created.").wait_for()
    assert page.get_by_role("heading", name=title).is_visible()
    assert (ticket.title, ticket.status, ticket.priority) == (title, "open", "high")
    # The browser sends a textarea's line breaks as CRLF, and they are stored as sent.
    assert ticket.description.splitlines() == ["Since Monday.", "Every page is blank."]
    journey.step(page, "ticket-created")

    # An agent logs in and replies on the help desk's own pages.
    agent_page = journey.new_page()
    _log_in(agent_page, url, agent.username)
    agent_page.wait_for_url(f"{url}/tickets/")
    agent_page.get_by_role("link", name=title).click()
    agent_page.locator("#id_content").fill("Please check the toner cartridge.")
    agent_page.get_by_role("button", name="Send reply").click()
    agent_page.get_by_text("Reply sent.").wait_for()
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None
    assert ticket.has_unseen_reply
    journey.step(agent_page, "agent-replied")

    # The customer sees the "New reply" marker, then the reply.
    nav.get_by_role("link", name="My tickets").click()
    page.wait_for_url(f"{url}/tickets/")
    row = page.get_by_role("row", name=re.compile(title))
    assert "New reply" in row.inner_text()
    assert "Waiting for your reply" in row.inner_text()  # the customer's words
    journey.step(page, "new-reply-marker")
    row.get_by_role("link").click()
    page.get_by_text("Please check the toner cartridge.").wait_for()
    ticket.refresh_from_db()
    assert not ticket.has_unseen_reply
    journey.step(page, "sees-reply")

    # The customer replies, with a screenshot of the page attached: the chosen file is listed
    # (by static/js/attachments.js) before anything is sent.
    page.locator("#id_content").fill("The toner is full; still blank.")
    screenshot = page.screenshot()
    page.locator("#id_files").set_input_files(
        files=[{"name": "blank-page.png", "mimeType": "image/png", "buffer": screenshot}]
    )
    chosen = page.get_by_role("list", name="Files to send")
    assert "blank-page.png" in chosen.inner_text()
    journey.step(page, "file-chosen")
    page.get_by_role("button", name="Send").click()
    page.get_by_text("Reply sent.").wait_for()
    conversation = page.get_by_role("article")
    assert conversation.count() == 2
    assert "The toner is full; still blank." in conversation.nth(1).inner_text()
    assert "blank-page.png" in conversation.nth(1).inner_text()
    assert list(ticket.messages.values_list("sender__username", "is_internal")) == [
        (agent.username, False),
        ("maya", False),
    ]
    attachment = ticket.attachments.get()
    assert (attachment.name, attachment.sniffed_type, attachment.size) == (
        "blank-page.png",
        "image/png",
        len(screenshot),
    )
    journey.step(page, "replied")

    # The agent sees the screenshot's preview on the ticket and opens it full size.
    agent_page.goto(f"{url}/tickets/{ticket.pk}/")
    preview = agent_page.get_by_title("Open blank-page.png full size")
    # The preview loads lazily (loading="lazy"): once it is in view, not with the page's load
    # event. Brought into view, it must then load and have a width (a broken image has none).
    preview.scroll_into_view_if_needed()
    image = preview.locator("img").element_handle()
    agent_page.wait_for_function("image => image.complete", arg=image)
    assert image.evaluate("image => image.naturalWidth") > 0
    journey.step(agent_page, "agent-sees-screenshot")
    with agent_page.expect_popup() as opened:
        preview.click()
    full_size = opened.value
    full_size.wait_for_load_state()
    assert full_size.url == f"{url}/tickets/{ticket.pk}/files/{attachment.pk}/blank-page.png"
    shown = full_size.evaluate("() => [document.images.length, document.images[0].naturalWidth]")
    assert shown == [1, VIEWPORT["width"]]
    journey.step(full_size, "screenshot-full-size")
    full_size.close()

    # The customer closes the ticket.
    page.get_by_role("button", name="Close ticket").click()
    page.get_by_text("The ticket is closed.").wait_for()
    assert page.get_by_role("button", name="Reopen ticket").is_visible()
    assert page.get_by_text("This ticket is closed; replying reopens it.").is_visible()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.closed_at is not None
    journey.step(page, "closed")
    page.goto(f"{url}/tickets/?status=all")
    assert "Closed" in page.get_by_role("row", name=re.compile(title)).inner_text()
    journey.step(page, "closed-in-list")

    # ... and reopens it.
    page.get_by_role("link", name=title).click()
    page.get_by_role("button", name="Reopen ticket").click()
    page.get_by_text("The ticket is open again.").wait_for()
    assert page.get_by_role("button", name="Close ticket").is_visible()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.closed_at is None
    assert _events(ticket) == [("status", "open", "closed"), ("status", "closed", "open")]
    assert list(ticket.events.values_list("actor__username", flat=True)) == ["maya", "maya"]
    journey.step(page, "reopened")


def test_agent_triages_in_the_admin(browser, live_server, customer, make_user, make_ticket):
    """Find the ticket in the admin's triage queue, take it, reply, note and close it."""
    journey = Journey(browser, live_server.url, "agent-admin")
    url = journey.url
    agent = make_user("erin", staff=True)
    colleague = make_user("sam", staff=True)
    ticket = make_ticket(customer, title="VPN drops every ten minutes", priority="high")
    # Two more tickets that the triage filters must leave out.
    taken = make_ticket(customer, title="Taken already")
    ticket_assign(ticket=taken, assignee=colleague, by=colleague)
    done = make_ticket(customer, title="Done already")
    done.update_status(Ticket.Status.CLOSED, by=colleague)

    page = journey.new_page()
    page.goto(f"{url}/admin/login/")
    page.locator("#id_username").fill(agent.username)
    page.locator("#id_password").fill(PASSWORD)
    journey.step(page, "admin-login")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{url}/admin/")
    assert page.get_by_role("heading", name="Triage and administration").is_visible()
    journey.step(page, "admin-index")

    # The triage queue: open and unassigned.
    page.locator("#tickets-ticket").get_by_role("link", name="Tickets").click()
    page.wait_for_url(f"{url}/admin/tickets/ticket/")
    filters = page.locator("#changelist-filter")
    filters.locator("details", has_text="By status").get_by_role(
        "link", name="Open", exact=True
    ).click()
    page.wait_for_url(re.compile(r"status__exact=open"))
    filters.get_by_role("link", name="Unassigned").click()
    page.wait_for_url(re.compile(r"assignee=none"))
    assert "status__exact=open" in page.url
    results = page.locator("#result_list tbody tr")
    assert results.count() == 1
    assert "VPN drops every ten minutes" in results.first.inner_text()
    journey.step(page, "triage-queue")

    # Take it: the "Assign to me" action.
    results.first.locator("input.action-select").check()
    page.locator("select[name=action]").select_option("assign_to_me")
    page.locator("button[name=index]").click()
    page.locator(".messagelist").get_by_text("Assigned to you: 1 ticket.").wait_for()
    assert page.get_by_text("0 tickets").is_visible()
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    assert ticket.status == Ticket.Status.ACTIVE
    assert _events(ticket) == [("assignment", "", "erin"), ("status", "open", "active")]
    journey.step(page, "taken")

    # It is now in "assigned to me", active.
    filters.get_by_role("link", name="Assigned to me").click()
    filters.locator("details", has_text="By status").get_by_role(
        "link", name="Active", exact=True
    ).click()
    page.wait_for_url(re.compile(r"status__exact=active"))
    assert results.count() == 1
    row_text = results.first.inner_text()
    assert "VPN drops every ten minutes" in row_text
    assert "erin" in row_text
    journey.step(page, "assigned-to-me")

    # Reply to the reporter from the ticket's page.
    results.first.get_by_role("link", name="VPN drops every ten minutes").click()
    page.wait_for_url(f"{url}/admin/tickets/ticket/{ticket.pk}/change/*")
    page.locator("#id_reply").fill("Which VPN client version do you use?")
    page.get_by_role("button", name="Save and continue editing").click()
    page.locator(".messagelist").get_by_text("was changed successfully").wait_for()
    conversation = page.locator("#ticket-conversation")
    conversation.get_by_text("Which VPN client version do you use?").wait_for()
    assert "public reply" in conversation.inner_text()
    assert page.locator("#id_reply").input_value() == ""
    reply = ticket.messages.get()
    assert (reply.sender, reply.is_internal, reply.receiver) == (agent, False, customer)
    ticket.refresh_from_db()
    assert ticket.first_response_at == reply.created_at
    journey.step(page, "replied")

    # An internal note.
    page.locator("#id_internal_note").fill("Known issue with client 4.2; see the wiki.")
    page.get_by_role("button", name="Save and continue editing").click()
    page.locator(".messagelist").get_by_text("was changed successfully").wait_for()
    conversation.get_by_text("Known issue with client 4.2; see the wiki.").wait_for()
    assert "INTERNAL NOTE" in conversation.inner_text()
    note = ticket.messages.get(is_internal=True)
    assert (note.sender, note.receiver) == (agent, None)
    assert ticket.messages.filter(is_internal=False).count() == 1
    journey.step(page, "noted")

    # Close it.
    page.locator("#id_new_status").select_option("closed")
    page.get_by_role("button", name="Save", exact=True).click()
    page.locator(".messagelist").get_by_text("was changed successfully").wait_for()
    # Back in the "active, assigned to me" queue, which it has left.
    assert page.get_by_text("0 tickets").is_visible()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.closed_at is not None
    assert ticket.assignee == agent
    assert _events(ticket) == [
        ("assignment", "", "erin"),
        ("status", "open", "active"),
        ("status", "active", "closed"),
    ]
    assert set(TicketEvent.objects.filter(ticket=ticket).values_list("actor", flat=True)) == {
        agent.pk
    }
    journey.step(page, "closed")
    filters.locator("details", has_text="By status").get_by_role(
        "link", name="Closed", exact=True
    ).click()
    page.wait_for_url(re.compile(r"status__exact=closed"))
    assert results.count() == 1
    assert "VPN drops every ten minutes" in results.first.inner_text()
    journey.step(page, "closed-in-queue")
    # The other two tickets were never touched.
    taken.refresh_from_db()
    done.refresh_from_db()
    assert (taken.assignee, taken.status) == (colleague, Ticket.Status.ACTIVE)
    assert done.status == Ticket.Status.CLOSED


def test_agent_opens_tickets_for_callers(browser, live_server, agent, make_user, mailoutbox):
    """An agent opens a ticket for a customer picked from the Customer box's suggestions, then
    one for a caller without an account (typed as an email address)."""
    alice = make_user("alice")
    alice.first_name, alice.last_name = "Alice", "Liddell"
    alice.save()
    make_user("alicia", staff=True)  # staff: never suggested
    journey = Journey(browser, live_server.url, "open-for-customer")
    url = journey.url
    page = journey.new_page()
    _log_in(page, url, "agent")
    page.goto(f"{url}/tickets/new/")
    box = page.get_by_label("Customer")
    assert box.evaluate("element => element === document.activeElement")

    # The suggestions: customers whose name, username or address begins with what is typed.
    box.press_sequentially("ali")
    page.wait_for_function(
        "() => document.querySelectorAll('#customer-suggestions option').length === 1"
    )
    option = page.locator("#customer-suggestions option")
    assert option.get_attribute("value") == "alice"
    assert option.get_attribute("label") == "Alice Liddell · alice@example.com"
    box.fill("alice")
    page.get_by_label("Title").fill("Cannot print invoices")
    page.get_by_label("Description").fill("She phoned: the printer says offline.")
    journey.step(page, "customer-chosen")
    page.get_by_role("button", name="Create ticket").click()
    ticket = Ticket.objects.get()
    page.wait_for_url(f"{url}/tickets/{ticket.pk}/")
    page.get_by_text(f"Ticket #{ticket.pk} was opened for alice (alice@example.com).").wait_for()
    page.get_by_text("opened the ticket for alice").wait_for()
    assert ticket.reporter == alice
    journey.step(page, "opened-for-alice")

    # A caller without an account: their address makes one.
    page.goto(f"{url}/tickets/new/")
    page.get_by_label("Customer").fill("bob.caller@example.org")
    page.get_by_label("Title").fill("VPN drops every hour")
    page.get_by_label("Description").fill("He phoned from the train.")
    page.get_by_role("button", name="Create ticket").click()
    page.get_by_text("was opened for bob.caller (bob.caller@example.org).").wait_for()
    bob = User.objects.get(email="bob.caller@example.org")
    assert not bob.has_usable_password() and not bob.is_staff
    assert "bob.caller@example.org" in [m.to[0] for m in mailoutbox]
    journey.step(page, "opened-for-a-new-caller")


def _report_data(customer, other_customer, agent, other_agent) -> None:
    """Tickets, replies, assignments and status changes, through the services, so that every
    chart of the report page has something to draw."""
    answered = ticket_create(reporter=customer, title="Answered and closed", description="x")
    message_send(ticket=answered, sender=agent, content="Fixed.")
    answered.update_status(Ticket.Status.CLOSED, by=agent)
    working = ticket_create(
        reporter=other_customer, title="Being worked on", description="x", priority="urgent"
    )
    ticket_assign(ticket=working, assignee=agent, by=agent)
    message_send(ticket=working, sender=agent, content="Looking into it.")
    reopened = ticket_create(reporter=customer, title="Reopened", description="x", priority="low")
    ticket_assign(ticket=reopened, assignee=other_agent, by=other_agent)
    reopened.update_status(Ticket.Status.CLOSED, by=other_agent)
    message_send(ticket=reopened, sender=customer, content="Still broken.")  # reopens it
    ticket_create(reporter=other_customer, title="Waiting", description="x", priority="high")


def _wait_for_charts(page) -> int:
    """Wait until Plotly has drawn every chart container on the page; returns how many."""
    charts = page.locator(".report-chart")
    count = charts.count()
    page.wait_for_function(
        """n => {
            const drawn = document.querySelectorAll(
                '.report-chart.js-plotly-plot[data-drawn="true"]');
            return drawn.length === n && [...drawn].every(
                chart => chart.querySelector('svg.main-svg .cartesianlayer .trace'));
        }""",
        arg=count,
    )
    return count


def test_staff_sees_every_report_chart(
    browser, live_server, customer, other_customer, agent, other_agent
):
    """Every chart of the report page is drawn by plotly.js from our own static files."""
    _report_data(customer, other_customer, agent, other_agent)
    journey = Journey(browser, live_server.url, "reports")
    url = journey.url
    page = journey.new_page()
    plotly_responses = []
    page.on(
        "response",
        lambda response: "/static/plotly/" in response.url and plotly_responses.append(response),
    )

    page.goto(f"{url}/accounts/login/?next=/reports/")
    page.get_by_label("Username or email").fill(agent.username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{url}/reports/")
    assert _wait_for_charts(page) == 10
    assert [r.status for r in plotly_responses] == [200]
    assert plotly_responses[0].url == f"{url}/static/plotly/plotly.min.js"
    assert page.locator("#metric-created .fs-4").inner_text() == "4"
    # Each chart's table (the same numbers) has data: no chart is drawn empty.
    tables = page.locator("[id^=table-] tbody").all()
    assert len(tables) == 10
    for table in tables:
        cells = table.locator("td:not(:first-child)").all_inner_texts()
        assert cells, table.get_attribute("id")
        assert sum(float(cell) for cell in cells) > 0, table.inner_text()
    # The new-users chart counts users, not tickets (it once said "tickets").
    assert page.locator("#chart-registrations .ytitle").text_content() == "users"
    # Long chart titles do not squeeze their "Show table" button onto two lines.
    buttons = page.locator("[data-toggle-table]").all()
    assert len({round(button.bounding_box()["height"]) for button in buttons}) == 1
    period = page.locator("main p.text-body-secondary").first.inner_text()
    journey.step(page, "last-30-days")

    # Another period: the page reloads and every chart is drawn again.
    page.locator("#id_preset").select_option("7d")
    page.get_by_role("button", name="Show", exact=True).click()
    page.wait_for_url(re.compile(r"/reports/\?preset=7d"))
    assert _wait_for_charts(page) == 10
    assert page.locator("main p.text-body-secondary").first.inner_text() != period
    assert page.locator("#id_preset").input_value() == "7d"
    journey.step(page, "last-7-days")

    # A chart can be shown as its table, and back.
    toggle = page.locator("[data-toggle-table=table-workload]")
    toggle.click()
    assert page.locator("#table-workload").is_visible()
    assert not page.locator("#chart-workload").is_visible()
    assert (
        page.locator("#table-workload")
        .get_by_role("cell", name=agent.username, exact=True)
        .is_visible()
    )
    journey.step(page, "workload-as-table")
    toggle.click()
    assert page.locator("#chart-workload .main-svg").first.is_visible()
    assert journey.problems == []
