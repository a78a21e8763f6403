"""The site's URLs plus one bench-only page: the floor that bench/page_bench.py compares against.

Used only as ROOT_URLCONF inside the benchmark (a settings override); the project's own URLs
never include it.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from helpdesk_site.urls import urlpatterns as site_urlpatterns


@login_required
def floor(request: HttpRequest) -> HttpResponse:
    """The cheapest page a signed-in person can get: base.html, with nothing in it."""
    return render(request, "base.html")


urlpatterns = [*site_urlpatterns, path("bench/floor/", floor, name="bench-floor")]
