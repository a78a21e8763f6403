"""The site's URLs plus one view that fails, for the 500-page test (tests/test_production.py)."""

from django.urls import path

from helpdesk_site.urls import urlpatterns as site_urlpatterns


def boom(request):
    raise RuntimeError("boom: a deliberate failure for the error-page test")


urlpatterns = [*site_urlpatterns, path("boom/", boom, name="boom")]
