"""The API's request counts in Redis when REDIS_URL is configured: where every app server sees
them, so a token's limit is one limit however many servers (or clients) it talks to.

Needs Redis at 127.0.0.1:6379 (skipped without it), database API_TEST_REDIS_DB (default 7:
outside the 10-15 that tests/conftest.py's redis_db takes and flushes). The test's keys carry
a prefix of its own and are deleted afterwards (nothing else is touched)."""

import os
import secrets

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from accounts.services import api_token_create
from tests.test_production import settings_from

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me/"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_DB = int(os.environ.get("API_TEST_REDIS_DB", "7"))


@pytest.fixture
def redis_cache(settings):
    """The default cache as settings.py makes it from REDIS_URL (read by a fresh process), with
    a key prefix of this test's own; (a Redis client, the prefix)."""
    redis = pytest.importorskip("redis")
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"needs Redis at {REDIS_HOST}:{REDIS_PORT}: {exc}")
    prefix = f"api-throttle-test-{secrets.token_hex(6)}"
    built = settings_from(
        ["CACHES"],
        REDIS_URL=f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
        CACHE_KEY_PREFIX=prefix,
    )["CACHES"]["default"]
    assert built["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    settings.CACHES = {**settings.CACHES, "default": built}
    try:
        yield client, prefix
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_tokens_count_is_in_redis_and_shared_by_every_client(redis_cache, customer, settings):
    redis, prefix = redis_cache
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "user": "3/min"}
    token, raw = api_token_create(user=customer, name="CRM")
    # Two programs (or two app servers' clients) with the same token.
    first, second = bearer(raw), bearer(raw)

    assert first.get(ME).status_code == 200
    # The count is a key in Redis (the cache's prefix and version, then the throttle's key),
    # kept as long as the rate's window.
    key = f"{prefix}:1:api-throttle:user:token:{token.pk}"
    assert redis.exists(key)
    assert 0 < redis.ttl(key) <= 60
    assert second.get(ME).status_code == 200
    assert first.get(ME).status_code == 200
    assert len(caches["default"].get(f"api-throttle:user:token:{token.pk}")) == 3

    # The third request used the limit up, for both clients.
    refused = second.get(ME)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert first.get(ME).status_code == 429
    # Another token of the same person counts on its own.
    other, other_raw = api_token_create(user=customer, name="Chat bot")
    assert bearer(other_raw).get(ME).status_code == 200
    assert redis.exists(f"{prefix}:1:api-throttle:user:token:{other.pk}")

    # The count lives in Redis only: gone from there, the token may send again.
    redis.delete(key)
    assert second.get(ME).status_code == 200
