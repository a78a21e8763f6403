from django.urls import path

from messaging.views import attachment_download, canned_replies, message_mail

from . import views

app_name = "tickets"

urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("new/", views.ticket_new, name="create"),
    path("bulk/", views.ticket_bulk, name="bulk"),
    path("customers/", views.customer_search, name="customers"),
    path("<int:pk>/", views.ticket_detail, name="detail"),
    path("<int:pk>/reply/", views.ticket_reply, name="reply"),
    path("<int:pk>/status/", views.ticket_status, name="status"),
    path("<int:pk>/assign/", views.ticket_assign_view, name="assign"),
    path("<int:pk>/priority/", views.ticket_priority, name="priority"),
    path("<int:pk>/triage/", views.ticket_triage_view, name="triage"),
    path("<int:pk>/live/", views.ticket_live, name="live"),
    path("<int:pk>/canned-replies/", canned_replies, name="canned"),
    path("<int:pk>/files/<int:attachment_id>/<str:name>", attachment_download, name="file"),
    path("<int:pk>/messages/<int:message_id>/mail/", message_mail, name="message_mail"),
]
