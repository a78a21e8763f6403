"""Authentication (tokens and the session with CSRF), the error shape, and throttling."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import api_token_create, api_token_revoke
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me/"


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_token_is_stored_as_a_hash_and_a_prefix_only(customer):
    token, raw = api_token_create(user=customer, name="CRM")
    assert re.fullmatch(r"hd_[0-9a-f]{10}_[\w-]{40,}", raw)
    assert raw.split("_")[1] == token.prefix
    token.refresh_from_db()
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    stored = [str(value) for value in ApiToken.objects.values_list().get()]
    assert not any(raw in value or raw.split("_", 2)[2] in value for value in stored)
    assert raw not in str(token)


def test_a_token_acts_as_its_user_and_records_its_use(customer):
    token, raw = api_token_create(user=customer, name="CRM")
    response = bearer(raw).get(ME)
    assert response.status_code == 200
    assert response.json()["username"] == "customer"
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_staff_token_acts_as_that_staff_member(agent):
    _token, raw = api_token_create(user=agent, name="bot")
    assert bearer(raw).get(ME).json()["is_staff"] is True


def _refused(client: APIClient) -> dict:
    response = client.get(ME)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    return response.json()


def test_no_credentials_is_a_401_with_the_challenge():
    body = _refused(APIClient())
    assert body["type"] == "not_authenticated"
    assert body["errors"] == {}


def test_a_revoked_token_stops_working(customer):
    token, raw = api_token_create(user=customer, name="CRM")
    api_token_revoke(token=token, by=customer)
    assert _refused(bearer(raw))["type"] == "not_authenticated"


def test_an_expired_token_stops_working(customer):
    token, raw = api_token_create(
        user=customer, name="CRM", expires_at=timezone.now() + timedelta(days=1)
    )
    assert bearer(raw).get(ME).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    _refused(bearer(raw))


def test_a_deactivated_users_token_stops_at_once(customer, deactivate):
    _token, raw = api_token_create(user=customer, name="CRM")
    assert bearer(raw).get(ME).status_code == 200
    deactivate(customer)
    _refused(bearer(raw))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw[:-1] + ("A" if raw[-1] != "A" else "B"),  # wrong secret
        lambda raw: "hd_0000000000_" + raw.split("_", 2)[2],  # wrong prefix
        lambda raw: raw.replace("hd_", "xx_", 1),
        lambda raw: "hd__",
        lambda raw: raw + " extra",
        lambda raw: "hd_" + "a" * 500,
    ],
)
def test_anything_but_the_token_is_refused(customer, mangle):
    _token, raw = api_token_create(user=customer, name="CRM")
    _refused(bearer(mangle(raw)))


def test_someone_else_cannot_revoke_my_token(customer, other_customer):
    token, _raw = api_token_create(user=customer, name="CRM")
    with pytest.raises(Exception, match="your own tokens"):
        api_token_revoke(token=token, by=other_customer)
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_session_works_and_needs_the_csrf_token(customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer, backend="accounts.backends.UsernameOrEmailBackend")
    assert client.get(ME).status_code == 200
    body = {"title": "From the browser", "description": "Session."}
    refused = client.post("/api/v1/tickets/", body, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["type"] == "permission_denied"
    assert "CSRF" in refused.json()["detail"]
    assert not Ticket.objects.exists()
    client.get("/tickets/")  # any page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    accepted = client.post(
        "/api/v1/tickets/", body, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 201
    assert Ticket.objects.get().reporter == customer


def test_an_unknown_method_is_a_405_in_the_error_shape(api, customer):
    response = api.as_(customer).delete(ME)
    assert response.status_code == 405
    assert response.json()["type"] == "method_not_allowed"


def test_a_body_that_is_not_json_is_a_415(api, customer):
    response = api.as_(customer).post(
        "/api/v1/tickets/", b"<ticket/>", content_type="application/xml"
    )
    assert response.status_code == 415
    assert response.json()["type"] == "unsupported_media_type"


@pytest.mark.parametrize("body", [b"{", b"\xff\xfe{}", b"[1, 2]", b'"text"'])
def test_broken_json_is_a_400(api, customer, body):
    response = api.as_(customer).post("/api/v1/tickets/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["type"] == "invalid"
    assert not Ticket.objects.exists()


def test_a_body_too_large_is_a_413(api, customer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.as_(customer).post(
        "/api/v1/tickets/",
        {"title": "Big", "description": "x" * 2000},
        format="json",
    )
    assert response.status_code == 413
    assert response.json()["type"] == "too_large"


def test_a_bad_query_string_is_a_400_in_the_error_shape(api, customer):
    response = api.as_(customer).get("/api/v1/tickets/?status=%00")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["type"] == "invalid"


def test_too_many_requests_is_a_429_with_retry_after(api, customer, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "user": "3/min"}
    client = api.as_(customer)
    assert [client.get(ME).status_code for _ in range(3)] == [200, 200, 200]
    response = client.get(ME)
    assert response.status_code == 429
    assert response.json()["type"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60


def test_each_token_has_its_own_count(customer, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "user": "2/min"}
    first, second = (bearer(api_token_create(user=customer, name=n)[1]) for n in "ab")
    assert [first.get(ME).status_code for _ in range(3)] == [200, 200, 429]
    assert second.get(ME).status_code == 200


def test_anonymous_requests_have_a_tighter_count(settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "anon": "2/min"}
    client = APIClient()
    assert [client.get(ME).status_code for _ in range(3)] == [401, 401, 429]


def test_search_has_its_own_count(api, agent, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "search": "1/min"}
    client = api.as_(agent)
    assert client.get("/api/v1/tickets/?q=printer").status_code == 200
    assert client.get("/api/v1/tickets/?q=printer").status_code == 429
    assert client.get("/api/v1/tickets/").status_code == 200


def test_guessing_tokens_is_throttled_per_address(settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "anon": "2/min"}
    client = bearer("hd_0123456789_guess")
    assert [client.get(ME).status_code for _ in range(3)] == [401, 401, 429]


def test_a_token_request_makes_no_session(customer):
    from django.contrib.sessions.models import Session

    _token, raw = api_token_create(user=customer, name="CRM")
    response = bearer(raw).get(ME)
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert not Session.objects.exists()
    assert "private" in response["Cache-Control"]


def test_a_token_needs_an_active_user_a_future_expiry_and_room(customer, deactivate):
    from django.core.exceptions import PermissionDenied, ValidationError

    from accounts.services import API_TOKENS_PER_USER

    with pytest.raises(ValidationError, match="future"):
        api_token_create(user=customer, name="x", expires_at=timezone.now())
    for number in range(API_TOKENS_PER_USER):
        api_token_create(user=customer, name=f"t{number}")
    with pytest.raises(ValidationError, match="revoke one"):
        api_token_create(user=customer, name="one too many")
    deactivate(customer)
    with pytest.raises(PermissionDenied):
        api_token_create(user=customer, name="x")


def test_a_token_that_is_not_ascii_is_refused():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer hd_é".encode().decode("latin-1"))
    _refused(client)
