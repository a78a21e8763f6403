"""Changing the email address from the profile page: a link goes to the new address (over real
SMTP here), and the address changes only when its button is pressed."""

from __future__ import annotations

import re

import pytest
from django.core import mail, signing
from django.urls import reverse

from accounts.models import User
from accounts.verification import CHANGE_SALT, email_change_token
from tickets.tests.page_helpers import client_for, flash_messages

PROFILE_URL = reverse("accounts:profile")
CHANGE_URL = reverse("accounts:change_email")
LINK = re.compile(r"https?://[^/\s]+(/accounts/email/[^/\s]+/)")


@pytest.fixture
def ask(django_capture_on_commit_callbacks):
    """POST the profile page's "change my email address" form, sending what it queued."""

    def post(client, email: str):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(CHANGE_URL, {"email": email})

    return post


def test_the_link_goes_to_the_new_address_and_the_old_one_works_until_it_is_used(
    smtp, ask, customer, settings
):
    settings.SITE_URL = "http://desk.example.com:8123"
    client = client_for(customer)

    response = ask(client, "new.me@example.org")

    assert response.status_code == 302 and response["Location"] == PROFILE_URL
    assert "We sent a link to new.me@example.org." in flash_messages(response)[0]
    [(to, message)] = smtp.messages
    assert to == ["new.me@example.org"]
    assert message["Subject"] == "Confirm your new email address for the help desk"
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_content()
    assert "http://desk.example.com:8123/accounts/email/" in body
    customer.refresh_from_db()
    assert customer.email == "customer@example.com"  # not yet

    path = LINK.search(body).group(1)
    page = client_for().get(path)  # opening the link (a mail scanner) changes nothing
    assert page.status_code == 200
    assert "Use new.me@example.org as your account" in page.content.decode()
    assert User.objects.get(pk=customer.pk).email == "customer@example.com"

    done = client.post(path)

    assert done.status_code == 302 and done["Location"] == PROFILE_URL
    customer.refresh_from_db()
    assert customer.email == "new.me@example.org"
    assert customer.email_verified_at is not None
    # Used once: the link named the old address, which is gone.
    again = client.post(path)
    assert again.status_code == 400
    assert "This link is not valid" in again.content.decode()


def test_a_taken_address_gets_the_same_answer_and_no_mail(ask, customer, other_customer):
    response = ask(client_for(customer), "OTHER_customer@example.com")

    assert response.status_code == 302 and response["Location"] == PROFILE_URL
    assert "We sent a link to OTHER_customer@example.com." in flash_messages(response)[0]
    assert mail.outbox == []
    customer.refresh_from_db()
    assert customer.email == "customer@example.com"


@pytest.mark.parametrize(
    ("email", "error"),
    [
        ("customer@example.com", "That is your address already."),
        ("CUSTOMER@example.com", "That is your address already."),
        ("not an address", "Enter a valid email address."),
        ("", "This field is required."),
        ("a" * 250 + "@example.com", "Ensure this value has at most 254 characters"),
    ],
)
def test_a_bad_address_is_refused_with_a_reason(ask, customer, email, error):
    response = ask(client_for(customer), email)

    assert response.status_code == 400
    assert error in response.content.decode()
    assert mail.outbox == []


def test_the_change_form_is_a_post(customer):
    assert client_for(customer).get(CHANGE_URL).status_code == 405


def test_an_expired_link_changes_nothing(customer, settings, client):
    token = email_change_token(customer, "later@example.org")
    settings.EMAIL_CONFIRMATION_DAYS = 0  # every link is past its time now

    page = client.get(f"/accounts/email/{token}/")
    posted = client.post(f"/accounts/email/{token}/")

    assert page.status_code == posted.status_code == 400
    assert "This link has expired" in page.content.decode()
    customer.refresh_from_db()
    assert customer.email == "customer@example.com"


@pytest.mark.parametrize(
    "token",
    [
        "not-a-link",
        signing.dumps({"u": "1", "new": "x@example.org"}, salt=CHANGE_SALT),
        signing.dumps({"u": 1, "new": 5}, salt=CHANGE_SALT),
        signing.dumps(["list"], salt=CHANGE_SALT),
        signing.dumps({"u": 1, "new": "x@example.org", "e": "0"}, salt="another-salt"),
    ],
    # Names, not the tokens: a signed token holds the second it was made, and the two xdist
    # workers, collecting a second apart, would see different tests.
    ids=["not-a-link", "user-id-as-text", "address-not-text", "not-a-dict", "another-salt"],
)
def test_a_link_that_is_not_ours_is_refused(client, customer, token):
    assert client.get(f"/accounts/email/{token}/").status_code == 400
    assert client.post(f"/accounts/email/{token}/").status_code == 400
    customer.refresh_from_db()
    assert customer.email == "customer@example.com"


def test_an_address_taken_meanwhile_ends_the_link(client, customer, make_user):
    token = email_change_token(customer, "wanted@example.org")
    User.objects.filter(pk=make_user("quicker").pk).update(email="Wanted@example.org")

    response = client.post(f"/accounts/email/{token}/")

    assert response.status_code == 400
    customer.refresh_from_db()
    assert customer.email == "customer@example.com"


def test_confirming_while_signed_out_goes_to_the_login_page(client, customer):
    token = email_change_token(customer, "fresh@example.org")

    response = client.post(f"/accounts/email/{token}/")

    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")
    assert User.objects.get(pk=customer.pk).email == "fresh@example.org"


def test_the_service_refuses_an_address_another_account_has(customer, other_customer):
    from django.core.exceptions import ValidationError

    from accounts.services import email_change_confirm

    with pytest.raises(ValidationError, match="belongs to another account"):
        email_change_confirm(user=customer, new_email="other_customer@example.com")
    customer.refresh_from_db()
    assert customer.email == "customer@example.com"
