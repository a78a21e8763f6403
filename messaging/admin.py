from django.contrib import admin

from accounts.admin_input import AdminInputMixin
from tickets.admin import ReadOnlyMixin
from tickets.pagination import CappedCountAdminMixin

from .models import Message


@admin.register(Message)
class MessageAdmin(AdminInputMixin, CappedCountAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    """Read-only: messages are never edited or deleted through the admin."""

    list_display = ["id", "ticket", "sender", "receiver", "is_internal", "created_at"]
    list_filter = ["is_internal", "created_at"]
    list_select_related = ["ticket", "sender", "receiver"]
    search_fields = ["content", "sender__username", "ticket__title"]
    raw_id_fields = ["ticket", "sender", "receiver"]
    show_full_result_count = False
