from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .admin_input import AdminInputMixin
from .models import ApiToken, User
from .services import api_token_revoke


class CaseInsensitiveUniqueMixin:
    """A username or email taken in another case is a field error that says so, not the
    database constraint's name ("Constraint “accounts_user_email_ci_unique” is violated.")."""

    def _unique_iexact(self, field: str, message: str) -> str:
        value = self.cleaned_data.get(field)
        others = User.objects.exclude(pk=self.instance.pk)
        if value and others.filter(**{f"{field}__iexact": value}).exists():
            raise ValidationError(message, code="unique")
        return value

    def clean_username(self) -> str:
        return self._unique_iexact("username", _("A user with that username already exists."))

    def clean_email(self) -> str:
        return self._unique_iexact("email", _("A user with that email address already exists."))


class UserAddForm(CaseInsensitiveUniqueMixin, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User


class UserEditForm(CaseInsensitiveUniqueMixin, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


class SuperuserOnlyMixin:
    """Agents may look (with the view permission); only superusers manage accounts."""

    def has_add_permission(self, request, *args):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


@admin.register(User)
class UserAdmin(AdminInputMixin, SuperuserOnlyMixin, DjangoUserAdmin):
    """People. The tickets app adds each person's open tickets to the list (tickets/admin.py)."""

    form = UserEditForm
    add_form = UserAddForm
    list_display = [
        "username",
        "email",
        "role",
        "is_active",
        "date_joined",
        "last_login",
    ]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups", "date_joined"]
    search_fields = ["username", "email", "first_name", "last_name"]
    readonly_fields = ["anonymised_at"]
    ordering = ["username"]
    show_full_result_count = False
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Notifications"), {"fields": ["notify_by_email", "notify_replies", "notify_status"]}),
        # Empty while a registered account waits for its owner to follow the emailed link; a
        # superuser may confirm the address by hand (or clear it).
        (_("Email address"), {"fields": ["email_verified_at"]}),
        # Set by the "anonymise" action (account deletion on request).
        (_("Anonymised"), {"fields": ["anonymised_at"]}),
        # A bounce sets these (messaging.inbound); clearing them lets mail go to it again.
        (
            _("Undeliverable"),
            {"fields": ["email_undeliverable_at", "email_undeliverable_reason"]},
        ),
    )
    add_fieldsets = (
        (None, {"classes": ["wide"], "fields": ["username", "email", "password1", "password2"]}),
    )

    @admin.display(description=_("role"))
    def role(self, obj: User) -> str:
        return obj.role_label


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(AdminInputMixin, SuperuserOnlyMixin, DjangoGroupAdmin):
    pass


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """The API tokens, never their secrets (only a hash is kept): who has which, when used;
    revoking is the one change (an action), made through the service."""

    list_display = [
        "name",
        "user",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_select_related = ["user"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    fields = ["user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # a token is made by its user, who must see it once

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoked, not deleted: the row says who had access, and when

    def has_revoke_permission(self, request) -> bool:
        return request.user.is_superuser

    @admin.action(description=_("Revoke the selected tokens"), permissions=["revoke"])
    def revoke(self, request, queryset) -> None:
        for token in queryset:
            api_token_revoke(token=token, by=request.user)
        count = len(queryset)
        self.message_user(
            request,
            ngettext("Revoked %(count)d token.", "Revoked %(count)d tokens.", count)
            % {"count": count},
        )
