from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from .forms import LoginForm, PasswordResetForm, ProfileForm, RegistrationForm
from .mail import user_for_unsubscribe_token
from .models import User
from .services import user_unsubscribe

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
                User.login(
                    request,
                    # As stored: registration normalises the name ("ﬁx" is "fix").
                    username=user.username,
                    password=form.cleaned_data["password1"],
                )
                messages.success(request, "Welcome! Your account is ready. Tell us what you need.")
                return redirect("tickets:create")
        status = 400
    return render(request, "accounts/register.html", {"form": form}, status=status)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@form_page
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return HttpResponseRedirect(_next_url(request))
    form = LoginForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                user = User.login(
                    request,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"Signed in as {user.username}.")
                return HttpResponseRedirect(_next_url(request))
        status = 400
    context = {"form": form, "next": request.GET.get("next", "")}
    return render(request, "accounts/login.html", context, status=status)


@login_required
@form_page
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=request.user)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, "Your profile was saved.")
            return redirect("accounts:profile")
        return render(request, "accounts/profile.html", {"form": form}, status=400)
    return render(request, "accounts/profile.html", {"form": form})


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
    form_class = PasswordResetForm


class PasswordResetConfirmView(_FormPage, auth_views.PasswordResetConfirmView):
    pass
