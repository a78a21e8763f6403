import unicodedata

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from .models import User
from .ratelimits import may_email
from .validators import time_zone_names
from .verification import queue_and_send


class RegistrationForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        help_text=_("Letters, digits and . + - _ only."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("The two passwords do not match."))
        return cleaned


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("Username or email"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "notify_by_email", "notify_replies", "notify_status"]
        help_texts = {
            # The switch for every mail; the two below choose among them.
            "notify_by_email": _(
                "Unticked, we send you no email at all (the link at the foot of every email "
                "unticks it)."
            ),
        }

    def clean(self):
        cleaned = super().clean()
        # A browser always sends the name boxes, empty or not. Without them this is not the
        # profile form (an empty or garbled POST), and saving it would blank the names and turn
        # email off (an unticked box is simply missing).
        if not any(name in self.data for name in ("first_name", "last_name")):
            raise forms.ValidationError(_("Nothing was saved: the form arrived empty. Try again."))
        return cleaned


def time_zone_choices() -> list[tuple[str, str]]:
    """Blank (the site's zone) first, then every IANA name, sorted: one select, no typing."""
    site = _("The site's time zone (%(zone)s)") % {"zone": settings.TIME_ZONE}
    return [("", site), *((name, name) for name in sorted(time_zone_names()))]


class LocaleForm(forms.ModelForm):
    """The profile page's language and time zone (their own small form and POST target)."""

    class Meta:
        model = User
        fields = ["language", "time_zone"]
        widgets = {
            "language": forms.Select(attrs={"class": "form-select"}),
            "time_zone": forms.Select(attrs={"class": "form-select"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [
            ("", _("The browser's language")),
            *((code, name) for code, name in settings.LANGUAGES),
        ]
        self.fields["time_zone"].widget.choices = time_zone_choices()

    def clean(self):
        cleaned = super().clean()
        # Both boxes always come from the page; an empty POST is not this form (and saving it
        # would quietly reset both to the defaults).
        if not all(name in self.data for name in ("language", "time_zone")):
            raise forms.ValidationError(_("Nothing was saved: the form arrived empty. Try again."))
        return cleaned


class EmailChangeForm(forms.Form):
    """The profile page's "change my email address": a link goes to the new one."""

    email = forms.EmailField(
        label=_("New email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class SendLinkAgainForm(forms.Form):
    email = forms.EmailField(
        label=_("Your email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's, with the headers every email of the help desk carries (Auto-Submitted), and at
    most ACCOUNT_EMAILS_PER_ADDRESS account emails an hour to one address (the page answers the
    same either way). Through the outbox, as every email (accounts.verification.queue_and_send):
    a worker sends it at once after the commit, and again later if the mail server is down.

    Unlike Django's, it also answers accounts without a usable password: here those are
    customers an agent opened a ticket for (and imported accounts), and this is how they choose
    one. Django leaves them out for sites whose users log in elsewhere; nobody does here."""

    def get_users(self, email):
        wanted = _folded(email)
        return (
            user
            for user in User._default_manager.filter(email__iexact=email, is_active=True)
            if _folded(user.email) == wanted
        )

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        if not may_email(to_email):
            return
        subject = " ".join(render_to_string(subject_template_name, context).split())
        body = render_to_string(email_template_name, context)
        html = ""
        if html_email_template_name is not None:
            html = render_to_string(html_email_template_name, context)
        # Through the outbox: with the mail server down it is sent once it is back. The page
        # says the same whether or not the address has an account (as Django's).
        queue_and_send(
            to=to_email, subject=subject, text=body, html=html, what="a password reset email"
        )


def _folded(text: str) -> str:
    # As Django compares the address asked for with the account's (no look-alike matches).
    return unicodedata.normalize("NFKC", text).casefold()


class ApiTokenForm(forms.Form):
    """A new personal API token: a name to tell it apart, and how long it lasts."""

    EXPIRY_CHOICES = [
        ("", _("Never")),
        ("30", _("In 30 days")),
        ("90", _("In 90 days")),
        ("365", _("In a year")),
    ]

    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("What it is for, e.g. “CRM sync” (shown in your list only)."),
    )
    expires_in = forms.TypedChoiceField(
        choices=EXPIRY_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        label=_("Expires"),
    )


class RevokeApiTokenForm(forms.Form):
    revoke = forms.ModelChoiceField(queryset=None, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # One's own tokens only: any other id is "not one of your tokens".
        self.fields["revoke"].queryset = user.api_tokens.filter(revoked_at__isnull=True)
        self.fields["revoke"].error_messages["invalid_choice"] = _(
            "That is not one of your tokens, or it is revoked already."
        )
