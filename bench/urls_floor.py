"""The site's URLs plus two bench-only pages: the floors that bench/page_bench.py compares with.

Used only as ROOT_URLCONF inside the benchmark (a settings override); the project's own URLs
never include them.
"""

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import path

from helpdesk_site.urls import urlpatterns as site_urlpatterns


@login_required
def floor(request: HttpRequest) -> HttpResponse:
    """The cheapest page a signed-in person can get: base.html, with nothing in it."""
    return render(request, "base.html")


@staff_member_required
def admin_floor(request: HttpRequest) -> HttpResponse:
    """The cheapest admin page: the admin's own chrome (header, the sidebar of the models the
    user may see, which needs their permissions), with nothing in it. Shown for reference: what
    every admin page costs before its own content."""
    context = {**admin.site.each_context(request), "title": "Floor"}
    return TemplateResponse(request, "admin/base_site.html", context)


urlpatterns = [
    *site_urlpatterns,
    path("bench/floor/", floor, name="bench-floor"),
    path("bench/admin-floor/", admin_floor, name="bench-admin-floor"),
]
