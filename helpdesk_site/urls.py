from django.contrib import admin
from django.shortcuts import redirect
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST, require_safe
from django.views.i18n import set_language

from messaging.views import my_data

from .views import healthz

admin.site.site_header = _("Help desk administration")
admin.site.site_title = _("Help desk admin")
admin.site.index_title = _("Triage and administration")
admin.site.site_url = "/tickets/"


@require_safe
def home(request):
    return redirect("tickets:list" if request.user.is_authenticated else "accounts:login")


urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    # The profile page's "Download my data": the conversation's app writes it (accounts knows
    # nothing of tickets), under the accounts' addresses.
    path("accounts/my-data/", my_data, name="my_data"),
    # The footer's language switcher (a cookie; a signed-in person's profile language wins).
    path("i18n/setlang/", require_POST(set_language), name="set_language"),
    path("accounts/", include("accounts.urls")),
    path("tickets/", include("tickets.urls")),
    path("reports/", include("reports.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
]

handler400 = "helpdesk_site.views.bad_request"
handler404 = "helpdesk_site.views.not_found"
