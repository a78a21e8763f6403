import pytest
from django.urls import reverse

from accounts.models import User
from accounts.verification import confirm_email

REGISTER_URL = reverse("accounts:register")
LOGIN_URL = reverse("accounts:login")
PASSPHRASE = "a-long-and-unusual-passphrase"


def register(client, password=PASSPHRASE, **fields):
    data = {
        "username": "alice",
        "email": "alice@example.com",
        "password1": password,
        "password2": password,
        **fields,
    }
    return client.post(REGISTER_URL, data)


def test_it_shows_the_form(client, db):
    response = client.get(REGISTER_URL)

    assert response.status_code == 200
    assert 'name="password1"' in response.content.decode()


def test_it_creates_the_account_and_asks_to_confirm_the_address(client, db):
    response = register(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:check_email")
    user = User.objects.get(username="alice")
    assert user.email == "alice@example.com"
    assert user.role == "customer"
    assert user.email_verified_at is None
    assert "_auth_user_id" not in client.session


def test_it_stores_a_bcrypt_sha256_hash(client, db, real_hashers):
    register(client)

    assert User.objects.get(username="alice").password.startswith("bcrypt_sha256$")


def test_a_100_byte_password_registers_and_logs_in(client, db, real_hashers):
    # bcrypt alone reads only 72 bytes (and bcrypt>=5 refuses more); bcrypt_sha256 must not care.
    password = "correct horse battery staple " * 3 + "x" * 13
    assert len(password.encode()) == 100

    response = register(client, password=password)
    assert response.status_code == 302
    confirm_email(User.objects.get(username="alice"))  # as the link in the email does

    response = client.post(LOGIN_URL, {"username": "alice", "password": password})

    assert response.status_code == 302
    user = User.objects.get(username="alice")
    assert user.password.startswith("bcrypt_sha256$")
    assert int(client.session["_auth_user_id"]) == user.pk
    # Only the whole password works, not its first 72 bytes.
    client.post(reverse("accounts:logout"))
    response = client.post(LOGIN_URL, {"username": "alice", "password": password[:72]})
    assert response.status_code == 400


def test_a_short_password_is_refused_with_a_message(client, db):
    response = register(client, password="Sh0rt-pw!")

    assert response.status_code == 400
    assert "too short" in " ".join(response.context["form"].errors["password1"])
    assert "too short" in response.content.decode()
    assert not User.objects.exists()


def test_a_common_password_is_refused_with_a_message(client, db):
    response = register(client, password="qwerty123456")

    assert response.status_code == 400
    assert "too common" in " ".join(response.context["form"].errors["password1"])
    assert not User.objects.exists()


def test_a_password_like_the_username_is_refused(client, db):
    response = register(client, username="marmaladefox", password="marmaladefox1")

    assert response.status_code == 400
    assert "too similar" in " ".join(response.context["form"].errors["password1"])
    assert not User.objects.exists()


def test_mismatched_passwords_are_refused(client, db):
    response = client.post(
        REGISTER_URL,
        {
            "username": "alice",
            "email": "alice@example.com",
            "password1": PASSPHRASE,
            "password2": PASSPHRASE + "!",
        },
    )

    assert response.status_code == 400
    assert "password2" in response.context["form"].errors
    assert not User.objects.exists()


@pytest.mark.parametrize("username", ["customer", "CUSTOMER"])
def test_a_taken_username_is_refused_on_the_username_field(client, customer, username):
    response = register(client, username=username, email="new@example.com")

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["username"] == ["A user with that username already exists."]
    assert not form.non_field_errors()
    assert User.objects.filter(username__iexact="customer").count() == 1


def test_a_taken_email_is_answered_as_a_new_one(client, customer):
    """Nobody learns which addresses have accounts (test_email_confirmation.py has the rest)."""
    response = register(client, username="newcomer", email="Customer@Example.com")

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:check_email")
    assert not User.objects.filter(username="newcomer").exists()


def test_a_logged_in_user_is_sent_to_the_ticket_list(login, customer):
    client = login(customer)

    response = client.get(REGISTER_URL)

    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:list")


def test_extra_fields_cannot_make_a_staff_account(client, db):
    register(client, is_staff="on", is_superuser="on")

    user = User.objects.get(username="alice")
    assert not user.is_staff
    assert not user.is_superuser


@pytest.mark.parametrize("password", [" " * 12, "\t" * 12, " \u00a0\u2003\n" * 4])
def test_a_password_of_only_blank_characters_is_refused(client, db, password):
    response = register(client, password=password)

    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors["password1"])
    assert "only spaces" in errors
    assert not User.objects.exists()
