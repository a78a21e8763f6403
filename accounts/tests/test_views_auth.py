import pytest
from django.contrib.auth.hashers import make_password
from django.urls import reverse

from conftest import PASSWORD

LOGIN_URL = reverse("accounts:login")
LOGOUT_URL = reverse("accounts:logout")
TICKETS_URL = reverse("tickets:list")
# Plain words: usernames and addresses match in any case ("Alice" is alice), passwords do not.
BAD_LOGIN = (
    "Please enter a correct username (or email address) and password. "
    "The password is case-sensitive."
)


def logged_in_user_id(client):
    value = client.session.get("_auth_user_id")
    return int(value) if value is not None else None


class TestLogin:
    def test_it_shows_the_form(self, client, db):
        response = client.get(LOGIN_URL)

        assert response.status_code == 200
        assert 'name="password"' in response.content.decode()

    @pytest.mark.parametrize(
        "typed", ["customer", "CUSTOMER", "customer@example.com", "Customer@Example.COM"]
    )
    def test_it_accepts_the_username_or_email_in_any_case(self, client, customer, typed):
        response = client.post(LOGIN_URL, {"username": typed, "password": PASSWORD})

        assert response.status_code == 302
        assert response["Location"] == TICKETS_URL
        assert logged_in_user_id(client) == customer.pk

    def test_it_records_the_login_time(self, client, customer):
        assert customer.last_login is None

        client.post(LOGIN_URL, {"username": "customer", "password": PASSWORD})

        customer.refresh_from_db()
        assert customer.last_login is not None

    def test_a_wrong_password_is_refused_with_a_message(self, client, customer):
        response = client.post(LOGIN_URL, {"username": "customer", "password": "wrong-password"})

        assert response.status_code == 400
        assert BAD_LOGIN in response.content.decode()
        assert logged_in_user_id(client) is None

    def test_an_unknown_user_gets_the_same_message(self, client, db):
        response = client.post(LOGIN_URL, {"username": "nobody", "password": PASSWORD})

        assert response.status_code == 400
        assert BAD_LOGIN in response.content.decode()
        assert logged_in_user_id(client) is None

    def test_blank_fields_are_refused(self, client, db):
        response = client.post(LOGIN_URL, {"username": "", "password": ""})

        assert response.status_code == 400
        assert set(response.context["form"].errors) == {"username", "password"}

    def test_an_inactive_user_cannot_log_in(self, client, customer):
        customer.is_active = False
        customer.save(update_fields=["is_active"])

        response = client.post(LOGIN_URL, {"username": "customer", "password": PASSWORD})

        assert response.status_code == 400
        assert logged_in_user_id(client) is None

    def test_a_same_host_next_is_followed(self, client, customer):
        target = reverse("tickets:create")

        response = client.post(
            f"{LOGIN_URL}?next={target}", {"username": "customer", "password": PASSWORD}
        )

        assert response.status_code == 302
        assert response["Location"] == target

    def test_a_next_in_the_form_is_followed(self, client, customer):
        target = reverse("accounts:profile")

        response = client.post(
            LOGIN_URL, {"username": "customer", "password": PASSWORD, "next": target}
        )

        assert response["Location"] == target

    @pytest.mark.parametrize(
        "target", ["https://evil.example/", "//evil.example/", "http://evil.example/tickets/"]
    )
    def test_an_external_next_is_ignored(self, client, customer, target):
        response = client.post(
            LOGIN_URL, {"username": "customer", "password": PASSWORD, "next": target}
        )

        assert response.status_code == 302
        assert response["Location"] == TICKETS_URL
        assert logged_in_user_id(client) == customer.pk

    def test_the_login_page_keeps_next_for_the_form(self, client, db):
        response = client.get(f"{LOGIN_URL}?next=/tickets/new/")

        assert 'name="next" value="/tickets/new/"' in response.content.decode()

    def test_a_logged_in_user_is_sent_on(self, login, customer):
        client = login(customer)

        response = client.get(LOGIN_URL)

        assert response.status_code == 302
        assert response["Location"] == TICKETS_URL

    def test_a_logged_in_user_is_not_sent_to_another_host(self, login, customer):
        client = login(customer)

        response = client.get(f"{LOGIN_URL}?next=https://evil.example/")

        assert response["Location"] == TICKETS_URL


class TestHashUpgrade:
    def test_a_pbkdf2_hash_is_upgraded_to_bcrypt_at_login(self, client, customer, real_hashers):
        customer.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
        customer.save(update_fields=["password"])
        assert customer.password.startswith("pbkdf2_sha256$")

        response = client.post(LOGIN_URL, {"username": "customer", "password": PASSWORD})

        assert response.status_code == 302
        customer.refresh_from_db()
        assert customer.password.startswith("bcrypt_sha256$")
        assert customer.check_password(PASSWORD)

    def test_a_failed_login_leaves_the_old_hash_alone(self, client, customer, real_hashers):
        old_hash = make_password(PASSWORD, hasher="pbkdf2_sha256")
        customer.password = old_hash
        customer.save(update_fields=["password"])

        client.post(LOGIN_URL, {"username": "customer", "password": "wrong-password"})

        customer.refresh_from_db()
        assert customer.password == old_hash


class TestLogout:
    def test_it_rejects_get(self, login, customer):
        client = login(customer)

        response = client.get(LOGOUT_URL)

        assert response.status_code == 405
        assert logged_in_user_id(client) == customer.pk

    def test_post_logs_out(self, login, customer):
        client = login(customer)

        response = client.post(LOGOUT_URL)

        assert response.status_code == 302
        assert response["Location"] == LOGIN_URL
        assert logged_in_user_id(client) is None
        assert client.get(TICKETS_URL).status_code == 302
