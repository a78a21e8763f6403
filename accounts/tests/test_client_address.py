"""Which address a request comes from, directly or through the proxies FORWARDED_ALLOW_IPS
lists (accounts/client_address.py)."""

import pytest
from django.test import RequestFactory

from accounts.client_address import client_address

PROXY = "10.0.0.5"


def address(remote: str, forwarded: str | None = None) -> str:
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_address(RequestFactory().get("/", REMOTE_ADDR=remote, **headers))


@pytest.fixture
def behind_a_proxy(settings):
    settings.FORWARDED_ALLOW_IPS = [PROXY, "192.168.0.0/24"]


def test_without_a_proxy_the_peer_is_the_client(settings):
    settings.FORWARDED_ALLOW_IPS = []

    assert address("203.0.113.7") == "203.0.113.7"
    assert address("203.0.113.7", "198.51.100.1") == "203.0.113.7"


def test_a_listed_proxy_is_believed(behind_a_proxy):
    assert address(PROXY, "203.0.113.7") == "203.0.113.7"
    assert address(PROXY, "2001:db8::7") == "2001:db8::7"
    assert address(PROXY, "[2001:db8::7]:443") == "2001:db8::7"
    assert address(PROXY, "203.0.113.7:51234") == "203.0.113.7"


def test_what_the_client_wrote_left_of_the_proxys_entry_is_never_read(behind_a_proxy):
    # The client sent "X-Forwarded-For: 198.51.100.1"; the proxy appended the real address.
    assert address(PROXY, "198.51.100.1, 203.0.113.7") == "203.0.113.7"
    assert address(PROXY, "not an address, 203.0.113.7") == "203.0.113.7"


def test_a_chain_of_listed_proxies_is_walked_from_the_right(behind_a_proxy):
    assert address(PROXY, "203.0.113.7, 192.168.0.9") == "203.0.113.7"
    assert address(PROXY, "198.51.100.1, 203.0.113.7, 192.168.0.9") == "203.0.113.7"


def test_a_header_from_an_address_not_listed_is_ignored(behind_a_proxy):
    assert address("198.51.100.9", "203.0.113.7") == "198.51.100.9"


def test_a_listed_proxy_without_the_header_or_with_garbage_is_the_client(behind_a_proxy):
    assert address(PROXY) == PROXY
    assert address(PROXY, "") == PROXY
    assert address(PROXY, "garbage") == PROXY


def test_a_star_believes_every_peer(settings):
    settings.FORWARDED_ALLOW_IPS = ["*"]

    assert address("198.51.100.9", "203.0.113.7") == "203.0.113.7"
