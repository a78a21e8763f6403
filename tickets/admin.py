"""The staff's triage desk in the Django admin.

Every change made here goes through the same services as the ticket pages
(`Ticket.update_status`, `ticket_update`, `message_send`), so the rules, the audit trail and the
notifications are the same whichever way a change is made. Nothing here assigns a status or an
assignee directly.
"""

from __future__ import annotations

import uuid

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from accounts.admin import UserAdmin
from accounts.admin_input import AdminInputMixin, IdAutocompleteSelect, as_object_id
from messaging.forms import AttachmentsField
from messaging.models import Attachment, Message
from messaging.selectors import files_by_message, with_files
from messaging.services import attachment_remove, attachments_delete_with, message_send

from .bulk import apply_to_each
from .models import Category, StaleTicketError, Tag, Ticket, TicketEvent
from .pagination import CappedCountAdminMixin
from .search import search_for_admin
from .selectors import ticket_timeline
from .services import (
    customer_anonymise,
    parse_tags,
    ticket_add_tag,
    ticket_assign,
    ticket_set_category,
    ticket_set_priority,
    ticket_update,
)

User = get_user_model()


class AssigneeFilter(admin.SimpleListFilter):
    title = _("assignee")
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        agents = User.objects.staff().order_by("username").values_list("pk", "username")
        return [
            ("me", _("Assigned to me")),
            ("none", _("Unassigned")),
            *[(str(pk), n) for pk, n in agents],
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "me":
            return queryset.filter(assignee=request.user)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value:
            # An agent's id; anything else ("abc", "²", a number past the id column) is no one's.
            agent_id = as_object_id(value)
            return queryset.filter(assignee_id=agent_id) if agent_id else queryset.none()
        return queryset


class StatusFilter(admin.SimpleListFilter):
    """Status, with closed tickets only when asked: the queue is the open work. The parameter
    is the one Django's own status filter used, so older links still work."""

    title = _("status")
    parameter_name = "status__exact"

    def lookups(self, request, model_admin):
        return [*Ticket.Status.choices, ("all", _("All, closed too"))]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset.not_closed()
        if self.value() == "all":
            return queryset
        return queryset.filter(status=self.value())

    def choices(self, changelist):
        # Where Django's filters offer "All" (no parameter), this one offers "Not closed".
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("Not closed"),
        }
        for value, title in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": title,
            }


class TagFilter(admin.SimpleListFilter):
    title = _("tag")
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        return [
            (name, name) for name in Tag.objects.order_by("name").values_list("name", flat=True)
        ]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(tags__name__iexact=self.value())
        return queryset


