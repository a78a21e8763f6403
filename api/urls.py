from django.urls import path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from . import views

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html"),
        name="redoc",
    ),
    path("tickets/", views.TicketList.as_view(), name="tickets"),
    path("tickets/<int:pk>/", views.TicketDetail.as_view(), name="ticket"),
    path("tickets/<int:pk>/messages/", views.MessageList.as_view(), name="messages"),
    path(
        "tickets/<int:pk>/messages/<int:message_id>/files/",
        views.MessageFiles.as_view(),
        name="message_files",
    ),
    path("tickets/<int:pk>/files/", views.TicketFiles.as_view(), name="files"),
    path("tickets/<int:pk>/files/<int:file_id>/", views.FileDownload.as_view(), name="file"),
    path("canned-replies/", views.CannedReplies.as_view(), name="canned_replies"),
    path("canned-replies/<int:reply_id>/", views.CannedReplyDetail.as_view(), name="canned_reply"),
    path("users/me/", views.Me.as_view(), name="me"),
    path("customers/", views.Customers.as_view(), name="customers"),
    path("reports/", views.Report.as_view(), name="report"),
]
