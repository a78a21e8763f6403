from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


def find_user_by_login(identifier: str):
    """The account a login name means: a username, or else an email, either in any case.

    Usernames cannot contain "@", so a username never collides with someone's email address.
    """
    identifier = str(identifier).strip()
    if not identifier:
        return None
    field = "email__iexact" if "@" in identifier else "username__iexact"
    return get_user_model()._default_manager.filter(**{field: identifier}).first()


class UsernameOrEmailBackend(ModelBackend):
    """Log in with the username or the email address, either compared case-insensitively."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if not username or password is None:
            return None
        user_model = get_user_model()
        user = find_user_by_login(username)
        if user is None:
            # Run the hasher once anyway, so a missing user takes as long as a wrong password.
            user_model().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


def axes_username(request: HttpRequest, credentials: dict | None = None) -> str:
    """The name django-axes counts failures under: the account's username, case-folded.

    People log in with the username or the email address; both are counted under the username,
    so switching to the other one neither starts a fresh count nor gets round a lock-out.
    What was typed is used, trimmed, when it matches no account.
    """
    value = ""
    if credentials:
        value = credentials.get("username") or ""
    if not value and request is not None:
        value = request.POST.get("username", "")
    user = find_user_by_login(value)
    return (user.username if user is not None else str(value).strip()).casefold()
