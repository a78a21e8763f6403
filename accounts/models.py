from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import IntegrityError, models, transaction
from django.db.models.functions import Lower
from django.http import HttpRequest

AGENTS_GROUP = "Agents"


class UserQuerySet(models.QuerySet):
    def staff(self) -> UserQuerySet:
        return self.filter(is_staff=True, is_active=True)


class UserManager(DjangoUserManager.from_queryset(UserQuerySet)):
    def get_by_natural_key(self, username: str) -> User:
        # Usernames are unique case-insensitively, so "Alice" logs in as "alice".
        return self.get(username__iexact=username)

    def register(self, username: str, password: str, email: str) -> User:
        """Create a customer account after the same checks the registration page makes.

        Raises ValidationError with a readable message per field: a taken username or email
        (compared case-insensitively), an invalid email, or a password that fails the validators.
        """
        # Normalised (NFKC) before the checks, as full_clean() would store it: "ﬁx" is "fix".
        username = self.model.normalize_username((username or "").strip())
        email = self.normalize_email((email or "").strip())
        user = self.model(username=username, email=email)
        errors: dict[str, list[str]] = {}
        try:
            # The case-insensitive unique constraints are checked below, field by field, with a
            # readable message; Django's own check would add "Constraint ... is violated."
            user.full_clean(exclude=["password"], validate_constraints=False)
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if "username" not in errors and self.filter(username__iexact=username).exists():
            errors["username"] = ["A user with that username already exists."]
        if "email" not in errors and self.filter(email__iexact=email).exists():
            errors["email"] = ["A user with that email address already exists."]
        try:
            validate_password(password, user)
        except ValidationError as exc:
            errors["password"] = list(exc.messages)
        if errors:
            raise ValidationError(errors)
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            # Two registrations raced for the same name; the database constraint decided.
            raise ValidationError(
                {"username": ["A user with that username or email address already exists."]}
            ) from None
        return user


class UsernameValidator(RegexValidator):
    # Django's default also allows "@"; without it a username can never be mistaken for
    # someone else's email address at login.
    regex = r"^[\w.+-]+\Z"
    message = "Enter a valid username: letters, digits and . + - _ only (no spaces or @)."
    flags = 0


class User(AbstractUser):
    """A person who uses the help desk: a customer, an agent (staff) or an admin (superuser)."""

    username = models.CharField(
        "username",
        max_length=150,
        unique=True,
        help_text="150 characters or fewer: letters, digits and . + - _ only.",
        validators=[UsernameValidator()],
        error_messages={"unique": "A user with that username already exists."},
    )

    email = models.EmailField("email address", unique=True)
    notify_by_email = models.BooleanField(
        "email me about my tickets",
        default=True,
        help_text="Send me an email when one of my tickets gets a reply or changes status.",
    )

    objects = UserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]
        indexes = [
            # The report's registrations per day: a period's new people, not every person.
            models.Index(fields=["date_joined"], name="accounts_user_joined"),
            # The staff (assignee choices, the admin's agent filter, the workload): a handful
            # among tens of thousands of customers, found without reading them all.
            models.Index(
                fields=["username"],
                condition=models.Q(is_staff=True, is_active=True),
                name="accounts_user_staff",
            ),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def role(self) -> str:
        if self.is_superuser:
            return "admin"
        if self.is_staff:
            return "agent"
        return "customer"

    @classmethod
    def register(cls, username: str, password: str, email: str) -> User:
        """The original design's entry point: see UserManager.register."""
        return cls.objects.register(username=username, password=password, email=email)

    @classmethod
    def login(cls, request: HttpRequest, username: str, password: str) -> User:
        """Check the credentials (username or email) and start a session.

        Raises ValidationError with a message for the page; django-axes may refuse the attempt
        before the password is checked, and its middleware then answers with the lock-out page.
        """
        user = authenticate(request, username=username, password=password)
        if user is None:
            raise ValidationError(
                "Please enter a correct username or email and password. "
                "Both fields may be case-sensitive for the password.",
                code="invalid_login",
            )
        auth_login(request, user)
        return user


class LoginCheck(models.Model):
    """How many logins for one username from one address are having their password checked
    right now. With the failures django-axes has counted, it is what the lock-out compares with
    its limit, so that logins sent at once cannot all pass before any has failed
    (accounts/lockout.py)."""

    # sha256 of the name and the address axes count under.
    key = models.CharField(max_length=64, unique=True)
    in_progress = models.PositiveIntegerField(default=0)
    # When a login last took its place: a count older than lockout.STALE_AFTER was left by a
    # server stopped in the middle of a login, and is forgotten.
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.in_progress} login(s) being checked"
