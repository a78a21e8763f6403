"""Accessibility in a real browser (issue 20): axe-core over every page for every role, every page
at 320 px wide without sideways scrolling, the skip link and the focus ring, and the customer's
whole journey with the keyboard alone.

Set up as tests/test_browser.py (Debian's Chromium through Playwright; skipped, with the reason,
where it is missing). axe-core comes inside the axe-playwright-python wheel: nothing is loaded
from elsewhere. One browser per test; each role logs in once (a session made by Django, given to
the browser as a cookie) and keeps its browser context for all its pages.

The axe summary (pages x roles, violations by impact) is written to
test-artifacts/axe/summary.txt (every violation, of any impact, to violations.txt there), and
tests/conftest.py shows it at the end of the run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from conftest import PASSWORD, create_user
from messaging.models import CannedReply
from messaging.services import message_send
from tests.test_browser import (  # noqa: F401 (browser is a fixture)
    CHROMIUM,
    SHOTS,
    VIEWPORT,
    Journey,
    _report_data,
    _wait_for_charts,
    browser,
)
from tests.test_browser_workspace import hold_polling, release_polling
from tickets.models import Ticket
from tickets.services import ticket_assign, ticket_create

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ARTIFACTS = SHOTS.parent / "axe"
# The impacts that fail the test; "moderate" and "minor" are counted in the summary only.
FAILING_IMPACTS = ("critical", "serious")
IMPACTS = ("critical", "serious", "moderate", "minor")
ROLES = ("anonymous", "customer", "agent", "admin")
NARROW = {"width": 320, "height": 640}
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005ff02fea3a5a5b30000000049454e44ae426082"
)


# The elements that stick out past the right edge, deepest first: what to fix.
WIDER_THAN_VIEWPORT = """width => [...document.querySelectorAll("body *")]
    .filter(el => el.getBoundingClientRect().right > width + 0.5)
    .filter(el => ![...el.children].some(child => child.getBoundingClientRect().right > width + 0.5))
    .slice(0, 6)
    .map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
        + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "")
        + " (" + Math.round(el.getBoundingClientRect().right) + ")")"""
BAD_PERIOD = "/reports/?preset=custom&start=2025-02-01&end=2025-01-01"
# The pages whose narrow screenshots are kept (test-artifacts/browser/narrow/).
NARROW_SHOTS = {"ticket list", "ticket page", "reports", "new ticket"}


# Every element the keyboard can reach on the page, focused in turn: those that draw no ring
# (an outline of 2 px or more; a hidden radio button's is drawn on its label).
WITHOUT_FOCUS_RING = """() => {
    const reachable = 'a[href], button, input:not([type="hidden"]), select, textarea, summary, '
        + '[tabindex]:not([tabindex="-1"])';
    const missing = [];
    for (const target of document.querySelectorAll(reachable)) {
        if (target.disabled || !target.getClientRects().length) continue;
        const drawn = target.classList.contains("btn-check") ? target.labels[0] : target;
        target.focus({preventScroll: true});
        if (document.activeElement !== target) continue;
        const style = getComputedStyle(drawn);
        if (style.outlineStyle === "none" || parseFloat(style.outlineWidth) < 2) {
            missing.push(drawn.tagName.toLowerCase() + (drawn.id ? "#" + drawn.id : "") + " "
                + JSON.stringify((drawn.innerText || drawn.value || "").trim().slice(0, 30)));
        }
    }
    document.activeElement.blur();
    return missing;
}"""


@dataclass(frozen=True)
class Visit:
    role: str
    name: str
    path: str
    # Some pages are meant to answer 4xx (the error pages).
    status: int = 200
    charts: bool = False


def _cast() -> dict:
    """The people and tickets the pages show: a conversation with a file, a closed ticket, the
    report's data, a ticket in the admin."""
    customer = create_user("customer")
    other_customer = create_user("other_customer")
    agent = create_user("agent", staff=True)
    other_agent = create_user("other_agent", staff=True)
    admin = create_user("admin", superuser=True)
    _report_data(customer, other_customer, agent, other_agent)
    ticket = ticket_create(
        reporter=customer,
        title="The printer prints only blank pages",
        description="Since Monday.\nEvery page is blank.",
        priority="high",
    )
    ticket_assign(ticket=ticket, assignee=agent, by=agent)
    message_send(ticket=ticket, sender=agent, content="Please check the toner: https://example.com")
    message_send(
        ticket=ticket,
        sender=customer,
        content="The toner is full; still blank.",
        files=[SimpleUploadedFile("blank-page.png", PNG_1X1, content_type="image/png")],
    )
    message_send(ticket=ticket, sender=agent, content="Known issue, see wiki.", is_internal=True)
    CannedReply.objects.create(title="Toner", body="Hello {customer}, please check the toner.")
    return {
        "users": {"customer": customer, "agent": agent, "admin": admin},
        "ticket": ticket,
        "closed": Ticket.objects.get(title="Answered and closed"),
    }