class AwaitingFirstResponseFilter(admin.SimpleListFilter):
    title = _("first response")
    parameter_name = "awaiting"

    def lookups(self, request, model_admin):
        return [("yes", _("Awaiting first response")), ("no", _("Responded"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.not_closed().filter(first_response_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(first_response_at__isnull=False)
        return queryset


class ReadOnlyMixin:
    """Shown, never added, changed or deleted through the admin (the audit trail and the
    conversation change only through the services)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _message_token(submission: uuid.UUID, kind: str) -> uuid.UUID:
    """The client token of the reply or the note sent with one submission of the change form."""
    return uuid.uuid5(submission, kind)


class TicketAdminForm(forms.ModelForm):
    """Priority and assignee come from the model; status, the version the page saw, and the two
    message boxes are plain fields applied by TicketAdmin.save_model through the services."""

    # Not named "status" and "version": those are the model's own, non-editable fields.
    new_status = forms.ChoiceField(label=_("Status"), choices=Ticket.Status.choices)
    seen_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)
    submission = forms.UUIDField(widget=forms.HiddenInput)
    reply = forms.CharField(
        label=_("Reply to the reporter"),
        required=False,
        max_length=10_000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text=_("Sent to the reporter when you save."),
    )
    tag_text = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=2000,
        help_text=_("Separated by commas; a new name makes a new tag."),
    )
    reply_files = AttachmentsField(label=_("Files for the reply"))
    internal_note = forms.CharField(
        label=_("Internal note"),
        required=False,
        max_length=10_000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text=_("Seen by staff only."),
    )
    note_files = AttachmentsField(label=_("Files for the note"))
    remove_files = forms.TypedMultipleChoiceField(
        label=_("Remove files"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Their bytes are deleted when you save; each message says who removed them."),
    )

    class Meta:
        model = Ticket
        fields = ["priority", "assignee", "category"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["new_status"].initial = self.instance.status
            self.fields["seen_version"].initial = self.instance.version
            self.fields["tag_text"].initial = ", ".join(self.instance.tag_names)
            self.fields["remove_files"].choices = [
                (pk, f"{name} ({filesizeformat(size)})")
                for pk, name, size in Attachment.objects.filter(ticket=self.instance.pk)
                .stored()
                .order_by("uploaded_at", "pk")
                .values_list("pk", "name", "size")
            ]
            if not self.fields["remove_files"].choices:
                self.fields["remove_files"].help_text = _("This ticket has no files.")
        self.fields["submission"].initial = uuid.uuid4()

    # Set by clean() when this very form was applied before (sent twice, e.g. a double click).
    already_saved = False

    @cached_property
    def changed_data(self):
        # The hidden bookkeeping fields differ on every send; they are not changes to the ticket
        # (without this, every save is logged as "Changed submission").
        return [name for name in super().changed_data if name not in {"submission", "seen_version"}]

    def clean(self):
        cleaned = super().clean()
        ticket = self.instance
        submission = cleaned.get("submission")
        if (
            submission is not None
            and Message.objects.filter(
                ticket=ticket.pk,
                client_token__in=[_message_token(submission, kind) for kind in ("reply", "note")],
            ).exists()
        ):
            # Its reply or note is stored, so this form was applied before (all or nothing).
            # Its own reply bumped the version; refusing it as stale would say "Nothing was
            # saved" and invite the agent to send the reply a second time.
            self.already_saved = True
            return cleaned
        current = Ticket.objects.select_related("modified_by").get(pk=ticket.pk)
        try:
            current.check_version(cleaned.get("seen_version"))
        except StaleTicketError as exc:
            # Shown above the form, with what the agent typed kept in the boxes.
            raise ValidationError(
                [*exc.messages, _("Nothing was saved. Your reply and note are kept below.")]
            ) from None
        for files, text in (("reply_files", "reply"), ("note_files", "internal_note")):
            if cleaned.get(files) and not cleaned.get(text):
                self.add_error(files, _("Write a message to send these files with."))
        status = cleaned.get("new_status")
        if status and status != current.status and status not in Ticket.TRANSITIONS[current.status]:
            self.add_error(
                "new_status",
                f"A ticket cannot go from {current.get_status_display().lower()} to "
                f"{Ticket.Status(status).label.lower()}.",
            )
        assignee = cleaned.get("assignee")
        if assignee is not None and not (assignee.is_staff and assignee.is_active):
            self.add_error("assignee", f"{assignee.username} is not an active staff member.")
        try:
            cleaned["tag_list"] = parse_tags(cleaned.get("tag_text", ""))
        except ValidationError as exc:
            self.add_error("tag_text", exc)
        category = cleaned.get("category")
        if category is not None and not category.active and category.pk != current.category_id:
            self.add_error(
                "category",
                _("The category %(name)s is no longer offered.") % {"name": category.name},
            )
        return cleaned


@admin.register(Ticket)
class TicketAdmin(AdminInputMixin, CappedCountAdminMixin, admin.ModelAdmin):
    form = TicketAdminForm
    list_display = [
        "id",
        "title",
        "status_badge",
        "priority",
        "reporter",
        "assignee",
        "age",
        "last_activity",
        "awaiting_first_response",
    ]
    list_display_links = ["id", "title"]
    list_filter = [
        StatusFilter,
        "priority",
        AssigneeFilter,
        "category",
        TagFilter,
        AwaitingFirstResponseFilter,
        ("created_at", admin.DateFieldListFilter),
    ]
    list_select_related = ["reporter", "assignee"]
    # As many as the help desk's own lists show (TICKETS_PER_PAGE).
    list_per_page = settings.TICKETS_PER_PAGE
    show_full_result_count = False
    # The help desk's search (tickets/search.py: get_search_results below); the search box is
    # shown because there are search fields.
    search_fields = ["title"]
    search_help_text = _(
        'Words of the title, description or messages ("a phrase", -without, or), a ticket'
        " number, or the reporter's name or email."
    )
    # Urgent and old open work first (the rank columns are generated from status and priority).
    # "pk" last so the admin adds no "-pk" of its own: the ticket_triage index (plus the row id)
    # then gives the whole order, and the first page is read from it, not sorted.
    ordering = ["status_rank", "priority_rank", "created_at", "pk"]
    autocomplete_fields = ["assignee"]
    readonly_fields = [
        "web_page",
        "title",
        "description_text",
        "reporter",
        "conversation",
        "timeline",
        "created_at",
        "last_activity_at",
        "first_response_at",
        "closed_at",
    ]
    fieldsets = [
        (None, {"fields": ["web_page", "title", "description_text", "reporter"]}),
        (
            _("Triage"),
            {
                "fields": [
                    "new_status",
                    "priority",
                    "assignee",
                    "category",
                    "tag_text",
                    "seen_version",
                    "submission",
                ]
            },
        ),
        (_("Reply"), {"fields": ["reply", "reply_files", "internal_note", "note_files"]}),
        (_("Files"), {"fields": ["remove_files"]}),
        # Read-only, in one query each: replies and notes are written in the boxes above, and
        # the timeline changes only through the services.
        (_("Conversation"), {"fields": ["conversation"]}),
        (_("Timeline"), {"fields": ["timeline"]}),
        (
            _("Dates"),
            {
                "fields": ["created_at", "last_activity_at", "first_response_at", "closed_at"],
                "classes": ["collapse"],
            },
        ),
    ]
    actions = [
        "assign_to_me",
        "assign_to_agent",
        "mark_active",
        "close_tickets",
        "reopen_tickets",
        "set_priority",
        "set_category",
        "add_tag",
    ]

    def get_search_results(self, request, queryset, search_term):
        """The help desk's own search (indexed words, not `icontains` over every row)."""
        if not search_term.strip():
            return queryset, False
        return search_for_admin(queryset, search_term), False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.autocomplete_fields:
            kwargs["widget"] = IdAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # --- permissions: agents triage; only superusers delete -------------------------------

    def has_add_permission(self, request):
        # Tickets are reported through the help desk's "New ticket" page.
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def delete_model(self, request, obj: Ticket) -> None:
        # The files' rows go with the ticket; their bytes once the deletion commits.
        with transaction.atomic():
            attachments_delete_with(Ticket.objects.filter(pk=obj.pk))
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        with transaction.atomic():
            attachments_delete_with(queryset)
            super().delete_queryset(request, queryset)

    def get_deleted_objects(self, objs, request):
        # Messages and events cannot be deleted on their own (their admins are read-only), but
        # they go with their ticket: without this, no ticket with a conversation could be deleted.
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed -= {
            Message._meta.verbose_name,
            TicketEvent._meta.verbose_name,
            Attachment._meta.verbose_name,
        }
        return deleted, model_count, perms_needed, protected

    # --- columns -------------------------------------------------------------------------

    @admin.display(description=_("status"), ordering="status_rank")
    def status_badge(self, ticket: Ticket) -> str:
        return format_html(
            '<span class="status-badge status-{}">{}</span>',
            ticket.status,
            ticket.get_status_display(),
        )

    @admin.display(description=_("age"), ordering="created_at")
    def age(self, ticket: Ticket) -> str:
        return timesince(ticket.created_at, depth=1)

    @admin.display(description=_("last activity"), ordering="-last_activity_at")
    def last_activity(self, ticket: Ticket) -> str:
        return f"{timesince(ticket.last_activity_at, depth=1)} ago"

    @admin.display(description=_("awaits 1st response"), boolean=True)
    def awaiting_first_response(self, ticket: Ticket) -> bool:
        return ticket.first_response_at is None and ticket.status != Ticket.Status.CLOSED

    @admin.display(description=_("web page"))
    def web_page(self, ticket: Ticket) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            ticket.get_absolute_url(),
            _("Open #%(number)s on the help desk") % {"number": ticket.pk},
        )

    @admin.display(description=_("messages"))
    def conversation(self, ticket: Ticket) -> SafeString:
        # Staff only reach the admin: every message, internal notes included, and every file.
        files = files_by_message(ticket, viewer=None) if ticket.has_files else {}
        entries = with_files(
            Message.objects.filter(ticket=ticket).order_by("created_at", "pk").entries(), files
        )
        return render_to_string(
            "admin/tickets/ticket/_conversation.html",
            {"entries": entries, "ticket": ticket, "ticket_files": files.get(None, [])},
        )

    @admin.display(description=_("changes"))
    def timeline(self, ticket: Ticket) -> SafeString:
        events = ticket_timeline(ticket)
        return render_to_string("admin/tickets/ticket/_timeline.html", {"events": events})

    @admin.display(description=_("description"))
    def description_text(self, ticket: Ticket) -> str:
        return format_html('<div style="white-space: pre-wrap">{}</div>', ticket.description)

    # --- the change page: through the services ---------------------------------------------

    def save_model(self, request, obj: Ticket, form, change) -> None:
        """Apply the form through the services, all or nothing, never by saving the row raw."""
        if form.already_saved:
            request._ticket_repeat = True
            return
        data = form.cleaned_data
        changed = set(form.changed_data)
        token = data["submission"]
        try:
            with transaction.atomic():
                ticket_update(
                    ticket=obj,
                    by=request.user,
                    expected_version=data["seen_version"],
                    status=data["new_status"] if "new_status" in changed else None,
                    assignee=data["assignee"],
                    change_assignee="assignee" in changed,
                    priority=data["priority"] if "priority" in changed else None,
                    category=data["category"],
                    change_category="category" in changed,
                    tags=data["tag_list"] if "tag_text" in changed else None,
                )
                if data.get("reply"):
                    message_send(
                        ticket=obj,
                        sender=request.user,
                        content=data["reply"],
                        client_token=_message_token(token, "reply"),
                        files=data["reply_files"],
                    )
                if data.get("internal_note"):
                    message_send(
                        ticket=obj,
                        sender=request.user,
                        content=data["internal_note"],
                        is_internal=True,
                        client_token=_message_token(token, "note"),
                        files=data["note_files"],
                    )
                for attachment in Attachment.objects.filter(
                    ticket=obj, pk__in=data["remove_files"]
                ).order_by("pk"):
                    attachment_remove(attachment=attachment, by=request.user)
        except (ValidationError, PermissionDenied) as exc:
            # Lost a race after the form was checked: nothing was applied.
            request._ticket_refused = " ".join(getattr(exc, "messages", [str(exc)]))

    def save_related(self, request, form, formsets, change) -> None:
        # No many-to-many fields and no inlines; save_model applied everything (Django's own
        # would call form.save_m2m, which exists only after form.save(commit=False)).
        return None

    def log_change(self, request, obj, message):
        if getattr(request, "_ticket_refused", None) or getattr(request, "_ticket_repeat", False):
            return None
        return super().log_change(request, obj, message)

    def response_change(self, request, obj):
        refused = getattr(request, "_ticket_refused", None)
        if refused:
            self.message_user(
                request, _("Nothing was saved: %(why)s") % {"why": refused}, messages.ERROR
            )
            return HttpResponseRedirect(request.path)
        if getattr(request, "_ticket_repeat", False):
            self.message_user(
                request, _("This form was already saved; sending it again changed nothing.")
            )
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    # --- actions: each ticket is changed on its own, all or nothing ----------------------

    def _bulk(self, request: HttpRequest, queryset: QuerySet, verb: str, change) -> None:
        """Apply `change(ticket)` to each ticket; report what was done, skipped and refused,
        and link the changed tickets that the list, as filtered, no longer shows."""
        tickets = queryset.select_related("reporter", "assignee").order_by("pk")
        result = apply_to_each(tickets, change)
        for level, text in result.report(verb):
            self.message_user(request, text, level)
        # `queryset` is the list's own, filtered, limited to the ticked tickets: asked again.
        gone = sorted(set(result.done) - set(queryset.values_list("pk", flat=True)))
        if gone:
            links = format_html_join(
                ", ",
                '<a href="{}">#{}</a>',
                ((reverse("admin:tickets_ticket_change", args=[pk]), pk) for pk in gone),
            )
            self.message_user(request, format_html(_("No longer in this list: {}."), links))

    @admin.action(description=_("Assign to me"), permissions=["change"])
    def assign_to_me(self, request, queryset):
        self._bulk(
            request,
            queryset,
            _("Assigned to you:"),
            lambda t: ticket_assign(ticket=t, assignee=request.user, by=request.user),
        )

    @admin.action(description=_("Assign to an agent…"), permissions=["change"])
    def assign_to_agent(self, request, queryset):
        def apply(data: dict) -> None:
            agent = data["agent"]
            self._bulk(
                request,
                queryset,
                _("Assigned to %(name)s:") % {"name": agent.username},
                lambda t: ticket_assign(ticket=t, assignee=agent, by=request.user),
            )

        return self._with_choice(
            request, queryset, AssignActionForm, "assign_to_agent", _("Assign to an agent"), apply
        )

    def _move_all(self, request, queryset, status: str, verb: str) -> None:
        self._bulk(request, queryset, verb, lambda t: t.update_status(status, by=request.user))

    @admin.action(description=_("Mark active"), permissions=["change"])
    def mark_active(self, request, queryset):
        self._move_all(request, queryset, Ticket.Status.ACTIVE, _("Marked active:"))

    @admin.action(description=_("Close"), permissions=["change"])
    def close_tickets(self, request, queryset):
        self._move_all(
            request, queryset, Ticket.Status.CLOSED, pgettext_lazy("done to tickets", "Closed")
        )

    @admin.action(description=_("Reopen"), permissions=["change"])
    def reopen_tickets(self, request, queryset):
        self._move_all(request, queryset, Ticket.Status.OPEN, _("Reopened"))

    @admin.action(description=_("Set priority…"), permissions=["change"])
    def set_priority(self, request, queryset):
        def apply(data: dict) -> None:
            priority = data["priority"]
            self._bulk(
                request,
                queryset,
                _("Set the priority to %(priority)s on")
                % {"priority": str(Ticket.Priority(priority).label).lower()},
                lambda t: ticket_set_priority(ticket=t, priority=priority, by=request.user),
            )

        return self._with_choice(
            request, queryset, PriorityActionForm, "set_priority", _("Set the priority"), apply
        )

    @admin.action(description=_("Add a tag…"), permissions=["change"])
    def add_tag(self, request, queryset):
        def apply(data: dict) -> None:
            name = data["tag"]
            self._bulk(
                request,
                queryset,
                _("Tagged %(name)s:") % {"name": name},
                lambda t: ticket_add_tag(ticket=t, name=name, by=request.user),
            )

        return self._with_choice(request, queryset, TagActionForm, "add_tag", _("Add a tag"), apply)

    @admin.action(description=_("Set category…"), permissions=["change"])
    def set_category(self, request, queryset):
        def apply(data: dict) -> None:
            category = data["category"]
            verb = (
                _("Put in %(name)s:") % {"name": category.name}
                if category
                else _("Took the category off")
            )
            self._bulk(
                request,
                queryset,
                verb,
                lambda t: ticket_set_category(ticket=t, category=category, by=request.user),
            )

        return self._with_choice(
            request, queryset, CategoryActionForm, "set_category", _("Set the category"), apply
        )

    def _with_choice(self, request, queryset, form_class, action: str, title: str, apply):
        """An action that needs a choice: its page first, then `apply` with the choice."""
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            apply(form.cleaned_data)
            return None
        return self._action_page(request, queryset, form, action, title)

    def _action_page(self, request, queryset, form, action: str, title: str) -> HttpResponse:
        """The intermediate page of an action that needs a choice."""
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "tickets": queryset.select_related("reporter").order_by("pk"),
            "form": form,
            "action": action,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "changelist_url": reverse("admin:tickets_ticket_changelist"),
        }
        return TemplateResponse(request, "admin/tickets/ticket/action_choice.html", context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_superuser:
            actions.pop("delete_selected", None)
        return actions


class AssignActionForm(forms.Form):
    agent = forms.ModelChoiceField(
        queryset=User.objects.staff().order_by("username"), label=_("Assign to")
    )


class PriorityActionForm(forms.Form):
    priority = forms.ChoiceField(choices=Ticket.Priority.choices)


class TagActionForm(forms.Form):
    tag = forms.CharField(label=_("Tag"), max_length=Tag.MAX_LENGTH)

    def clean_tag(self) -> str:
        names = parse_tags(self.cleaned_data["tag"])
        if len(names) != 1:
            raise ValidationError(_("Give one tag (no commas)."))
        return names[0]


class CategoryActionForm(forms.Form):
    category = forms.ModelChoiceField(
        queryset=Category.objects.filter(active=True),
        required=False,
        empty_label=_("No category"),
        label=_("Category"),
    )


@admin.register(Category)
class CategoryAdmin(AdminInputMixin, admin.ModelAdmin):
    """Categories are retired (not active) rather than deleted once tickets use them."""

    list_display = ["name", "active", "default_assignee", "open_tickets"]
    list_filter = ["active"]
    search_fields = ["name"]
    autocomplete_fields = ["default_assignee"]
    fields = ["name", "active", "default_assignee"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("default_assignee")
            .annotate(
                open_count=Count(
                    "tickets",
                    filter=Q(tickets__status__in=[Ticket.Status.OPEN, Ticket.Status.ACTIVE]),
                )
            )
        )

    @admin.display(description=_("open tickets"), ordering="open_count")
    def open_tickets(self, category: Category) -> int:
        return category.open_count

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.autocomplete_fields:
            kwargs["widget"] = IdAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(TicketEvent)
class TicketEventAdmin(AdminInputMixin, CappedCountAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    """The audit trail is read-only."""

    list_display = ["id", "ticket", "kind", "from_value", "to_value", "actor", "created_at"]
    list_filter = ["kind", "created_at"]
    list_select_related = ["ticket", "actor"]
    raw_id_fields = ["ticket", "actor"]
    show_full_result_count = False


def _open_ticket_count(field: str) -> Coalesce:
    """Open (not closed) tickets per user through `field`, as a subquery: one query per page."""
    counts = (
        Ticket.objects.not_closed()
        .filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


class UserWithTicketsAdmin(UserAdmin):
    """The people list with each person's open tickets, reported and assigned. Added here, not in
    accounts: tickets know about users, users know nothing of tickets."""

    list_display = [*UserAdmin.list_display, "open_reported", "open_assigned"]
    actions = ["anonymise"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                open_reported_count=_open_ticket_count("reporter"),
                open_assigned_count=_open_ticket_count("assignee"),
            )
        )

    def has_anonymise_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    @admin.action(
        description=_("Anonymise the selected customers (at their request)"),
        permissions=["anonymise"],
    )
    def anonymise(self, request, queryset) -> None:
        """Account deletion on request: customer_anonymise for each (staff are refused)."""
        done, refused = 0, []
        for user in queryset.order_by("pk"):
            try:
                done += customer_anonymise(user=user, by=request.user)
            except PermissionDenied as exc:
                refused.append(str(exc))
        if done:
            self.message_user(
                request,
                ngettext("Anonymised %(count)d customer.", "Anonymised %(count)d customers.", done)
                % {"count": done},
                messages.SUCCESS,
            )
        for reason in refused:
            self.message_user(request, reason, messages.ERROR)

    @admin.display(description=_("open tickets reported"), ordering="open_reported_count")
    def open_reported(self, obj) -> int:
        return obj.open_reported_count

    @admin.display(description=_("open tickets assigned"), ordering="open_assigned_count")
    def open_assigned(self, obj) -> int:
        return obj.open_assigned_count


admin.site.unregister(User)
admin.site.register(User, UserWithTicketsAdmin)
