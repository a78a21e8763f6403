"""Writes to accounts that are not the registration page's: making agents, turning email off."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from .models import AGENTS_GROUP, User


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
                raise ValidationError({"password": ["A new agent needs a password."]})
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
                            f"{user.username} already exists with the email address "
                            f"{user.email}, not {email}. Check the username, or change the "
                            "email address in the admin first."
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
