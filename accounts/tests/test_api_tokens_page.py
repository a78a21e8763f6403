"""The profile page's API tokens: made (shown once), listed by prefix, revoked."""

import re

import pytest

from accounts.models import ApiToken
from accounts.services import api_token_create, api_token_hash

pytestmark = pytest.mark.django_db


def test_a_token_is_made_and_shown_once(login, customer):
    client = login(customer)
    response = client.post("/accounts/tokens/", {"name": "CRM sync", "expires_in": "30"})
    assert response.status_code == 200
    raw = re.search(r'value="(hd_[0-9a-f]{10}_[\w-]+)"', response.content.decode()).group(1)
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.key_hash) == (customer, "CRM sync", api_token_hash(raw))
    assert token.expires_at is not None
    assert "no-store" in response["Cache-Control"]
    page = client.get("/accounts/profile/").content.decode()
    assert f"hd_{token.prefix}_" in page
    assert raw not in page
    assert client.get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def test_a_token_without_a_name_is_refused(login, customer):
    response = login(customer).post("/accounts/tokens/", {"name": ""})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_revoking_my_token(login, customer):
    token, _raw = api_token_create(user=customer, name="old")
    response = login(customer).post("/accounts/tokens/", {"revoke": token.pk})
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_i_cannot_revoke_someone_elses_token(login, customer, other_customer):
    token, _raw = api_token_create(user=other_customer, name="theirs")
    response = login(customer).post("/accounts/tokens/", {"revoke": token.pk})
    assert response.status_code == 400
    assert "not one of your tokens" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_page_takes_post_only(login, customer):
    assert login(customer).get("/accounts/tokens/").status_code == 405


def test_a_superuser_sees_tokens_without_secrets_and_revokes_them(client, admin_user, customer):
    token, raw = api_token_create(user=customer, name="CRM")
    client.force_login(admin_user, backend="accounts.backends.UsernameOrEmailBackend")
    page = client.get("/admin/accounts/apitoken/")
    assert page.status_code == 200
    assert token.prefix in page.content.decode()
    assert raw.split("_", 2)[2] not in page.content.decode()
    assert token.key_hash not in page.content.decode()
    response = client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_an_agent_cannot_see_the_tokens(client, agent):
    client.force_login(agent, backend="accounts.backends.UsernameOrEmailBackend")
    assert client.get("/admin/accounts/apitoken/").status_code == 403