def _visits(cast: dict) -> list[Visit]:
    pk = cast["ticket"].pk
    missing = "/tickets/999999/"
    visits = [
        Visit("anonymous", "log in", "/accounts/login/"),
        Visit("anonymous", "register", "/accounts/register/"),
        Visit("anonymous", "forgot password", "/accounts/password_reset/"),
        Visit("anonymous", "reset link sent", "/accounts/password_reset/done/"),
        Visit("anonymous", "not found (404)", "/no-such-page/", status=404),
    ]
    for role in ("customer", "agent", "admin"):
        visits += [
            Visit(role, "ticket list", "/tickets/"),
            Visit(role, "ticket list, all", "/tickets/?status=all"),
            Visit(role, "new ticket", "/tickets/new/"),
            Visit(role, "ticket page", f"/tickets/{pk}/"),
            Visit(role, "closed ticket page", f"/tickets/{cast['closed'].pk}/"),
            Visit(role, "profile", "/accounts/profile/"),
            Visit(role, "change password", "/accounts/password_change/"),
            Visit(role, "not found (404)", missing, status=404),
        ]
    for role in ("agent", "admin"):
        visits += [
            Visit(role, "reports", "/reports/", charts=True),
            Visit(role, "reports, bad period (400)", BAD_PERIOD, status=400),
            Visit(role, "canned replies", f"/tickets/{pk}/canned-replies/"),
            Visit(role, "admin index", "/admin/"),
            Visit(role, "admin ticket list", "/admin/tickets/ticket/"),
            Visit(role, "admin ticket page", f"/admin/tickets/ticket/{pk}/change/"),
        ]
    # Not the user's change page: Django's own widgets there (the groups' and permissions'
    # two-box picker, the split date and time boxes) fail axe, and are Django's to fix.
    visits.append(Visit("admin", "admin user list", "/admin/accounts/user/"))
    return visits


class Visitor:
    """One logged-in page per role (a session Django makes, given to the browser as a cookie:
    no login form per role and test), each watched for console errors and failed requests."""

    def __init__(self, journey: Journey, cast: dict):
        self.journey = journey
        self.cast = cast
        self.pages = {}

    def open(self, visit: Visit, viewport: dict = VIEWPORT):
        page = self.pages.get(visit.role)
        if page is None:
            page = self.pages[visit.role] = self.journey.new_page()
            user = self.cast["users"].get(visit.role)
            if user is not None:
                client = Client()
                client.force_login(user, backend="accounts.backends.UsernameOrEmailBackend")
                cookie = client.cookies[settings.SESSION_COOKIE_NAME]
                page.context.add_cookies(
                    [{"name": cookie.key, "value": cookie.value, "url": self.journey.url}]
                )
        page.set_viewport_size(viewport)
        response = page.goto(f"{self.journey.url}{visit.path}")
        assert response.status == visit.status, (visit, page.url)
        if visit.status >= 400:
            self.journey.expect_refusal(visit.path, visit.status)
        if visit.charts:
            _wait_for_charts(page)
        assert self.journey.problems == [], visit
        return page


def _format_violation(violation: dict) -> str:
    targets = "; ".join(", ".join(node["target"]) for node in violation["nodes"][:8])
    more = len(violation["nodes"]) - 8
    if more > 0:
        targets += f"; and {more} more"
    why = " ".join(violation["nodes"][0].get("failureSummary", "").split())
    return (
        f"  {violation['id']} ({violation['impact']}): {violation['help']} -> {targets}"
        f"\n    first node: {why}"
    )


def _summary_table(found: dict[tuple[str, str], list[dict]], visits: list[Visit]) -> str:
    """Pages x roles, each cell the violations by impact ("c/s/m/n"), then totals by impact."""
    pages = list(dict.fromkeys(visit.name for visit in visits))
    width = max(len(page) for page in pages)
    lines = [
        "axe-core: violations per page and role, as critical/serious/moderate/minor "
        "('-': not a page of that role)",
        f"{'page':<{width}}  " + "  ".join(f"{role:>9}" for role in ROLES),
    ]
    totals = Counter()
    for page in pages:
        cells = []
        for role in ROLES:
            if (page, role) not in found:
                cells.append(f"{'-':>9}")
                continue
            counts = Counter(v["impact"] for v in found[page, role])
            totals.update(counts)
            cells.append(f"{'/'.join(str(counts[i]) for i in IMPACTS):>9}")
        lines.append(f"{page:<{width}}  " + "  ".join(cells))
    lines.append(
        f"{len(found)} page views; violations by impact: "
        + ", ".join(f"{impact} {totals[impact]}" for impact in IMPACTS)
    )
    return "\n".join(lines)


