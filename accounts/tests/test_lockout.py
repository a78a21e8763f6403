"""django-axes: five failures for one username from one address lock that pair out."""

import hashlib
from datetime import timedelta

from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone

from accounts.models import LoginCheck
from conftest import PASSWORD

LOGIN_URL = reverse("accounts:login")
ATTACKER = "10.0.0.1"
ELSEWHERE = "10.0.0.2"


def attempt(client, password, *, username="customer", address=ATTACKER, **headers):
    return client.post(
        LOGIN_URL,
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        **headers,
    )


def fail_five_times(client, username="customer"):
    responses = [attempt(client, f"wrong-password-{n}", username=username) for n in range(5)]
    # The first four are ordinary failures; the fifth reaches the limit.
    assert [r.status_code for r in responses[:4]] == [400] * 4
    return responses


def test_failures_are_counted_per_username_and_address(client, customer):
    fail_five_times(client)

    record = AccessAttempt.objects.get()
    assert record.username == "customer"
    assert record.ip_address == ATTACKER
    assert record.failures_since_start == 5


def test_the_right_password_is_refused_after_five_failures(client, customer):
    fail_five_times(client)

    response = attempt(client, PASSWORD)

    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    customer.refresh_from_db()
    assert customer.last_login is None


def test_a_different_case_of_the_username_is_locked_too(client, customer):
    fail_five_times(client, username="Customer")

    response = attempt(client, PASSWORD, username="CUSTOMER")

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_email_address_does_not_get_round_a_lock_on_the_username(client, customer):
    fail_five_times(client)

    response = attempt(client, PASSWORD, username="Customer@Example.com")

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_failures_by_username_and_by_email_add_up(client, customer):
    for n in range(3):
        assert attempt(client, f"wrong-password-{n}").status_code == 400
    for n in range(2):
        attempt(client, f"wrong-password-{n}", username="customer@example.com")

    response = attempt(client, PASSWORD)

    assert response.status_code == 429
    assert AccessAttempt.objects.get().username == "customer"


def test_unknown_usernames_are_counted_as_typed(client, db):
    for n in range(2):
        attempt(client, f"wrong-password-{n}", username="  Ghost ")

    record = AccessAttempt.objects.get()
    assert record.username == "ghost"
    assert record.failures_since_start == 2


def test_another_address_can_still_log_in(client, customer):
    fail_five_times(client)

    response = attempt(client, PASSWORD, address=ELSEWHERE)

    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == customer.pk


def test_another_user_from_the_same_address_can_still_log_in(client, customer, other_customer):
    fail_five_times(client)

    response = attempt(client, PASSWORD, username="other_customer")

    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == other_customer.pk


def test_four_failures_then_success_resets_the_count(client, customer):
    for n in range(4):
        assert attempt(client, f"wrong-password-{n}").status_code == 400

    assert attempt(client, PASSWORD).status_code == 302
    client.post(reverse("accounts:logout"))
    assert not AccessAttempt.objects.exists()

    # A fresh run of four failures does not lock the account.
    for n in range(4):
        assert attempt(client, f"wrong-password-{n}").status_code == 400
    assert attempt(client, PASSWORD).status_code == 302


# --- Behind a proxy: the client's address comes from the proxies FORWARDED_ALLOW_IPS lists -----

PROXY = "10.0.0.5"
VICTIM = "203.0.113.20"


def through_the_proxy(client, password, *, client_address, sent=None, username="customer"):
    """A login sent through the proxy, which appends the address it got the request from to
    whatever X-Forwarded-For the client sent."""
    forwarded = f"{sent}, {client_address}" if sent else client_address
    return attempt(
        client, password, username=username, address=PROXY, HTTP_X_FORWARDED_FOR=forwarded
    )


def test_behind_a_listed_proxy_an_attacker_locks_out_only_their_own_address(
    client, customer, settings
):
    settings.FORWARDED_ALLOW_IPS = [PROXY]
    for n in range(5):
        through_the_proxy(client, f"wrong-password-{n}", client_address=ATTACKER)
    assert through_the_proxy(client, PASSWORD, client_address=ATTACKER).status_code == 429

    response = through_the_proxy(client, PASSWORD, client_address=VICTIM)

    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == customer.pk
    assert AccessAttempt.objects.get().ip_address == ATTACKER


def test_behind_a_listed_proxy_a_forged_header_does_not_get_round_the_lock(
    client, customer, settings
):
    settings.FORWARDED_ALLOW_IPS = [PROXY]
    for n in range(5):
        # Each time claiming to be someone else: the proxy's own entry is the one read.
        through_the_proxy(client, f"wrong-{n}", client_address=ATTACKER, sent=f"198.51.100.{n}")

    response = through_the_proxy(client, PASSWORD, client_address=ATTACKER, sent=VICTIM)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_without_a_listed_proxy_the_header_is_ignored(client, customer, settings):
    """A direct deployment (or a request from an address that is not a listed proxy): the
    header a client sends decides nothing, so changing it does not get round the lock."""
    settings.FORWARDED_ALLOW_IPS = [PROXY]
    for n in range(5):
        attempt(client, f"wrong-{n}", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")

    response = attempt(client, PASSWORD, HTTP_X_FORWARDED_FOR=VICTIM)

    assert response.status_code == 429
    assert AccessAttempt.objects.get().ip_address == ATTACKER
    # ... and the victim's address, written in a header by the attacker, is not locked.
    assert through_the_proxy(client, PASSWORD, client_address=VICTIM).status_code == 302


# --- The count and the check in one step (accounts/lockout.py; the race: test_lockout_race.py) --


def test_every_login_gives_its_place_back(client, customer):
    for n in range(3):
        attempt(client, f"wrong-password-{n}")
    attempt(client, PASSWORD)

    assert not LoginCheck.objects.exists()


def test_a_login_that_ends_neither_way_gives_its_place_back_too(client, customer):
    """The admin checks a customer's right password, then refuses them: no failure, no login.
    Were its place kept, ten of these would lock the customer out."""
    for _ in range(10):
        response = client.post(
            "/admin/login/",
            {"username": "customer", "password": PASSWORD},
            REMOTE_ADDR=ATTACKER,
        )
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session

    assert not LoginCheck.objects.exists()
    assert attempt(client, PASSWORD).status_code == 302


def test_a_place_left_by_a_stopped_server_is_forgotten(client, customer):
    key = hashlib.sha256(f"customer\n{ATTACKER}".encode()).hexdigest()
    LoginCheck.objects.create(key=key, in_progress=5)
    assert attempt(client, PASSWORD).status_code == 429  # five logins are being checked

    LoginCheck.objects.filter(key=key).update(updated_at=timezone.now() - timedelta(minutes=6))

    assert attempt(client, PASSWORD).status_code == 302


def test_a_login_that_loses_the_race_for_its_row_looks_again(monkeypatch, db):
    """Another login made the row and removed it between this one's look and its insert:
    get_or_create raises IntegrityError (as Django does when the row it collided with is gone
    by its second look). The login looks again and takes its place: no error page."""
    from django.db import IntegrityError
    from django.db.models import QuerySet

    from accounts.lockout import take_place

    real = QuerySet.get_or_create
    lost = []

    def racing(self, *args, **kwargs):
        if self.model is LoginCheck and not lost:
            lost.append(True)
            raise IntegrityError('duplicate key value violates unique constraint "key"')
        return real(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "get_or_create", racing)
    assert take_place("k" * 64) == 1
    assert lost == [True]
    assert LoginCheck.objects.get().in_progress == 1
