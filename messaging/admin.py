from django import forms
from django.contrib import admin, messages
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from post_office.models import STATUS, Attachment, Email, EmailTemplate, Log

from accounts.admin_input import AdminInputMixin
from accounts.outbox import send_again
from accounts.tasks import send_after_commit
from tickets.admin import ReadOnlyMixin
from tickets.pagination import CappedCountAdminMixin

from .inbound import reprocess
from .models import CannedReply, InboundEmail, Message


@admin.register(Message)
class MessageAdmin(AdminInputMixin, CappedCountAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    """Read-only: messages are never edited or deleted through the admin."""

    list_display = ["id", "ticket", "sender", "receiver", "is_internal", "created_at"]
    list_filter = ["is_internal", "created_at"]
    list_select_related = ["ticket", "sender", "receiver"]
    search_fields = ["content", "sender__username", "ticket__title"]
    raw_id_fields = ["ticket", "sender", "receiver"]
    show_full_result_count = False


class CannedReplyForm(forms.ModelForm):
    shared = forms.BooleanField(
        required=False,
        label=_("Shared with every agent"),
        help_text=_("Otherwise it is yours alone. Cannot be changed later."),
    )

    class Meta:
        model = CannedReply
        fields = ["title", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 8, "maxlength": 10_000})}


@admin.register(CannedReply)
class CannedReplyAdmin(AdminInputMixin, admin.ModelAdmin):
    """Canned replies: each agent sees the shared ones and their own. Shared ones are changed
    only by staff with messaging.manage_shared_replies, personal ones only by their owner (a
    superuser sees and changes every one)."""

    form = CannedReplyForm
    list_display = ["title", "kind", "updated_at"]
    search_fields = ["title", "body"]
    list_select_related = ["owner"]

    @admin.display(description=_("Kind"))
    def kind(self, obj: CannedReply) -> str:
        if obj.is_shared:
            return _("Shared")
        return _("Personal (%(username)s)") % {"username": obj.owner.username}

    def get_queryset(self, request):
        replies = super().get_queryset(request)
        return replies if request.user.is_superuser else replies.usable_by(request.user)

    def get_fields(self, request, obj=None):
        may_share = request.user.has_perm("messaging.manage_shared_replies")
        return ["title", "body", "shared"] if obj is None and may_share else ["title", "body"]

    def _may_edit(self, request, obj) -> bool:
        return obj is None or request.user.is_superuser or obj.may_edit(request.user)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_edit(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            # The box is only on the form of those who may share; the POST is not trusted.
            shared = form.cleaned_data.get("shared") and request.user.has_perm(
                "messaging.manage_shared_replies"
            )
            obj.owner = None if shared else request.user
        super().save_model(request, obj, form, change)


# --- The outbox (accounts/outbox.py): django-post-office's Email rows --------------------------
# Its own admin edits rows, sends them from the page (on a GET), and manages templates and
# attachments the help desk does not use: replaced by a read-only list of the outbox with each
# mail's last error, and one action that goes through the outbox's own service.
for model in (Email, Log, EmailTemplate, Attachment):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class AttemptInline(admin.TabularInline):
    """The failed tries of one mail, newest first: when, and what the mail server said."""

    model = Log
    verbose_name = _("failed try")
    verbose_name_plural = _("failed tries")
    fields = readonly_fields = ["date", "exception_type", "message"]
    ordering = ["-date", "-pk"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status=STATUS.failed)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Email)
