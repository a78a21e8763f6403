"""Registration confirms the email address before the account can log in, and tells nobody
which addresses have accounts; account emails are limited per address and per client."""

import re
import threading
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts import ratelimits
from accounts.models import User
from accounts.verification import confirmation_token
from conftest import PASSWORD

REGISTER_URL = reverse("accounts:register")
CHECK_EMAIL_URL = reverse("accounts:check_email")
SEND_AGAIN_URL = reverse("accounts:send_link_again")
LOGIN_URL = reverse("accounts:login")
PASSPHRASE = "a-long-and-unusual-passphrase"
LINK = re.compile(r"https?://[^/\s]+(/accounts/verify/[^/\s]+/)")


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """Run a request (or any call) and send the emails it queued for after its commit."""

    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


def register(client, sent, **fields):
    data = {
        "username": "maya",
        "email": "maya@example.com",
        "password1": PASSPHRASE,
        "password2": PASSPHRASE,
        **fields,
    }
    return sent(client.post, REGISTER_URL, data)


def link_in(email) -> str:
    [path] = LINK.findall(email.body)
    return path


def shown(client, response) -> str:
    """The page a redirect leads to, as the browser shows it (but its form's CSRF token, which
    is new on every page)."""
    assert response.status_code == 302, response.status_code
    page = client.get(response["Location"]).content.decode()
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)


# --- Registering ---------------------------------------------------------------------------------


def test_registering_makes_an_account_that_waits_for_its_address(client, db, sent):
    response = register(client, sent)

    assert response.status_code == 302
    assert response["Location"] == CHECK_EMAIL_URL
    maya = User.objects.get(username="maya")
    assert maya.email_verified_at is None
    assert "_auth_user_id" not in client.session
    [email] = mail.outbox
    assert email.to == ["maya@example.com"]
    assert "Confirm your email address" in email.subject
    assert "maya" in email.body
    assert link_in(email).startswith("/accounts/verify/")
    assert "Check your email" in shown(client, response)


def test_the_link_shows_a_button_and_confirming_logs_in(client, db, sent):
    register(client, sent)
    link = link_in(mail.outbox[0])

    page = client.get(link)

    # Opening the link (as a mail scanner does) confirms nothing: the button does.
    assert page.status_code == 200
    assert "Confirm my email address" in page.content.decode()
    assert User.objects.get(username="maya").email_verified_at is None

    response = client.post(link)

    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:create")
    maya = User.objects.get(username="maya")
    assert maya.email_verified_at is not None
    assert int(client.session["_auth_user_id"]) == maya.pk
    assert "Your email address is confirmed" in client.get(response["Location"]).content.decode()


def test_an_unconfirmed_account_cannot_log_in_and_can_ask_for_the_link_again(client, db, sent):
    register(client, sent)
    mail.outbox.clear()

    response = client.post(LOGIN_URL, {"username": "maya", "password": PASSPHRASE})

    assert response.status_code == 400
    content = response.content.decode()
    assert "Your email address is not confirmed yet" in content
    assert "Send the link again" in content
    assert f'action="{SEND_AGAIN_URL}"' in content
    assert 'value="maya@example.com"' in content
    assert "_auth_user_id" not in client.session
    # The button sends a new link; with it, the account logs in.
    again = sent(client.post, SEND_AGAIN_URL, {"email": "maya@example.com"})
    assert again["Location"] == CHECK_EMAIL_URL
    client.post(link_in(mail.outbox[0]))
    client.post(reverse("accounts:logout"))
    response = client.post(LOGIN_URL, {"username": "maya", "password": PASSPHRASE})
    assert response.status_code == 302


def test_a_wrong_password_for_an_unconfirmed_account_says_only_that_it_is_wrong(client, db, sent):
    register(client, sent)

    response = client.post(LOGIN_URL, {"username": "maya", "password": "not-the-password-1"})

    assert response.status_code == 400
    content = response.content.decode()
    assert "not confirmed" not in content
    assert "maya@example.com" not in content


def test_an_expired_link_says_so_and_confirms_nothing(client, db, sent, settings):
    register(client, sent)
    link = link_in(mail.outbox[0])
    settings.EMAIL_CONFIRMATION_DAYS = 0  # every link is past its time now

    page = client.get(link)
    response = client.post(link)

    assert page.status_code == 200
    assert "This link has expired" in page.content.decode()
    assert 'name="email"' in page.content.decode()  # a form to send a new one
    assert response.status_code == 400
    assert User.objects.get(username="maya").email_verified_at is None
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: "nonsense",
        lambda token: signing.dumps({"u": 10**9, "e": "x"}, salt="accounts.confirm-email"),
    ],
)
def test_a_link_that_is_not_ours_confirms_nothing(client, db, sent, mangle):
    register(client, sent)
    token = link_in(mail.outbox[0]).split("/")[3]
    link = reverse("accounts:verify_email", args=[mangle(token)])

    page = client.get(link)
    response = client.post(link)

    assert page.status_code == 200
    assert "This link is not valid" in page.content.decode()
    assert response.status_code == 400
    assert User.objects.get(username="maya").email_verified_at is None


