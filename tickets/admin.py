from django.contrib import admin
from django.utils.html import format_html

from .models import Ticket, TicketEvent


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    fields = ["created_at", "actor", "kind", "from_value", "to_value"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["created_at", "pk"]

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Staff read tickets here; every change goes through the ticket page's services.

    Status, assignee and priority are read-only in this form on purpose: saving the model form
    raw would bypass Ticket.update_status and the audit trail.
    """

    list_display = ["id", "title", "status", "priority", "reporter", "assignee", "created_at"]
    list_filter = ["status", "priority", "created_at"]
    list_select_related = ["reporter", "assignee"]
    search_fields = ["=id", "title", "reporter__username", "reporter__email"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    readonly_fields = [
        "web_page",
        "title",
        "description",
        "status",
        "priority",
        "reporter",
        "assignee",
        "created_at",
        "modified_at",
        "first_response_at",
        "closed_at",
    ]
    fields = readonly_fields
    inlines = [TicketEventInline]

    def has_add_permission(self, request):
        return False

    @admin.display(description="web page")
    def web_page(self, obj: Ticket) -> str:
        return format_html(
            '<a href="{}">Open #{} on the help desk</a>', obj.get_absolute_url(), obj.pk
        )


@admin.register(TicketEvent)
class TicketEventAdmin(admin.ModelAdmin):
    """The audit trail is read-only."""

    list_display = ["id", "ticket", "kind", "from_value", "to_value", "actor", "created_at"]
    list_filter = ["kind", "created_at"]
    list_select_related = ["ticket", "actor"]
    raw_id_fields = ["ticket", "actor"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
