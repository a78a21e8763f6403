"""The agent's workspace in a real browser (issue 18): the staff ticket page's clicks, its
two-tab editor, presence and the held reply between two agents, a canned reply with
placeholders, and the keyboard shortcuts.

Set up as tests/test_browser.py (Debian's Chromium through Playwright; skipped, with the reason,
where it is missing); each journey fails on any console error, page error, failed request or
request leaving the test server, and saves its screenshots to test-artifacts/browser/<journey>/.
"""

import re
from pathlib import Path

import pytest

from messaging.models import CannedReply
from messaging.services import message_send
from tests.test_browser import CHROMIUM, Journey, _log_in, browser  # noqa: F401 (a fixture)
from tickets.models import Ticket

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


# The test database on SQLite is shared in memory between the test and the live server's
# threads, where a read that meets another connection's write fails at once ("table is
# locked") instead of waiting. While the test writes, or one page posts, the polling pages hold
# their requests (htmx's own htmx:beforeRequest, cancelled), and the test waits until none is
# in flight; they poll again when released.
HOLD_POLLING = """() => {
    window.holdPolling = true;
    if (!window.holdInstalled) {
        window.holdInstalled = true;
        document.addEventListener("htmx:beforeRequest", (event) => {
            if (window.holdPolling) event.preventDefault();
        });
    }
}"""
NOTHING_IN_FLIGHT = "() => document.querySelectorAll('.htmx-request').length === 0"


def hold_polling(*pages) -> None:
    for page in pages:
        page.evaluate(HOLD_POLLING)
    for page in pages:
        page.wait_for_function(NOTHING_IN_FLIGHT)


def release_polling(*pages) -> None:
    for page in pages:
        page.evaluate("() => { window.holdPolling = false; }")


class Clicks:
    """Clicks the agent makes, counted: the issue's budget is five after opening the ticket."""

    def __init__(self):
        self.count = 0

    def __call__(self, locator) -> None:
        self.count += 1
        locator.click()


def test_take_reply_note_and_send_and_close_in_five_clicks(
    browser,  # noqa: F811 (the fixture imported above)
    live_server,
    agent,
    customer,
    make_ticket,
    mailoutbox,
):
    ticket = make_ticket(customer, title="The scanner jams on every page")
    journey = Journey(browser, live_server.url, "workspace-five-clicks")
    url = journey.url
    page = journey.new_page()
    _log_in(page, url, agent.username)
    page.goto(f"{url}/tickets/{ticket.pk}/")
    editor = page.locator("#reply-form textarea")
    click = Clicks()
    journey.step(page, "opened")

    # 1. Take it (htmx: the page is not reloaded, what it shows is swapped in).
    click(page.get_by_role("button", name="Take it"))
    page.get_by_text("You took the ticket.").wait_for()
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.status) == (agent, Ticket.Status.ACTIVE)
    assert page.get_by_role("button", name="Take it").count() == 0

    # 2. A reply, on the reply tab the page opens with.
    assert page.get_by_text("they see it here and by email").is_visible()
    assert not page.get_by_role("button", name="Add internal note").is_visible()
    editor.fill("Which model is the scanner?")
    journey.step(page, "reply-tab")
    click(page.get_by_role("button", name="Send reply"))
    page.get_by_text("Reply sent.").wait_for()

    # 3, 4. The yellow note tab, whose only button adds a note.
    click(page.get_by_text("Internal note", exact=True))
    assert page.get_by_text("the customer never sees an internal note").is_visible()
    assert not page.get_by_role("button", name="Send reply").is_visible()
    assert not page.get_by_role("button", name="Send and close").is_visible()
    pane = page.locator(".composer-pane").evaluate("pane => getComputedStyle(pane).backgroundColor")
    assert pane == "rgb(255, 243, 205)"  # yellow
    editor.fill("Known issue with firmware 2.1: PRN-4411.")
    journey.step(page, "note-tab")
    click(page.get_by_role("button", name="Add internal note"))
    page.get_by_text("Internal note added.").wait_for()

    # 5. Send and close: the page is back on the reply tab.
    editor.fill("Firmware 2.2 fixes it; closing this, reply to reopen.")
    click(page.get_by_role("button", name="Send and close"))
    page.get_by_text("Reply sent and the ticket is closed.").wait_for()
    journey.step(page, "sent-and-closed")

    assert click.count == 5
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert list(ticket.messages.values_list("is_internal", flat=True)) == [False, True, False]

    # The note never reaches the customer: not on their page, not in their mail.
    customer_page = journey.new_page()
    _log_in(customer_page, url, customer.username)
    customer_page.goto(f"{url}/tickets/{ticket.pk}/")
    customer_page.get_by_text("Firmware 2.2 fixes it").wait_for()
    assert "PRN-4411" not in customer_page.content()
    journey.step(customer_page, "customer-sees-no-note")
    to_customer = [mail for mail in mailoutbox if mail.to == [customer.email]]
    assert any("Which model is the scanner?" in mail.body for mail in to_customer)
    assert all("PRN-4411" not in f"{mail.subject}{mail.body}" for mail in mailoutbox)