def test_no_serious_axe_violation_on_any_page_for_any_role(browser, live_server):  # noqa: F811 (the fixture imported above)
    """axe-core finds nothing serious or critical on any page for any role, and everything the
    keyboard can reach on those pages draws a focus ring when focused."""
    from axe_playwright_python.sync_playwright import Axe

    cast = _cast()
    visits = _visits(cast)
    axe = Axe()
    visitor = Visitor(Journey(browser, live_server.url, "axe"), cast)
    found: dict[tuple[str, str], list[dict]] = {}
    failures = []
    for visit in visits:
        page = visitor.open(visit)
        # A keyboard press first: the browser then draws focus rings for focus() too.
        page.keyboard.press("Tab")
        unringed = page.evaluate(WITHOUT_FOCUS_RING)
        if unringed:
            failures.append(
                f"{visit.role} on {visit.name} ({visit.path}): no visible focus ring on "
                + "; ".join(unringed)
            )
        violations = axe.run(page).response["violations"]
        found[visit.name, visit.role] = violations
        serious = [v for v in violations if v["impact"] in FAILING_IMPACTS]
        if serious:
            failures.append(
                f"{visit.role} on {visit.name} ({visit.path}):\n"
                + "\n".join(_format_violation(v) for v in serious)
            )
    summary = _summary_table(found, visits)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "summary.txt").write_text(summary + "\n")
    details = "\n".join(
        f"{role} on {name}:\n" + "\n".join(_format_violation(v) for v in violations)
        for (name, role), violations in found.items()
        if violations
    )
    (ARTIFACTS / "violations.txt").write_text(details + "\n")
    print(summary)
    assert not failures, "axe-core found serious or critical violations:\n" + "\n".join(failures)
    # Each role's pages were all seen (a page that failed to open would have stopped the test).
    assert {role for _, role in found} == set(ROLES)


def test_every_page_fits_320_px_without_sideways_scrolling(browser, live_server):  # noqa: F811 (the fixture imported above)
    """At 320 CSS pixels (a small phone, or 1280 px zoomed to 400%) the page itself never
    scrolls sideways; a wide table may scroll inside its own box."""
    cast = _cast()
    journey = Journey(browser, live_server.url, "narrow")
    visitor = Visitor(journey, cast)
    too_wide = []
    for visit in _visits(cast):
        page = visitor.open(visit, NARROW)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > NARROW["width"]:
            culprits = page.evaluate(WIDER_THAN_VIEWPORT, NARROW["width"])
            too_wide.append(f"{visit.role} on {visit.name} ({visit.path}): {width} px, {culprits}")
        if visit.name in NARROW_SHOTS:
            journey.step(page, f"{visit.role}-{visit.name.replace(' ', '-')}")
    assert not too_wide, "pages wider than 320 px:\n" + "\n".join(too_wide)


# What has the keyboard's focus, and whether it is drawn with a ring a sighted person can see:
# "" when it is, else what is wrong. A hidden radio button's ring is drawn on its label.
FOCUS_RING = """() => {
    let el = document.activeElement;
    // Past the last element the focus leaves the page (the browser's own controls) and the
    // next Tab comes back to the first.
    if (!el || el === document.body) return "";
    if (el.classList.contains("btn-check")) el = el.labels[0];
    const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
        + " " + JSON.stringify((el.innerText || el.value || "").trim().slice(0, 40));
    const style = getComputedStyle(el);
    if (style.outlineStyle === "none" || parseFloat(style.outlineWidth) < 2) {
        return name + " has no focus ring";
    }
    const box = el.getBoundingClientRect();
    if (box.width < 1 || box.height < 1) return name + " is focused but not shown";
    return "";
}"""
IS_FOCUSED = "element => element === document.activeElement"
# Whether the element is what a pointer at its middle would hit: nothing is drawn over it.
ON_TOP = """element => {
    const box = element.getBoundingClientRect();
    return document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2) === element;
}"""
# More Tabs than this to reach something is a trap or a lost element, not a long page.
MOST_TABS = 80


class Keyboard:
    """The keyboard alone: Tab to an element (checking the focus ring at every stop), then
    Enter or Space, or type text. No clicks."""

    def __init__(self, page):
        self.page = page
        self.stops = 0

    def tab_to(self, locator) -> None:
        if locator.evaluate(IS_FOCUSED):  # there already (a field the page focuses)
            return
        for _ in range(MOST_TABS):
            self.page.keyboard.press("Tab")
            self.stops += 1
            problem = self.page.evaluate(FOCUS_RING)
            assert problem == "", f"on {self.page.url}: {problem}"
            if locator.evaluate(IS_FOCUSED):
                return
        raise AssertionError(f"{MOST_TABS} Tabs on {self.page.url} never reached {locator}")

    def press(self, locator, key: str = "Enter") -> None:
        self.tab_to(locator)
        self.page.keyboard.press(key)

    def type_into(self, locator, text: str) -> None:
        self.tab_to(locator)
        self.page.keyboard.type(text)


