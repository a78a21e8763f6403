"""Languages and time zones in a real browser (Chromium through Playwright, as tests/test_browser.py):
a visitor switches the language in the footer; a customer in Mexico City, whose browser speaks
Spanish, has the profile page suggest their zone, saves it, and reads their ticket in Spanish
with every time in CST. Screenshots in test-artifacts/browser/<journey>/."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import PASSWORD
from tests.test_browser import CHROMIUM, VIEWPORT, Journey, browser  # noqa: F401 (fixture)
from tickets.models import Ticket

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _page(journey: Journey, *, locale: str, timezone_id: str):
    context = journey.browser.new_context(viewport=VIEWPORT, locale=locale, timezone_id=timezone_id)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda exc: journey.problems.append(f"page error: {exc}"))
    page.on("console", journey._on_console)
    page.on("request", journey._on_request)
    return page


def test_a_visitor_switches_the_language_in_the_footer(browser, live_server):  # noqa: F811
    journey = Journey(browser, live_server.url, "language-switcher")
    page = _page(journey, locale="en-US", timezone_id="UTC")

    page.goto(f"{journey.url}/accounts/login/")
    assert page.locator("h1").inner_text() == "Log in"
    page.get_by_label("Language", exact=True).select_option("de")
    with page.expect_navigation():
        page.get_by_role("button", name="Change language").click()

    assert page.url == f"{journey.url}/accounts/login/"
    assert page.locator("h1").inner_text() == "Anmelden"
    assert page.locator("html").get_attribute("lang") == "de"
    journey.step(page, "login-in-german")
    # The choice is kept for the next page.
    page.goto(f"{journey.url}/accounts/register/")
    assert page.locator("h1").inner_text() == "Konto erstellen"
    journey.step(page, "register-in-german")


def test_a_customer_reads_their_ticket_in_spanish_in_mexico_city(
    browser,  # noqa: F811
    live_server,
    customer,
    agent,
    make_ticket,
    make_message,
):
    ticket = make_ticket(customer, title="La impresora no imprime")
    ticket.update_status(Ticket.Status.ACTIVE, by=agent)
    make_message(ticket, agent, "¿Puede reiniciar la impresora, por favor?")
    # 14:05 UTC on 28 November 2026 is 08:05 in Mexico City (CST).
    moment = datetime(2026, 11, 28, 14, 5, tzinfo=UTC)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=moment)
    ticket.messages.update(created_at=moment)
    ticket.events.update(created_at=moment)
    journey = Journey(browser, live_server.url, "customer-spanish")
    page = _page(journey, locale="es-MX", timezone_id="America/Mexico_City")

    # The browser speaks Spanish: so does the login page.
    page.goto(f"{journey.url}/accounts/login/")
    page.get_by_label("Nombre de usuario o correo electrónico").fill(customer.username)
    page.locator("#id_password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Iniciar sesión").click()
    assert page.locator("h1").inner_text() == "Mis tickets"

    # The profile suggests the browser's zone; saving keeps it, with the language.
    page.goto(f"{journey.url}/accounts/profile/")
    suggestion = page.locator("#time-zone-suggestion")
    suggestion.wait_for(state="visible")
    assert "America/Mexico_City" in suggestion.inner_text()
    assert page.locator("#id_time_zone").input_value() == "America/Mexico_City"
    page.locator("#id_language").select_option("es")
    journey.step(page, "profile-suggests-the-zone")
    with page.expect_navigation():
        page.get_by_role("button", name="Guardar idioma y zona horaria").click()
    assert "Su idioma y su zona horaria se han guardado." in page.content()
    customer.refresh_from_db()
    assert (customer.language, customer.time_zone) == ("es", "America/Mexico_City")

    page.goto(f"{journey.url}/tickets/{ticket.pk}/")
    body = page.locator("main").inner_text()
    assert "Conversación" in body
    assert "28/11/2026, 08:05 CST" in body
    assert "UTC" not in body
    journey.step(page, "ticket-in-spanish")

    # A file chosen for the reply is listed in Spanish too (static/js/attachments.js).
    page.locator("input[type=file][data-attachments]").set_input_files(
        files=[{"name": "foto.png", "mimeType": "image/png", "buffer": b"x" * 10}]
    )
    chosen = page.get_by_role("list", name="Archivos para enviar")
    assert chosen.get_by_role("button", name="Quitar foto.png").is_visible()
    assert "10 bytes" in chosen.inner_text()
    journey.step(page, "file-chosen-in-spanish")
