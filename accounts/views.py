from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from . import verification
from .forms import (
    ApiTokenForm,
    EmailChangeForm,
    LocaleForm,
    LoginForm,
    PasswordResetForm,
    ProfileForm,
    RegistrationForm,
    RevokeApiTokenForm,
    SendLinkAgainForm,
)
from .mail import user_for_unsubscribe_token
from .models import EmailNotConfirmed, User
from .ratelimits import client_may_ask
from .services import (
    api_token_create,
    api_token_revoke,
    email_change_confirm,
    email_change_request,
    user_unsubscribe,
)

# The form pages: a form is shown (GET, HEAD) and sent (POST); any other method is a 405.
form_page = require_http_methods(["GET", "HEAD", "POST"])


def _next_url(request: HttpRequest) -> str:
    """Where to go after logging in: a URL on this site, never a view name (redirect() would
    try ?next=abc as one, and fail with a server error), or the ticket list."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _too_many(request: HttpRequest) -> HttpResponse:
    """The answer to a client over ACCOUNT_REQUESTS_PER_CLIENT (it says nothing of any address)."""
    return render(request, "accounts/too_many_requests.html", status=429)


@sensitive_post_parameters("password1", "password2")
@csrf_protect
@never_cache
@form_page
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("tickets:list")
    form = RegistrationForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            if not client_may_ask(request, "registration"):
                return _too_many(request)
            try:
                user = User.register(
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password1"],
                    email=form.cleaned_data["email"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    target = "password1" if field == "password" else field
                    for error in errors:
                        form.add_error(target if target in form.fields else None, error)
            else:
                if user is None or verification.confirmation_required():
                    # A new account and an address that has one get the same answer.
                    return redirect("accounts:check_email")
                User.login(
                    request,
                    # As stored: registration normalises the name ("ﬁx" is "fix").
                    username=user.username,
                    password=form.cleaned_data["password1"],
                )
                messages.success(
                    request,
                    _(
                        "Welcome! Your account is ready. Tell us what you need. We also emailed "
                        "you a link to confirm your address."
                    ),
                )
                return redirect("tickets:create")
        status = 400
    return render(request, "accounts/register.html", {"form": form}, status=status)


@require_safe
def check_email(request: HttpRequest) -> HttpResponse:
    """Where registering leads, whether the address was new or had an account."""
    context = {
        "form": SendLinkAgainForm(),
        "days": settings.EMAIL_CONFIRMATION_DAYS,
    }
    return render(request, "accounts/check_email.html", context)


@csrf_protect
@never_cache
@form_page
def send_link_again(request: HttpRequest) -> HttpResponse:
    """A new confirmation link for an address; the same answer whatever the address."""
    form = SendLinkAgainForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            if not client_may_ask(request, "confirmation link"):
                return _too_many(request)
            verification.send_link_again(form.cleaned_data["email"])
            messages.info(
                request,
                _(
                    "If an account with that address is waiting to be confirmed, a new link is on "
                    "its way to it."
                ),
            )
            return redirect("accounts:check_email")
        return render(request, "accounts/send_link_again.html", {"form": form}, status=400)
    return render(request, "accounts/send_link_again.html", {"form": form})


@csrf_protect
@never_cache
@form_page
def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the email: a page with a button (GET), which confirms (POST).

    Opening the link changes nothing, so a mail scanner that follows links confirms nothing;
    the button confirms the address and logs its owner in (the link is proof enough: it went
    to their address, as a password-reset link does).
    """
    state, user = verification.read_confirmation_token(token)
    Link = verification.Link
    if request.method == "POST":
        if state is Link.VALID:
            verification.confirm_email(user)
            auth_login(request, user, backend="accounts.backends.UsernameOrEmailBackend")
            messages.success(
                request, _("Your email address is confirmed. Welcome! Tell us what you need.")
            )
            return redirect("tickets:create")
        if state is Link.CONFIRMED_ALREADY:
            messages.info(request, _("Your email address is confirmed already: log in."))
            return redirect("accounts:login")
    context = {
        "state": state.name,
        "username": user.username if user is not None else "",
        "form": SendLinkAgainForm(),
        "days": settings.EMAIL_CONFIRMATION_DAYS,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/verify_email.html", context, status=status)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@form_page
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return HttpResponseRedirect(_next_url(request))
    form = LoginForm(request.POST if request.method == "POST" else None)
    status = 200
    unconfirmed_email = None
    if request.method == "POST":
        if form.is_valid():
            try:
                user = User.login(
                    request,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password"],
                )
            except EmailNotConfirmed as exc:
                # The password was right: the button may send the link to its address.
                form.add_error(None, exc)
                unconfirmed_email = exc.user.email
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request, _("Signed in as %(username)s.") % {"username": user.username}
                )
                return HttpResponseRedirect(_next_url(request))
        status = 400
    context = {
        "form": form,
        "next": request.GET.get("next", ""),
        "unconfirmed_email": unconfirmed_email,
    }
    return render(request, "accounts/login.html", context, status=status)


@login_required
@form_page
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=request.user)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, _("Your profile was saved."))
            return redirect("accounts:profile")
        return _profile_page(request, form, status=400)
    return _profile_page(request, form)