def test_a_link_for_an_address_the_account_no_longer_has_confirms_nothing(client, db, sent):
    register(client, sent)
    link = link_in(mail.outbox[0])
    User.objects.filter(username="maya").update(email="maya@elsewhere.example")

    assert client.post(link).status_code == 400
    assert User.objects.get(username="maya").email_verified_at is None


def test_a_link_already_used_says_the_address_is_confirmed(client, db, sent):
    register(client, sent)
    link = link_in(mail.outbox[0])
    client.post(link)
    client.post(reverse("accounts:logout"))

    page = client.get(link)
    response = client.post(link)

    assert "already confirmed" in page.content.decode()
    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    assert "_auth_user_id" not in client.session


# --- Nobody learns which addresses have accounts ------------------------------------------------


def test_a_registered_address_gets_the_same_answer_and_its_owner_an_email(client, customer, sent):
    new = register(client, sent, username="maya", email="maya@example.com")
    taken = register(client, sent, username="mallory", email="Customer@Example.com")

    assert (taken.status_code, taken["Location"]) == (new.status_code, new["Location"])
    assert shown(client, taken) == shown(client, new)
    assert not User.objects.filter(username="mallory").exists()
    [_, owner] = mail.outbox
    assert owner.to == [customer.email]
    assert "Someone tried to register with your email address" in owner.subject
    assert "customer" in owner.body  # their username, to their own address
    assert reverse("accounts:password_reset") in owner.body
    assert "/accounts/verify/" not in owner.body  # confirmed already: nothing to confirm
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)


def test_registering_again_before_confirming_sends_a_new_link(client, db, sent):
    register(client, sent)

    response = register(client, sent, username="maya2")

    assert response["Location"] == CHECK_EMAIL_URL
    assert not User.objects.filter(username="maya2").exists()
    reminder = mail.outbox[1]
    assert "maya" in reminder.body
    client.post(link_in(reminder))
    assert User.objects.get(username="maya").email_verified_at is not None


def test_a_taken_username_is_said_whatever_the_address(client, customer, sent):
    """Usernames must differ, so a taken one is said clearly; the answer is the same whether
    the address has an account or not, so it tells nothing about the address."""
    for_a_new_address = register(client, sent, username="CUSTOMER", email="new@example.com")
    for_its_owners = register(client, sent, username="customer", email=customer.email)

    for response in (for_a_new_address, for_its_owners):
        assert response.status_code == 400
        assert response.context["form"].errors == {
            "username": ["A user with that username already exists."]
        }
    assert mail.outbox == []


def test_asking_for_the_link_again_answers_the_same_for_any_address(client, customer, sent):
    register(client, sent)
    mail.outbox.clear()
    answers = [
        sent(client.post, SEND_AGAIN_URL, {"email": address})
        for address in ("maya@example.com", customer.email, "nobody@example.com")
    ]

    assert {(r.status_code, r["Location"]) for r in answers} == {(302, CHECK_EMAIL_URL)}
    # Only the account that waits for its address gets a link.
    assert [email.to for email in mail.outbox] == [["maya@example.com"]]


def test_the_send_again_page_shows_its_form(client, db):
    response = client.get(SEND_AGAIN_URL)

    assert response.status_code == 200
    assert 'name="email"' in response.content.decode()
    assert client.post(SEND_AGAIN_URL, {"email": "not an address"}).status_code == 400


# --- Who is confirmed already ------------------------------------------------------------------


def test_accounts_made_by_staff_commands_and_imports_are_confirmed(db, customer, agent):
    assert customer.email_verified_at is not None  # create_user: the test cast, the admin
    assert agent.email_verified_at is not None


def test_the_demo_logins_are_confirmed_and_log_in(client, db):
    call_command("seed_demo", "--quiet-logins")

    assert not User.objects.filter(email_verified_at__isnull=True).exists()
    response = client.post(LOGIN_URL, {"username": "alice", "password": "alice-demo-pass-2026"})
    assert response.status_code == 302


def test_choosing_a_new_password_from_a_reset_email_confirms_the_address(client, db, sent):
    register(client, sent)
    sent(client.post, reverse("accounts:password_reset"), {"email": "maya@example.com"})
    [reset_link] = re.findall(r"https?://testserver(/accounts/reset/\S+/)", mail.outbox[-1].body)
    form = client.get(reset_link)["Location"]

    response = client.post(form, {"new_password1": PASSPHRASE, "new_password2": PASSPHRASE})

    assert response.status_code == 302
    assert User.objects.get(username="maya").email_verified_at is not None
    assert client.post(LOGIN_URL, {"username": "maya", "password": PASSPHRASE}).status_code == 302


