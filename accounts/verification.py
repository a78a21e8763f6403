"""Confirming the email address of an account someone made for themselves.

The register page makes the account and emails its address a link; until the link is followed
(and its button pressed: a mail scanner that opens links confirms nothing), the account cannot
log in (REGISTRATION_EMAIL_VERIFICATION=mandatory, the default) or can (=optional). Accounts
made by commands or by an import are confirmed when they are made. One an agent makes for a
customer (a ticket opened for an address without an account) is not: it has no password either,
and choosing one through "forgot password" confirms it (the reset link went to the address).

The link carries a signed token (django.core.signing, with a timestamp): the account's id and a
digest of its address, so it stops working when the address changes, and after
EMAIL_CONFIRMATION_DAYS. Nothing is stored for it.

The emails go through the outbox (accounts/outbox.py), as every email here does: written in the
transaction, sent once it commits, tried again while the mail server is down; at most
ACCOUNT_EMAILS_PER_ADDRESS an hour to one address (accounts/ratelimits.py). Links are built from
SITE_URL, like the ticket emails', never from the request's Host header.
"""

from __future__ import annotations

import enum
import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .ratelimits import may_email

logger = logging.getLogger(__name__)

SALT = "accounts.confirm-email"


def confirmation_required() -> bool:
    """Whether an account must confirm its address before it can log in."""
    return settings.REGISTRATION_EMAIL_VERIFICATION == "mandatory"


def _address_digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def confirmation_token(user) -> str:
    return signing.dumps({"u": user.pk, "e": _address_digest(user.email)}, salt=SALT)


class Link(enum.Enum):
    VALID = "valid"
    CONFIRMED_ALREADY = "confirmed already"
    EXPIRED = "expired"
    INVALID = "invalid"


def read_confirmation_token(token: str):
    """(what the link is, the account it confirms or None)."""
    max_age = timedelta(days=settings.EMAIL_CONFIRMATION_DAYS)
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired:
        return Link.EXPIRED, None
    except signing.BadSignature:
        return Link.INVALID, None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return Link.INVALID, None
    user = get_user_model()._default_manager.filter(pk=data["u"], is_active=True).first()
    if user is None or data.get("e") != _address_digest(user.email):
        return Link.INVALID, None
    if user.email_verified_at is not None:
        return Link.CONFIRMED_ALREADY, user
    return Link.VALID, user


def confirm_email(user) -> None:
    """The account's address is its owner's (they followed the link, or chose a new password
    from a reset email): it may log in. Idempotent."""
    if user.email_verified_at is None:
        now = timezone.now()
        type(user)._default_manager.filter(pk=user.pk, email_verified_at__isnull=True).update(
            email_verified_at=now
        )
        user.email_verified_at = now
        logger.info("email address confirmed for user=%s", user.pk)


def _link(name: str, *args) -> str:
    return f"{settings.SITE_URL}{reverse(name, args=args)}"


def _send_after_commit(template: str, address: str, context: dict) -> None:
    """Write the email to the outbox in the current transaction, to be sent once it commits
    (and tried again while the mail server is down)."""
    if not may_email(address):
        return
    try:
        subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
        body = render_to_string(f"emails/{template}.txt", context)
    except Exception:
        logger.exception("Could not write the %s email", template)
        return
    queue_and_send(to=address, subject=subject, text=body, what=f"the {template} email")


def queue_and_send(*, to: str, subject: str, text: str, html: str = "", what: str) -> None:
    """An account email goes through the outbox, as every email does: a row written in the
    current transaction, sent by a worker once it commits, and tried again while the mail
    server is down (accounts/outbox.py). The account is saved either way: a mail problem must
    not turn into an error page."""
    # The outbox imports accounts.mail, which imports the models, which import this module.
    from .outbox import Mail, queue
    from .tasks import send_after_commit

    try:
        with transaction.atomic():
            ids = queue([Mail(to=to, subject=subject, text=text, html=html)])
    except Exception:
        logger.exception("Could not queue %s", what)
        return
    send_after_commit(ids)


def send_confirmation_link(user) -> None:
    """Email the account's address a link that confirms it."""
    _send_after_commit(
        "confirm_email",
        user.email,
        {
            "username": user.username,
            "link": _link("accounts:verify_email", confirmation_token(user)),
            "days": settings.EMAIL_CONFIRMATION_DAYS,
            "site_url": settings.SITE_URL,
        },
    )


def send_already_registered(user) -> None:
    """Someone registered with the address of an account that exists: its owner hears of it
    (and, if they never confirmed it, gets a new link), and the page says nothing more than it
    says for a new account."""
    confirmed = user.email_verified_at is not None
    _send_after_commit(
        "already_registered",
        user.email,
        {
            "username": user.username,
            "login_url": _link("accounts:login"),
            "reset_url": _link("accounts:password_reset"),
            "link": None if confirmed else _link("accounts:verify_email", confirmation_token(user)),
            "days": settings.EMAIL_CONFIRMATION_DAYS,
            "site_url": settings.SITE_URL,
        },
    )


def send_link_again(email: str) -> None:
    """A new link for the account with this address, if it waits to be confirmed. Says nothing
    either way: the page answers the same for any address."""
    user = (
        get_user_model()
        ._default_manager.filter(
            email__iexact=email.strip(), is_active=True, email_verified_at__isnull=True
        )
        .first()
    )
    if user is not None:
        send_confirmation_link(user)


# Changing the address: the profile page asks, a link goes to the new address, and the address
# changes only when that link's button is pressed; until then the old one keeps working. The
# token is signed like the confirmation's (nothing stored): the account, the new address, and
# a digest of the current one, so a link stops working once the address changed any other way.
CHANGE_SALT = "accounts.change-email"


def email_change_token(user, new_email: str) -> str:
    return signing.dumps(
        {"u": user.pk, "new": new_email, "e": _address_digest(user.email)}, salt=CHANGE_SALT
    )


def read_email_change_token(token: str):
    """(what the link is, the account, the new address): VALID with both, or EXPIRED or
    INVALID with None for each (an address taken meanwhile is INVALID too)."""
    max_age = timedelta(days=settings.EMAIL_CONFIRMATION_DAYS)
    try:
        data = signing.loads(token, salt=CHANGE_SALT, max_age=max_age)
    except signing.SignatureExpired:
        return Link.EXPIRED, None, None
    except signing.BadSignature:
        return Link.INVALID, None, None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return Link.INVALID, None, None
    if not isinstance(data.get("new"), str):
        return Link.INVALID, None, None
    model = get_user_model()
    user = model._default_manager.filter(pk=data["u"], is_active=True).first()
    if user is None or data.get("e") != _address_digest(user.email):
        return Link.INVALID, None, None
    taken = model._default_manager.filter(email__iexact=data["new"]).exclude(pk=user.pk)
    if taken.exists():
        return Link.INVALID, None, None
    return Link.VALID, user, data["new"]


def send_email_change_link(user, new_email: str) -> None:
    """Email `new_email` the link that makes it the account's address."""
    _send_after_commit(
        "change_email",
        new_email,
        {
            "username": user.username,
            "link": _link("accounts:change_email_confirm", email_change_token(user, new_email)),
            "days": settings.EMAIL_CONFIRMATION_DAYS,
            "site_url": settings.SITE_URL,
        },
    )
