"""What every email to a person needs from the accounts app: the headers that mark it as sent by
the help desk itself, and the token of the one-click unsubscribe link (RFC 8058) that turns
that person's notifications off."""

from __future__ import annotations

from django.core import signing

from .models import User

# On everything the help desk sends: it is automatic (RFC 3834), so auto-responders and
# vacation replies do not answer it, and Exchange is asked not to either.
AUTOMATIC_HEADERS = {
    "Auto-Submitted": "auto-generated",
    "X-Auto-Response-Suppress": "All",
}

UNSUBSCRIBE_SALT = "accounts.unsubscribe"


def unsubscribe_token(user: User) -> str:
    """A token that names `user` and that only this site can make (signed with SECRET_KEY): the
    unsubscribe link is the credential, whoever follows it. It does not expire."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(str(user.pk))


def user_for_unsubscribe_token(token: str) -> User | None:
    """The user an unsubscribe token names, or None when it is not one of ours."""
    try:
        value = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token or "")
    except signing.BadSignature:
        return None
    if not (value.isascii() and value.isdigit()):
        return None
    return User.objects.filter(pk=int(value)).first()