def test_confirmation_tokens_name_one_account_and_address(db, customer, other_customer):
    assert confirmation_token(customer) != confirmation_token(other_customer)


# --- REGISTRATION_EMAIL_VERIFICATION=optional ----------------------------------------------------


@pytest.fixture
def optional(settings):
    settings.REGISTRATION_EMAIL_VERIFICATION = "optional"


def test_optional_registering_logs_in_at_once_and_still_sends_the_link(client, db, sent, optional):
    response = register(client, sent)

    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:create")
    maya = User.objects.get(username="maya")
    assert int(client.session["_auth_user_id"]) == maya.pk
    assert maya.email_verified_at is None
    client.post(link_in(mail.outbox[0]))
    assert User.objects.get(username="maya").email_verified_at is not None


def test_optional_an_unconfirmed_account_logs_in(client, db, sent, optional):
    register(client, sent)
    client.post(reverse("accounts:logout"))

    response = client.post(LOGIN_URL, {"username": "maya", "password": PASSPHRASE})

    assert response.status_code == 302


def test_optional_a_registered_address_is_said_plainly(client, customer, sent, optional):
    response = register(client, sent, email=customer.email)

    assert response.status_code == 400
    [error] = response.context["form"].errors["email"]
    assert "already has an account" in error
    assert mail.outbox == []


# --- Limits: per address, per client -----------------------------------------------------------


def test_emails_to_one_address_are_limited_and_the_answer_does_not_change(
    client, db, sent, settings
):
    settings.ACCOUNT_EMAILS_PER_ADDRESS = 2
    register(client, sent)

    answers = [sent(client.post, SEND_AGAIN_URL, {"email": "maya@example.com"}) for _ in range(3)]

    assert {(r.status_code, r["Location"]) for r in answers} == {(302, CHECK_EMAIL_URL)}
    assert len(mail.outbox) == 2
    # Another address is not held back by it.
    register(client, sent, username="noor", email="noor@example.com")
    assert mail.outbox[-1].to == ["noor@example.com"]


def test_password_reset_emails_to_one_address_are_limited(client, customer, sent, settings):
    settings.ACCOUNT_EMAILS_PER_ADDRESS = 2
    answers = [
        sent(client.post, reverse("accounts:password_reset"), {"email": customer.email})
        for _ in range(3)
    ]

    assert {r.status_code for r in answers} == {302}
    assert len(mail.outbox) == 2


def test_registrations_from_one_client_are_limited(client, db, sent, settings):
    settings.ACCOUNT_REQUESTS_PER_CLIENT = 2
    for n in range(2):
        assert (
            register(client, sent, username=f"user{n}", email=f"u{n}@example.com").status_code
            == 302
        )

    response = register(client, sent, username="user2", email="u2@example.com")

    assert response.status_code == 429
    assert "Too many" in response.content.decode()
    assert not User.objects.filter(username="user2").exists()
    elsewhere = sent(
        client.post,
        REGISTER_URL,
        {
            "username": "user2",
            "email": "u2@example.com",
            "password1": PASSPHRASE,
            "password2": PASSPHRASE,
        },
        REMOTE_ADDR="198.51.100.4",
    )
    assert elsewhere.status_code == 302


def test_password_reset_requests_from_one_client_are_limited(client, customer, sent, settings):
    settings.ACCOUNT_REQUESTS_PER_CLIENT = 2
    reset = reverse("accounts:password_reset")
    for _ in range(2):
        assert sent(client.post, reset, {"email": customer.email}).status_code == 302

    response = sent(client.post, reset, {"email": customer.email})

    assert response.status_code == 429
    assert len(mail.outbox) == 2


def test_asking_for_the_link_again_is_limited_per_client(client, db, sent, settings):
    settings.ACCOUNT_REQUESTS_PER_CLIENT = 1
    assert sent(client.post, SEND_AGAIN_URL, {"email": "a@example.com"}).status_code == 302
    assert sent(client.post, SEND_AGAIN_URL, {"email": "b@example.com"}).status_code == 429


def test_the_limit_is_counted_atomically(db):
    """Twenty at once, five allowed: five get through (cache.add, then cache.incr)."""
    start = threading.Barrier(20, timeout=10)
    results = []

    def hit():
        start.wait()
        results.append(ratelimits.within_limit("test", "one key", limit=5))

    threads = [threading.Thread(target=hit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(results) == [False] * 15 + [True] * 5


def test_a_limit_starts_again_after_its_hour(db, settings):
    assert ratelimits.within_limit("test", "k", limit=1)
    assert not ratelimits.within_limit("test", "k", limit=1)
    assert ratelimits.within_limit("test", "k", limit=1, now=timezone.now() + timedelta(hours=1))