def test_two_agents_see_each_other_and_a_reply_is_held(
    browser,  # noqa: F811
    live_server,
    settings,
    agent,
    other_agent,
    customer,
    make_ticket,
):
    settings.TICKET_POLL_SECONDS = 1  # so the test waits a second, not twenty
    ticket = make_ticket(customer, title="Invoices print twice")
    journey = Journey(browser, live_server.url, "workspace-two-agents")
    url = journey.url
    first, second = journey.new_page(), journey.new_page()
    _log_in(first, url, agent.username)
    _log_in(second, url, other_agent.username)
    first.goto(f"{url}/tickets/{ticket.pk}/")
    second.goto(f"{url}/tickets/{ticket.pk}/")

    # The second sees the first at once; the first sees the second at its next poll.
    second.get_by_text("agent is also viewing").wait_for()
    first.get_by_text("other_agent is also viewing").wait_for()
    journey.step(first, "presence")

    # Both start typing; the customer writes meanwhile.
    first.locator("#reply-form textarea").fill("Half-written answer")
    second.locator("#reply-form textarea").fill("Did you print from the web page?")
    hold_polling(first, second)
    message_send(ticket=ticket, sender=customer, content="It happens only with PDF files.")
    release_polling(first, second)

    # The first is told at the next poll and shows it: the editor keeps what was typed.
    first.get_by_text("New reply from customer").wait_for()
    first.get_by_role("link", name="show it").click()
    first.locator("#conversation").get_by_text("It happens only with PDF files.").wait_for()
    assert first.locator("#reply-form textarea").input_value() == "Half-written answer"
    journey.step(first, "new-reply-shown")
    hold_polling(first, second)  # the rest needs no polling

    # The second sends without having looked: held, with the customer's message shown.
    second.get_by_role("button", name="Send reply").click()
    second.get_by_text("customer wrote meanwhile.").wait_for()
    hold_polling(second)  # a new page: held again
    journey.expect_refusal(f"/tickets/{ticket.pk}/reply/", 409)
    held = second.locator("#held")
    assert "It happens only with PDF files." in held.inner_text()
    assert second.locator("#reply-form textarea").input_value() == (
        "Did you print from the web page?"
    )
    assert ticket.messages.count() == 1
    journey.step(second, "held-reply")
    second.get_by_role("button", name="Send anyway").click()
    second.get_by_text("Reply sent.").wait_for()
    assert list(ticket.messages.values_list("sender__username", flat=True)) == [
        "customer",
        "other_agent",
    ]
    journey.step(second, "sent-anyway")


