from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


def find_user_by_login(identifier: str):
    """The account a login name means: a username, or else an email, either in any case.

    Usernames cannot contain "@", so a username never collides with someone's email address.
    """
    identifier = str(identifier).strip()
    # No username or email holds a NUL byte; PostgreSQL cannot even compare one (a DataError),
    # and SQLite compares only up to it ("customer\x00x" would find "customer").
    if not identifier or "\x00" in identifier:
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
    if user is not None:
        return user.username.casefold()
    # Counted under what was typed; a NUL byte (which PostgreSQL cannot store) as U+FFFD, which
    # no username holds either.
    return str(value).strip().replace("\x00", "\ufffd").casefold()