def test_the_customer_journey_with_the_keyboard_alone(
    browser,  # noqa: F811 (the fixture imported above)
    live_server,
    customer,
    agent,
    mailoutbox,
):
    """Skip to the content, log in, report a ticket with a file, read the reply, reply, close
    and reopen it: Tab, Enter, Space and typing only, with a visible focus ring at every stop."""
    journey = Journey(browser, live_server.url, "keyboard")
    url = journey.url
    page = journey.new_page()
    keys = Keyboard(page)
    title = "The scanner saves empty files"
    page.goto(f"{url}/accounts/login/")

    # Log in (the page puts the focus in its first field).
    keys.type_into(page.get_by_label("Username or email"), customer.username)
    keys.type_into(page.locator("#id_password"), PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/tickets/")

    # The first Tab shows the skip link, above everything else; Enter moves into the content.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    assert skip.evaluate(IS_FOCUSED)
    box = skip.bounding_box()
    assert box["width"] > 50 and box["height"] > 20
    assert skip.evaluate(ON_TOP), "the skip link is drawn behind something"
    assert page.evaluate(FOCUS_RING) == ""
    journey.step(page, "skip-link-focused")
    page.keyboard.press("Enter")
    assert page.locator("main").evaluate(IS_FOCUSED)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")
    assert page.evaluate(FOCUS_RING) == ""
    journey.step(page, "focus-ring-after-skipping")

    # Report the issue, with a screenshot chosen from the file dialog that Space opens.
    nav = page.get_by_role("navigation", name="Main navigation")
    keys.press(nav.get_by_role("link", name="New ticket"))
    page.wait_for_url(f"{url}/tickets/new/")
    keys.type_into(page.locator("#id_title"), title)
    keys.type_into(page.locator("#id_description"), "Every scan is 0 bytes.")
    keys.tab_to(page.locator("#id_files"))
    assert page.evaluate("() => document.activeElement.id") == "id_files"
    # Space opens the file dialog; once in CI (two busy workers) Chromium let the key pass
    # without a dialog, so a person would press it again: Enter, the other key that opens it.
    try:
        with page.expect_file_chooser(timeout=5_000) as chooser:
            page.keyboard.press("Space")
    except PlaywrightTimeout:
        with page.expect_file_chooser() as chooser:
            page.keyboard.press("Enter")
    chooser.value.set_files(
        files=[{"name": "scan.png", "mimeType": "image/png", "buffer": PNG_1X1}]
    )
    journey.step(page, "new-ticket-with-a-file")
    with page.expect_navigation():
        keys.press(page.get_by_role("button", name="Create ticket"))
    ticket = Ticket.objects.get(title=title)
    page.wait_for_url(f"{url}/tickets/{ticket.pk}/")
    assert ticket.reporter == customer
    assert list(ticket.attachments.values_list("name", flat=True)) == ["scan.png"]

    # An agent answers; the customer goes to their list and opens the ticket.
    hold_polling(page)
    message_send(ticket=ticket, sender=agent, content="Which scanner model is it?")
    release_polling(page)
    keys.press(nav.get_by_role("link", name="My tickets"))
    page.wait_for_url(f"{url}/tickets/")
    keys.press(page.get_by_role("link", name=title))
    page.wait_for_url(f"{url}/tickets/{ticket.pk}/")
    assert page.get_by_text("Which scanner model is it?").is_visible()
    journey.step(page, "reads-the-reply")

    # Reply.
    keys.type_into(page.locator("#id_content"), "The ScanJet 200.")
    hold_polling(page)
    with page.expect_navigation():
        keys.press(page.get_by_role("button", name="Send", exact=True))
    page.get_by_text("Reply sent.").wait_for()
    assert list(ticket.messages.values_list("sender__username", "content")) == [
        (agent.username, "Which scanner model is it?"),
        (customer.username, "The ScanJet 200."),
    ]

    # Close (Space on the button), then reopen (Enter).
    hold_polling(page)
    with page.expect_navigation():
        keys.press(page.get_by_role("button", name="Close ticket"), "Space")
    page.get_by_text("The ticket is closed.").wait_for()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    journey.step(page, "closed")
    hold_polling(page)
    with page.expect_navigation():
        keys.press(page.get_by_role("button", name="Reopen ticket"))
    page.get_by_text("The ticket is open again.").wait_for()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.events.filter(actor=customer).count() == 2
    journey.step(page, "reopened")
    assert keys.stops > 10