def test_a_canned_reply_and_the_keyboard_shortcuts(
    browser,  # noqa: F811
    live_server,
    agent,
    customer,
    make_ticket,
):
    customer.first_name = "Dana"
    customer.save()
    agent.first_name = "Erin"
    agent.save()
    older = make_ticket(customer, title="Older ticket")
    ticket = make_ticket(customer, title="Cannot log in to the portal")
    CannedReply.objects.create(
        title="Greeting",
        body="Hi {{ customer.first_name }}, ticket #{{ ticket.id }} is with me. {{ agent.first_name }}",
    )
    CannedReply.objects.create(title="Password reset", body="Use the reset link.")
    journey = Journey(browser, live_server.url, "workspace-canned-and-shortcuts")
    url = journey.url
    page = journey.new_page()
    _log_in(page, url, agent.username)

    # The list: j and k move, o opens.
    page.goto(f"{url}/tickets/")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    current = page.locator("tr.shortcut-current")
    assert current.count() == 1 and "Cannot log in to the portal" in current.inner_text()
    journey.step(page, "list-j-k")
    page.keyboard.press("o")
    page.wait_for_url(f"{url}/tickets/{ticket.pk}/")

    # ? lists the shortcuts.
    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    help_dialog.wait_for()
    journey.step(page, "shortcut-help")
    page.keyboard.press("Escape")
    help_dialog.wait_for(state="hidden")

    # t takes the ticket; n opens the note tab, where typing "t" or "r" is just text.
    page.keyboard.press("t")
    page.get_by_text("You took the ticket.").wait_for()
    page.keyboard.press("n")
    assert page.locator("#tab-note").is_checked()
    editor = page.locator("#reply-form textarea")
    assert editor.evaluate("box => box === document.activeElement")
    page.keyboard.type("tr")
    assert editor.input_value() == "tr"
    assert page.locator("#tab-note").is_checked()
    editor.fill("")
    page.locator("body").click(position={"x": 5, "y": 300})  # out of the editor
    page.keyboard.press("r")
    assert page.locator("#tab-reply").is_checked()

    # The picker: opened, searched, chosen; the placeholders are filled in the editor.
    page.get_by_text("Canned replies", exact=True).click()
    page.get_by_role("button", name=re.compile("Password reset")).wait_for()
    page.get_by_label("Search canned replies").fill("greet")
    page.get_by_role("button", name=re.compile("Password reset")).wait_for(state="detached")
    page.get_by_role("button", name=re.compile("^Greeting")).click()
    filled = f"Hi Dana, ticket #{ticket.pk} is with me. Erin"
    assert editor.input_value() == filled
    journey.step(page, "canned-reply-inserted")

    # Ctrl+Enter sends what the editor holds, as a reply (the tab shown).
    editor.press("Control+Enter")
    page.get_by_text("Reply sent.").wait_for()
    reply = ticket.messages.get()
    assert (reply.content, reply.is_internal) == (filled, False)
    assert older.messages.count() == 0
    journey.step(page, "sent-with-ctrl-enter")


def test_the_lists_bulk_bar_changes_the_ticked_tickets_in_place(
    browser,  # noqa: F811
    live_server,
    agent,
    customer,
    make_ticket,
):
    tickets = [make_ticket(customer, title=f"Printer {n} is offline") for n in range(3)]
    journey = Journey(browser, live_server.url, "workspace-bulk-bar")
    url = journey.url
    page = journey.new_page()
    _log_in(page, url, agent.username)
    page.goto(f"{url}/tickets/")
    page.evaluate("() => { window.notReloaded = true; }")

    # Tick two, choose, apply: three clicks and a choice, and the page is not reloaded.
    page.get_by_label(f"Tick #{tickets[0].pk}").check()
    page.get_by_label(f"Tick #{tickets[1].pk}").check()
    assert page.get_by_label("Tick every ticket on this page").evaluate("box => box.indeterminate")
    page.get_by_label("With the ticked tickets").select_option("close")
    journey.step(page, "two-ticked")
    page.get_by_role("button", name="Apply").click()
    page.get_by_text("Closed 2 tickets.").wait_for()
    journey.step(page, "closed-in-place")

    assert page.evaluate("() => window.notReloaded") is True
    statuses = dict(Ticket.objects.values_list("pk", "status"))
    assert [statuses[t.pk] for t in tickets] == ["closed", "closed", "open"]
    # The list swapped in works as the first did: its header's box ticks every ticket.
    tick_all = page.get_by_label("Tick every ticket on this page")
    tick_all.check()
    boxes = page.locator("input[name=tickets]")
    assert boxes.count() >= 1
    assert all(box.is_checked() for box in boxes.all())
    journey.step(page, "all-ticked-after-the-swap")
