from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.report_page, name="page"),
    path("export.csv", views.report_csv, name="csv"),
    path("data.json", views.report_json, name="json"),
    path("refresh/", views.report_refresh, name="refresh"),
]
