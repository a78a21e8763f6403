"""The one-click unsubscribe link (RFC 8058) that every notification email carries."""

import pytest
from django.core import mail, signing
from django.test import Client
from django.urls import reverse

from accounts.mail import unsubscribe_token


def unsubscribe_url(user) -> str:
    return reverse("accounts:unsubscribe", args=[unsubscribe_token(user)])


def test_opening_the_link_asks_to_confirm_and_changes_nothing(client, customer):
    response = client.get(unsubscribe_url(customer))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Stop emails from the help desk?" in content
    assert "customer@example.com" in content
    assert f'action="{unsubscribe_url(customer)}"' in content
    customer.refresh_from_db()
    assert customer.notify_by_email is True


def test_a_mail_clients_one_click_post_turns_email_off_without_a_csrf_token(customer):
    # As RFC 8058 has it: a POST from the mail provider, no cookie, no CSRF token.
    client = Client(enforce_csrf_checks=True)

    response = client.post(unsubscribe_url(customer), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert "Emails turned off" in response.content.decode()
    customer.refresh_from_db()
    assert customer.notify_by_email is False
    # Again: the same answer, nothing else changes.
    assert client.post(unsubscribe_url(customer)).status_code == 200
    customer.refresh_from_db()
    assert customer.notify_by_email is False


def test_it_turns_off_only_the_person_the_link_names(client, customer, other_customer):
    client.post(unsubscribe_url(customer))

    other_customer.refresh_from_db()
    assert other_customer.notify_by_email is True


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "1:forged-signature",
        # Signed by this site, but for another purpose.
        lambda user: signing.Signer(salt="another.purpose").sign(str(user.pk)),
        # One of ours, for someone else, with the id changed.
        lambda user: f"{user.pk + 1}:" + unsubscribe_token(user).split(":", 1)[1],
    ],
)
def test_a_link_that_is_not_ours_is_refused_and_changes_nothing(client, customer, token):
    token = token(customer) if callable(token) else token
    url = reverse("accounts:unsubscribe", args=[token])

    for response in (client.get(url), client.post(url)):
        assert response.status_code == 400
        assert "This link is not valid" in response.content.decode()
    customer.refresh_from_db()
    assert customer.notify_by_email is True


def test_the_link_in_a_notification_email_turns_that_persons_email_off(
    ticket, customer, agent, make_message, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        make_message(ticket, agent, "Fixed.")
    [email] = mail.outbox
    link = email.message()["List-Unsubscribe"].strip("<>")
    path = link.removeprefix("http://127.0.0.1:8000")

    response = Client(enforce_csrf_checks=True).post(path, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.notify_by_email is False
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        make_message(ticket, agent, "Anything else?")
    assert mail.outbox == []
