import pytest

from helpdesk_site import settings as project_settings


@pytest.fixture
def real_hashers(settings):
    """Switch back from the fast test hasher to the production list (bcrypt first)."""
    settings.PASSWORD_HASHERS = list(project_settings.PASSWORD_HASHERS)