class OutboxAdmin(AdminInputMixin, CappedCountAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    """Every email the help desk sent or will send: queued, waiting to be tried again
    ("requeued", with the time of the next try), sent, or failed after every try (with the
    error). "Send again" puts failed mail back in the queue. Superusers only (agents have no
    permission on it): it holds every customer's mail."""

    list_display = [
        "id",
        "recipient",
        "subject",
        "status",
        "retries",
        "next_try",
        "last_error",
        "created",
    ]
    list_filter = ["status", "created"]
    search_fields = ["to", "subject"]
    ordering = ["-pk"]
    show_full_result_count = False
    fields = [
        "to",
        "subject",
        "status",
        "number_of_retries",
        "scheduled_time",
        "created",
        "last_updated",
        "message_id",
        "headers",
        "message",
    ]
    inlines = [AttemptInline]
    actions = ["send_again"]
    # Django's own: post-office's adds a "Resend" button for its own view, which is not here.
    change_form_template = "admin/change_form.html"

    def get_queryset(self, request):
        last_error = (
            Log.objects.filter(email=OuterRef("pk"), status=STATUS.failed)
            .order_by("-date", "-pk")
            .values("message")[:1]
        )
        return super().get_queryset(request).annotate(last_error=Subquery(last_error))

    @admin.display(description=_("to"), ordering="to")
    def recipient(self, email: Email) -> str:
        return ", ".join(email.to)

    @admin.display(description=_("retries"), ordering="number_of_retries")
    def retries(self, email: Email) -> int:
        return email.number_of_retries or 0

    @admin.display(description=_("next try"), ordering="scheduled_time")
    def next_try(self, email: Email):
        # Only mail waiting for a retry has one; a queued row's time is a worker's claim on it.
        return email.scheduled_time if email.status == STATUS.requeued else None

    @admin.display(description=_("last error"))
    def last_error(self, email: Email) -> str:
        return email.last_error or ""

    def has_send_permission(self, request) -> bool:
        return request.user.has_perm("post_office.change_email")

    @admin.action(description=_("Send the selected failed emails again"), permissions=["send"])
    def send_again(self, request, queryset):
        selected = queryset.count()
        ids = send_again(queryset.values_list("pk", flat=True))
        send_after_commit(ids)
        if ids:
            self.message_user(
                request,
                ngettext(
                    "%(count)d email put back in the queue to be sent.",
                    "%(count)d emails put back in the queue to be sent.",
                    len(ids),
                )
                % {"count": len(ids)},
            )
        if selected > len(ids):
            left = selected - len(ids)
            self.message_user(
                request,
                ngettext(
                    "%(count)d email left as it is: only failed mail is sent again (queued "
                    "mail is still being tried, sent mail was sent).",
                    "%(count)d emails left as they are: only failed mail is sent again (queued "
                    "mail is still being tried, sent mail was sent).",
                    left,
                )
                % {"count": left},
                messages.WARNING,
            )


# --- Inbound mail (messaging/inbound.py): every mail that came in, and what became of it ------


@admin.register(InboundEmail)
class InboundEmailAdmin(AdminInputMixin, CappedCountAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    """Every mail that came in (fetched, or piped in), newest first: its status (processed,
    ignored, bounce, quarantined, failed) and why, and the ticket it went to. Read-only; one
    action processes failed mail again (after a fix). Superusers only (agents have no permission
    on it): it holds everyone's mail."""

    list_display = [
        "id",
        "received_at",
        "from_address",
        "subject",
        "status",
        "reason",
        "ticket_number",
    ]
    list_filter = ["status", "received_at"]
    search_fields = ["from_address", "subject", "message_id"]
    ordering = ["-received_at", "-pk"]
    show_full_result_count = False
    fields = [
        "received_at",
        "processed_at",
        "source",
        "from_address",
        "subject",
        "message_id",
        "size",
        "sha256",
        "status",
        "reason",
        "ticket",
        "reply",
        "opened_ticket",
        "text",
    ]
    actions = ["process_again"]

    def get_queryset(self, request):
        # A list of mails never reads their bytes (up to INBOUND_MAX_BYTES each) or texts.
        return super().get_queryset(request).defer("raw", "text")

    @admin.display(description=_("ticket"), ordering="ticket_id")
    def ticket_number(self, record: InboundEmail) -> str:
        return f"#{record.ticket_id}" if record.ticket_id else "-"

    def has_process_permission(self, request) -> bool:
        return request.user.has_perm("messaging.view_inboundemail")

    @admin.action(description=_("Process the selected failed mails again"), permissions=["process"])
    def process_again(self, request, queryset):
        selected = list(queryset.only("pk", "status"))
        failed = [record for record in selected if record.status == InboundEmail.Status.FAILED]
        outcomes = [reprocess(record).status for record in failed]
        if failed:
            done = ", ".join(
                f"{outcomes.count(status)} {InboundEmail.Status(status).label}"
                for status in dict.fromkeys(outcomes)
            )
            self.message_user(
                request,
                ngettext(
                    "%(count)d mail processed again: %(outcomes)s.",
                    "%(count)d mails processed again: %(outcomes)s.",
                    len(failed),
                )
                % {"count": len(failed), "outcomes": done},
            )
        if len(selected) > len(failed):
            left = len(selected) - len(failed)
            self.message_user(
                request,
                ngettext(
                    "%(count)d mail left as it is: only failed mail is processed again.",
                    "%(count)d mails left as they are: only failed mail is processed again.",
                    left,
                )
                % {"count": left},
                messages.WARNING,
            )
