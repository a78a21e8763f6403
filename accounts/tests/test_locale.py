"""The reader's language and time zone: chosen from the profile, the footer's cookie or the
browser; saved on the profile page; used for every time on the pages and in each recipient's
emails (sent over SMTP to a real server on a loopback port)."""

from datetime import UTC, datetime

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from accounts.locale import for_reader, zone
from accounts.models import User
from tickets.models import Ticket
from tickets.templatetags.ticket_display import day, moment

BACKEND = "accounts.backends.UsernameOrEmailBackend"
# 14:05 UTC on 28 November 2026: 08:05 in Mexico City (CST), 15:05 in Berlin (CET).
MOMENT = datetime(2026, 11, 28, 14, 5, tzinfo=UTC)


def client_for(user=None, **headers) -> Client:
    client = Client(headers=headers)
    if user is not None:
        client.force_login(user, backend=BACKEND)
    return client


def set_locale(user: User, language: str = "", time_zone: str = "") -> User:
    user.language, user.time_zone = language, time_zone
    user.save(update_fields=["language", "time_zone"])
    return user


# Which language a page speaks


def test_a_visitor_gets_the_browsers_language(db):
    german = client_for(accept_language="de-DE,de;q=0.9,en;q=0.5").get("/accounts/login/")
    spanish = client_for(accept_language="es-MX,es;q=0.9").get("/accounts/login/")
    other = client_for(accept_language="fr-FR,fr;q=0.9").get("/accounts/login/")

    assert '<html lang="de">' in german.content.decode()
    assert "Passwort vergessen?" in german.content.decode()
    assert german["Content-Language"] == "de"
    assert "¿Ha olvidado su contraseña?" in spanish.content.decode()
    # A language the site does not speak: English.
    assert "Forgot your password?" in other.content.decode()
    assert "Accept-Language" in german["Vary"]


def test_the_profile_language_wins_over_the_browsers(customer):
    set_locale(customer, "es")

    page = client_for(customer, accept_language="de").get("/tickets/")

    assert page.status_code == 200
    assert '<html lang="es">' in page.content.decode()
    assert "Mis tickets" in page.content.decode()


def test_without_a_profile_language_a_signed_in_person_gets_the_browsers(customer):
    page = client_for(customer, accept_language="de").get("/tickets/")

    assert "Meine Tickets" in page.content.decode()


def test_the_footer_switcher_sets_the_language_for_a_visitor(db):
    client = client_for(accept_language="de")

    page = client.get("/accounts/login/")
    assert 'action="/i18n/setlang/"' in page.content.decode()
    answer = client.post("/i18n/setlang/", {"language": "es", "next": "/accounts/register/"})

    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/register/"
    assert client.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "es"
    assert "Cree su cuenta" in client.get("/accounts/register/").content.decode()


def test_the_footer_switcher_refuses_a_get_and_an_unknown_language(db):
    client = client_for()

    assert client.get("/i18n/setlang/").status_code == 405
    client.post("/i18n/setlang/", {"language": "xx", "next": "/accounts/login/"})
    assert django_settings.LANGUAGE_COOKIE_NAME not in client.cookies


def test_signed_in_people_have_no_footer_switcher(customer):
    assert 'action="/i18n/setlang/"' not in client_for(customer).get("/tickets/").content.decode()


# The profile's language and time zone


def test_the_profile_page_has_its_own_language_and_time_zone_form(customer):
    html = client_for(customer).get("/accounts/profile/").content.decode()

    assert f'action="{reverse("accounts:profile_locale")}"' in html
    assert '<option value="America/Mexico_City">America/Mexico_City</option>' in html
    # No zone chosen yet: the browser's is suggested by a script (the form works without it).
    assert 'id="time-zone-suggestion" hidden' in html
    assert "js/time-zone.js" in html


def test_saving_the_language_and_time_zone(customer):
    client = client_for(customer)

    answer = client.post(
        reverse("accounts:profile_locale"), {"language": "de", "time_zone": "Europe/Berlin"}
    )

    assert answer.status_code == 302
    customer.refresh_from_db()
    assert (customer.language, customer.time_zone) == ("de", "Europe/Berlin")
    page = client.get(answer["Location"]).content.decode()
    assert "Ihre Sprache und Zeitzone wurden gespeichert." in page
    # A zone is chosen: no suggestion from the browser any more.
    assert "js/time-zone.js" not in page


@pytest.mark.parametrize(
    "data, message",
    [
        ({"language": "de", "time_zone": "Mars/Olympus_Mons"}, "is not one of the available"),
        ({"language": "fr", "time_zone": ""}, "is not one of the available"),
        ({}, "the form arrived empty"),
    ],
)
def test_a_bad_language_or_time_zone_is_refused_and_changes_nothing(customer, data, message):
    set_locale(customer, "es", "America/Mexico_City")

    answer = client_for(customer, accept_language="en").post(
        reverse("accounts:profile_locale"), data
    )

    assert answer.status_code == 400
    customer.refresh_from_db()
    assert (customer.language, customer.time_zone) == ("es", "America/Mexico_City")
    # The refusal is said in the language the person still has.
    with_language = answer.content.decode()
    assert '<html lang="es">' in with_language


