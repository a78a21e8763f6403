import pytest
from rest_framework.test import APIClient

from accounts.services import api_token_create


@pytest.fixture
def api():
    """A client for the API as a program: a token (`api.as_(user)`) or nothing."""

    class Api(APIClient):
        def as_(self, user):
            _token, raw = api_token_create(user=user, name="tests")
            self.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
            return self

    return Api()