@login_required
@never_cache
@require_POST
def profile_locale(request: HttpRequest) -> HttpResponse:
    """The profile page's language and time zone: the pages and emails this person gets."""
    form = LocaleForm(request.POST, instance=request.user)
    if not form.is_valid():
        request.user.refresh_from_db(fields=["language", "time_zone"])
        return _profile_page(request, locale_form=form, status=400)
    form.instance.save(update_fields=["language", "time_zone"])
    # The confirmation in the language just chosen (blank: the footer's or the browser's).
    translation.activate(form.instance.language or translation.get_language_from_request(request))
    messages.success(request, _("Your language and time zone were saved."))
    return redirect("accounts:profile")


def _profile_page(request: HttpRequest, form=None, *, status: int = 200, **context) -> HttpResponse:
    context = {
        "form": form or ProfileForm(instance=request.user),
        "email_form": context.pop("email_form", None) or EmailChangeForm(),
        "locale_form": context.pop("locale_form", None) or LocaleForm(instance=request.user),
        "token_form": context.pop("token_form", None) or ApiTokenForm(),
        "tokens": request.user.api_tokens.order_by("-created_at", "-pk"),
        **context,
    }
    return render(request, "accounts/profile.html", context, status=status)


@login_required
@never_cache
@require_POST
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The profile page's API tokens: make one (shown once, on the page this answers with: it
    is stored nowhere), or revoke one of your own (`revoke`: its id)."""
    if "revoke" in request.POST:
        revoke_form = RevokeApiTokenForm(request.POST, user=request.user)
        if not revoke_form.is_valid():
            messages.error(request, " ".join(revoke_form.errors["revoke"]))
            return _profile_page(request, status=400)
        token = revoke_form.cleaned_data["revoke"]
        api_token_revoke(token=token, by=request.user)
        messages.success(
            request,
            _("The token “%(name)s” is revoked: it no longer works.") % {"name": token.name},
        )
        return redirect("accounts:profile")
    token_form = ApiTokenForm(request.POST)
    if token_form.is_valid():
        days = token_form.cleaned_data["expires_in"]
        try:
            token, raw = api_token_create(
                user=request.user,
                name=token_form.cleaned_data["name"],
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except ValidationError as exc:
            token_form.add_error(None, exc)
        else:
            return _profile_page(request, new_token=raw, new_token_name=token.name)
    return _profile_page(request, token_form=token_form, status=400)


@login_required
@never_cache
@require_POST
def change_email(request: HttpRequest) -> HttpResponse:
    """The profile page's "change my email address": a link goes to the new address; the
    answer is the same whether or not another account has it."""
    form = EmailChangeForm(request.POST)
    if form.is_valid():
        try:
            email_change_request(user=request.user, new_email=form.cleaned_data["email"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _(
                    "We sent a link to %(address)s. Your address changes when you open it; "
                    "until then, keep using your current one."
                )
                % {"address": form.cleaned_data["email"]},
            )
            return redirect("accounts:profile")
    return _profile_page(request, email_form=form, status=400)


@never_cache
@form_page
def change_email_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the email to the new address: a page with a button (GET: a mail scanner
    that opens the link changes nothing), which changes the address (POST)."""
    state, user, new_email = verification.read_email_change_token(token)
    Link = verification.Link
    if request.method == "POST" and state is Link.VALID:
        try:
            email_change_confirm(user=user, new_email=new_email)
        except ValidationError:
            state = Link.INVALID
        else:
            messages.success(
                request, _("Your email address is now %(address)s.") % {"address": new_email}
            )
            signed_in = request.user.is_authenticated
            return redirect("accounts:profile" if signed_in else "accounts:login")
    context = {
        "state": state.name,
        "new_email": new_email or "",
        "days": settings.EMAIL_CONFIRMATION_DAYS,
    }
    status = 200 if state is Link.VALID else 400
    return render(request, "accounts/change_email.html", context, status=status)


# A mail client's one-click unsubscribe (RFC 8058) is a POST from no page of ours, with no cookie
# and no CSRF token: the signed link is the credential, and all it can do is turn email off.
@csrf_exempt
@never_cache
@form_page
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page asking to confirm (a link checker or a preview that opens it changes
    nothing). POST (the page's button, or the mail client's one-click): email turned off."""
    user = user_for_unsubscribe_token(token)
    if user is None:
        return render(request, "accounts/unsubscribe.html", {"invalid": True}, status=400)
    done = request.method == "POST"
    if done:
        user_unsubscribe(user=user)
    context = {"address": user.email, "done": done, "token": token}
    return render(request, "accounts/unsubscribe.html", context)


class _FormPage:
    """Django's password views, answering as this site's other form pages do: an invalid form
    is a 400 (Django's is a 200), and a method other than GET, HEAD or POST is a 405 (Django's
    form views treat PUT as POST)."""

    http_method_names = ["get", "head", "post"]

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class PasswordChangeView(_FormPage, auth_views.PasswordChangeView):
    pass


class PasswordResetView(_FormPage, auth_views.PasswordResetView):
    """Django's, with the per-client limit (the per-address one is the form's)."""

    form_class = PasswordResetForm

    def form_valid(self, form):
        if not client_may_ask(self.request, "password reset"):
            return _too_many(self.request)
        return super().form_valid(form)


class PasswordResetConfirmView(_FormPage, auth_views.PasswordResetConfirmView):
    def form_valid(self, form):
        # The link came to the account's address: it is theirs, confirmed or not before.
        verification.confirm_email(form.user)
        return super().form_valid(form)