def test_a_zone_name_the_machine_does_not_know_is_refused_by_the_model(customer):
    customer.time_zone = "Europe/Atlantis"
    with pytest.raises(Exception, match="is not a time zone name"):
        customer.full_clean()
    assert zone("Europe/Atlantis") is None
    assert zone("") is None


def test_the_locale_form_needs_a_signed_in_post(customer):
    assert client_for(customer).get(reverse("accounts:profile_locale")).status_code == 405
    anonymous = client_for().post(reverse("accounts:profile_locale"), {"language": "de"})
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")


# Times in the reader's zone, dates in the language's format


def test_the_time_filters_follow_the_language():
    from django.utils import translation

    berlin = MOMENT.astimezone(zone("Europe/Berlin"))
    with translation.override("de"):
        assert moment(berlin) == "28.11.2026, 15:05 CET"
        assert day(berlin) == "28.11.2026"
    with translation.override("es"):
        assert moment(berlin) == "28/11/2026, 15:05 CET"
    with translation.override("en"):
        assert moment(MOMENT) == "28 Nov 2026, 14:05 UTC"
    assert moment(None) == ""


def test_the_ticket_page_shows_times_in_the_readers_zone(customer, make_ticket):
    ticket = make_ticket(customer)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=MOMENT)
    ticket.events.update(created_at=MOMENT)
    set_locale(customer, "es", "America/Mexico_City")

    html = client_for(customer).get(ticket.get_absolute_url()).content.decode()

    assert "28/11/2026, 08:05 CST" in html
    assert "14:05 UTC" not in html
    assert "Conversación" in html


def test_the_list_shows_days_in_the_readers_zone(customer, make_ticket):
    ticket = make_ticket(customer)
    # 02:00 UTC on the 29th is still the 28th in Mexico City.
    late = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=late, last_activity_at=late)
    set_locale(customer, "de", "America/Mexico_City")

    html = client_for(customer).get("/tickets/").content.decode()

    assert "28.11.2026" in html
    assert 'title="28.11.2026, 20:00 CST"' in html


def test_without_a_zone_times_are_in_the_sites(customer, make_ticket, settings):
    ticket = make_ticket(customer)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=MOMENT)

    html = client_for(customer).get(ticket.get_absolute_url()).content.decode()

    assert settings.TIME_ZONE == "UTC"
    assert "28 Nov 2026, 14:05 UTC" in html


def test_the_readers_zone_adds_no_query(customer, make_ticket, django_assert_num_queries):
    ticket = make_ticket(customer)
    client = client_for(customer)
    client.get(ticket.get_absolute_url())  # warm: the session, the caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as plain:
        client.get(ticket.get_absolute_url())
    set_locale(customer, "de", "Europe/Berlin")
    with django_assert_num_queries(len(plain.captured_queries)):
        client.get(ticket.get_absolute_url())


# Emails: each in its recipient's language and zone


def _body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_a_reply_email_is_in_the_recipients_language_and_zone(
    smtp, customer, agent, make_ticket, make_message, django_capture_on_commit_callbacks
):
    set_locale(customer, "de", "Europe/Berlin")
    ticket = make_ticket(customer)
    ticket.update_status(Ticket.Status.ACTIVE, by=agent)

    with django_capture_on_commit_callbacks(execute=True):
        make_message(ticket, agent, "Bitte starten Sie den Drucker neu.")

    [message] = smtp.received_by(customer.email)
    text = _body(message)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f"agent hat auf Ticket #{ticket.pk}" in text
    # The customer's words for the status (a staff reply was the last): in German.
    assert "Status: Wartet auf Ihre Antwort" in text
    assert "Sie erhalten diese E-Mail wegen Ihres Helpdesk-Kontos." in text
    # The moment of the reply, in Berlin's time: CET in winter, CEST in summer.
    assert " CET" in text or " CEST" in text
    assert '<html lang="de">' in html
    assert f"Ticket #{ticket.pk} öffnen" in html


def test_each_recipient_gets_their_own_language(
    smtp, customer, agent, other_agent, make_ticket, django_capture_on_commit_callbacks, settings
):
    settings.HELPDESK_STAFF_EMAILS = []
    set_locale(agent, "es", "America/Mexico_City")

    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(customer, title="Printer offline")

    spanish = _body(smtp.received_by(agent.email)[0])
    english = _body(smtp.received_by(other_agent.email)[0])
    assert "customer registró un ticket nuevo" in spanish
    assert " CST" in spanish or " CDT" in spanish
    assert "customer reported a new ticket" in english
    assert " UTC" in english


def test_for_reader_without_a_user_is_the_sites_language_and_zone(settings):
    from django.utils import timezone, translation

    with translation.override("de"), for_reader(None):
        assert translation.get_language() == "en"
        assert str(timezone.get_current_timezone()) == settings.TIME_ZONE
