"""Writes to accounts that are not the registration page's: making agents, turning email off."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from datetime import timedelta

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import verification
from .backends import find_user_by_login
from .models import AGENTS_GROUP, ApiToken, User

logger = logging.getLogger(__name__)

# The longest username made from an address, leaving room for a "-12" that makes it unique.
_MADE_USERNAME_LENGTH = 140


def agent_create_or_promote(
    *, username: str, email: str, password: str | None = None
) -> tuple[User, bool]:
    """Make `username` an agent: staff, and a member of the Agents group.

    A new user is created with `email` and `password` (required, checked by the password
    validators), after the same checks registration makes (valid and free username and email).
    An existing user (username compared case-insensitively) is promoted; their email must be
    the one given, so that a mistyped username does not promote someone else, and their
    password is changed only when one is given. Returns the user and whether it was created.
    Raises ValidationError with a readable message per field.
    """
    username = (username or "").strip()
    email = User.objects.normalize_email((email or "").strip())
    agents = Group.objects.get(name=AGENTS_GROUP)
    with transaction.atomic():
        # No username holds a NUL byte and PostgreSQL cannot compare one: such a name is new,
        # and registration's checks below refuse it.
        same_name = User.objects.select_for_update().filter(username__iexact=username)
        user = None if "\x00" in username else same_name.first()
        if user is None:
            if not password:
                raise ValidationError({"password": [_("A new agent needs a password.")]})
            # Registration's checks and messages: username, email, both free, password strength.
            user = User.objects.register(username=username, password=password, email=email)
            created = True
        else:
            try:
                validate_email(email)
            except ValidationError as exc:
                raise ValidationError({"email": exc.messages}) from None
            if user.email.lower() != email.lower():
                raise ValidationError(
                    {
                        "email": [
                            _(
                                "%(username)s already exists with the email address "
                                "%(email)s, not %(given)s. Check the username, or change the "
                                "email address in the admin first."
                            )
                            % {"username": user.username, "email": user.email, "given": email}
                        ]
                    }
                )
            if password is not None:
                try:
                    validate_password(password, user)
                except ValidationError as exc:
                    raise ValidationError({"password": exc.messages}) from None
                user.set_password(password)
            # Whoever runs the command vouches for the address (they typed it, and it matched).
            if user.email_verified_at is None:
                user.email_verified_at = timezone.now()
            created = False
        user.is_staff = True
        user.save()
        user.groups.add(agents)
    return user, created


def user_unsubscribe(*, user: User) -> None:
    """Turn off every notification email to `user` (the one-click unsubscribe link). Safe to
    repeat; one UPDATE, so a profile form saved at the same time cannot undo it unseen."""
    User.objects.filter(pk=user.pk).update(notify_by_email=False)
    user.notify_by_email = False


def user_mark_undeliverable(*, email: str, reason: str) -> int:
    """A mail to `email` bounced: the accounts with that address (any case) get no more mail
    until staff clear it in the admin. Returns how many were marked (0: no account has it; an
    address marked already keeps its first time)."""
    return User.objects.filter(email__iexact=email, email_undeliverable_at__isnull=True).update(
        email_undeliverable_at=timezone.now(), email_undeliverable_reason=reason[:500]
    )


def customer_find_or_create(*, identifier: str) -> tuple[User, bool]:
    """The customer a member of staff means by `identifier`: the account with that username or
    email address (either in any case), or, for an address no account has, a new account made
    for it. Returns the user and whether it was made.

    A new account has a username taken from the address (unique: "alice", "alice-2", ...), no
    usable password and an unconfirmed address: its owner logs in after choosing a password with
    "forgot password", whose link confirms the address. Raises ValidationError with a readable
    message for a username no account has, an address that is not one, a staff member or a
    deactivated account (a ticket is opened for a customer).
    """
    identifier = (identifier or "").strip()
    if not identifier:
        raise ValidationError(_("Enter the customer's username or email address."), code="required")
    user = find_user_by_login(identifier)
    created = False
    if user is None:
        if "@" not in identifier:
            raise ValidationError(
                _(
                    "No customer has the username “%(username)s”. Type their email address "
                    "instead to make them an account."
                )
                % {"username": identifier[:150]},
                code="unknown_customer",
            )
        user = _customer_create(email=identifier)
        created = user is not None
        # None: the address was taken meanwhile, by whoever made it at the same moment.
        user = user or find_user_by_login(identifier)
    if user.is_staff:
        raise ValidationError(
            _(
                "%(username)s is staff: a ticket is opened for a customer. Leave the customer "
                "empty to report it yourself."
            )
            % {"username": user.username},
            code="staff_customer",
        )
    if not user.is_active:
        raise ValidationError(
            _("%(username)s's account is deactivated; an administrator can reactivate it.")
            % {"username": user.username},
            code="inactive_customer",
        )
    return user, created


def _customer_create(*, email: str) -> User | None:
    """A new customer account for `email` (checked), or None when the address has one already
    (made at the same moment by another request)."""
    email = User.objects.normalize_email(email)
    try:
        validate_email(email)
        User._meta.get_field("email").run_validators(email)
    except ValidationError:
        raise ValidationError(
            _("“%(email)s” is not an email address.") % {"email": email[:254]},
            code="invalid_email",
        ) from None
    base = _username_from(email)
    # One query for the names already taken around it, then the first free one.
    taken = {
        name.casefold()
        for name in User.objects.filter(username__istartswith=base).values_list(
            "username", flat=True
        )
    }
    candidates = [base, *(f"{base}-{n}" for n in range(2, len(taken) + 3))]
    for username in (name for name in candidates if name.casefold() not in taken):
        user = User(username=username, email=email, email_verified_at=None)
        user.set_unusable_password()
        user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            if User.objects.filter(email__iexact=email).exists():
                return None
            continue  # the name was taken meanwhile: the next one
        return user
    raise ValidationError(_("Could not make a username for this address; try again."))


def _username_from(email: str) -> str:
    """The start of the address, as a username may be written ("j.doe+help"), or "customer"."""
    local = User.normalize_username(email.rpartition("@")[0])
    kept = re.sub(r"[^\w.+-]", "", local)
    return kept[:_MADE_USERNAME_LENGTH].strip(".-+") or "customer"


# A token as sent: "hd_" + prefix + "_" + secret. The prefix finds the row; the SHA-256 of the
# whole token is compared with the one stored.
API_TOKEN_PREFIX_BYTES = 5  # 10 hex digits (no "_" in them: the secret may have some)
API_TOKEN_SECRET_BYTES = 32
API_TOKENS_PER_USER = 20
# last_used_at is written at most this often per token, not on every request.
API_TOKEN_USED_EVERY = timedelta(minutes=1)


def api_token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, user: User, name: str, expires_at=None) -> tuple[ApiToken, str]:
    """Make a named API token for `user`: returns the row and the token itself, which is not
    stored anywhere (only its hash) and must be shown to the user now, once."""
    if not (user.is_authenticated and user.is_active):
        raise PermissionDenied(_("Only active users can make API tokens."))
    name = (name or "").strip()
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": [_("The expiry must be in the future.")]})
    if user.api_tokens.filter(revoked_at__isnull=True).count() >= API_TOKENS_PER_USER:
        raise ValidationError(
            _("You have %(count)d tokens already: revoke one you no longer use first.")
            % {"count": API_TOKENS_PER_USER}
        )
    prefix = secrets.token_hex(API_TOKEN_PREFIX_BYTES)
    raw = f"hd_{prefix}_{secrets.token_urlsafe(API_TOKEN_SECRET_BYTES)}"
    token = ApiToken(
        user=user, name=name, prefix=prefix, key_hash=api_token_hash(raw), expires_at=expires_at
    )
    token.full_clean(exclude=["user"])
    token.save()
    return token, raw


def api_token_revoke(*, token: ApiToken, by: User) -> None:
    """Revoke a token (its owner, or a superuser in the admin): it stops working at once."""
    if by.pk != token.user_id and not by.is_superuser:
        raise PermissionDenied(_("You may revoke your own tokens only."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def api_token_user(raw: str) -> tuple[User, ApiToken] | None:
    """The user a token sent to the API acts as, and its row; None for anything that is not a
    usable token (malformed, unknown prefix, wrong secret, revoked, expired, inactive user).
    Records when it was last used (at most once a minute)."""
    parts = (raw or "").split("_")
    if len(parts) < 3 or parts[0] != "hd" or not parts[1] or len(raw) > 200:
        return None
    prefix = parts[1]
    token = ApiToken.objects.usable().select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.key_hash, api_token_hash(raw)):
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= API_TOKEN_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token.user, token


def email_change_request(*, user: User, new_email: str) -> None:
    """`user` asks to use `new_email`: a link goes to it (accounts.verification), and nothing
    changes until it is followed. An address another account has gets no link and the same
    answer, so the page tells nobody which addresses have accounts. Raises ValidationError for
    the address the account has already."""
    new_email = User.objects.normalize_email((new_email or "").strip())
    if new_email.lower() == user.email.lower():
        raise ValidationError({"email": [_("That is your address already.")]}, code="same_email")
    if User.objects.filter(email__iexact=new_email).exclude(pk=user.pk).exists():
        logger.info("email change to a taken address asked by user=%s", user.pk)
        return
    verification.send_email_change_link(user, new_email)


def email_change_confirm(*, user: User, new_email: str) -> None:
    """The link sent to `new_email` was followed: it is the account's address now, confirmed.
    Raises ValidationError when another account took it meanwhile."""
    try:
        with transaction.atomic():
            User.objects.filter(pk=user.pk).update(
                email=new_email, email_verified_at=timezone.now()
            )
    except IntegrityError:
        raise ValidationError(
            _("This address belongs to another account now."), code="email_taken"
        ) from None
    user.refresh_from_db(fields=["email", "email_verified_at"])
    logger.info("email address changed for user=%s", user.pk)
