from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import MinLengthValidator, RegexValidator
from django.db import IntegrityError, models, transaction
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import verification
from .validators import validate_time_zone

AGENTS_GROUP = "Agents"


class UserQuerySet(models.QuerySet):
    def staff(self) -> UserQuerySet:
        return self.filter(is_staff=True, is_active=True)

    def agents(self) -> UserQuerySet:
        """Active members of the Agents group: who the reports count as agents (a superuser
        who is not in the group is not one)."""
        return self.filter(is_active=True, groups__name=AGENTS_GROUP)

    def customers(self) -> UserQuerySet:
        """Active accounts that are not staff: who a ticket can be opened for."""
        return self.filter(is_staff=False, is_active=True)

    def starting_with(self, text: str) -> UserQuerySet:
        """Accounts whose username, email address, first or last name begins with `text`, in
        any case. A prefix, never a substring: a person types the start of what they know."""
        return self.filter(
            models.Q(username__istartswith=text)
            | models.Q(email__istartswith=text)
            | models.Q(first_name__istartswith=text)
            | models.Q(last_name__istartswith=text)
        )


class UserManager(DjangoUserManager.from_queryset(UserQuerySet)):
    def get_by_natural_key(self, username: str) -> User:
        # Usernames are unique case-insensitively, so "Alice" logs in as "alice".
        return self.get(username__iexact=username)

    def checked_new_user(self, username: str, password: str, email: str) -> tuple[User, dict]:
        """An unsaved account with these details, and what is wrong with them, field by field
        ({} when nothing is): an invalid or taken username, an invalid email address, a password
        that fails the validators. Whether the address has an account is not checked: a page
        that says so tells anyone which addresses have one."""
        # Normalised (NFKC) before the checks, as full_clean() would store it: "ﬁx" is "fix".
        username = self.model.normalize_username((username or "").strip())
        email = self.normalize_email((email or "").strip())
        user = self.model(username=username, email=email)
        errors: dict[str, list[str]] = {}
        try:
            # Uniqueness is checked below, case-insensitively and with a readable message (the
            # username here, the address by the caller); Django's own checks would compare
            # exactly and add "Constraint ... is violated."
            user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if "username" not in errors and self.filter(username__iexact=username).exists():
            errors["username"] = [USERNAME_TAKEN]
        try:
            validate_password(password, user)
        except ValidationError as exc:
            errors["password"] = list(exc.messages)
        return user, errors

    def register(self, username: str, password: str, email: str) -> User:
        """Create an account after the registration page's checks, for an operator (the
        create_agent command): a taken address is an error that says so, and the account is
        confirmed (whoever runs the command vouches for the address).

        Raises ValidationError with a readable message per field: a taken username or email
        (compared case-insensitively), an invalid email, or a password that fails the validators.
        """
        user, errors = self.checked_new_user(username, password, email)
        if "email" not in errors and self.filter(email__iexact=user.email).exists():
            errors["email"] = [_("A user with that email address already exists.")]
        if errors:
            raise ValidationError(errors)
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            # Two registrations raced for the same name; the database constraint decided.
            raise ValidationError(
                {"username": [_("A user with that username or email address already exists.")]}
            ) from None
        return user


USERNAME_TAKEN = _("A user with that username already exists.")
EMAIL_HAS_AN_ACCOUNT = _(
    "This email address already has an account. Log in, or reset your password if you forgot it."
)


class EmailNotConfirmed(ValidationError):
    """The password is right, but the account's email address is not confirmed yet."""

    def __init__(self, user: User):
        super().__init__(
            _(
                "Your email address is not confirmed yet. Open the link in the email we sent you "
                "when you registered, or have it sent again with the button below."
            ),
            code="email_not_confirmed",
        )
        self.user = user


class UsernameValidator(RegexValidator):
    # Django's default also allows "@"; without it a username can never be mistaken for
    # someone else's email address at login.
    regex = r"^[\w.+-]+\Z"
    message = _("Enter a valid username: letters, digits and . + - _ only (no spaces or @).")
    flags = 0


class User(AbstractUser):
    """A person who uses the help desk: a customer, an agent (staff) or an admin (superuser)."""

    username = models.CharField(
        _("username"),
        max_length=150,
        unique=True,
        help_text=_("150 characters or fewer: letters, digits and . + - _ only."),
        validators=[UsernameValidator()],
        error_messages={"unique": USERNAME_TAKEN},
    )

    email = models.EmailField(_("email address"), unique=True)
    # Set when the account is made by a command or an import; empty for an account someone
    # registered until they follow the link emailed to them (accounts/verification.py), and for
    # one an agent made for a customer (an address typed in) until its owner chooses a password.
    email_verified_at = models.DateTimeField(
        _("email address confirmed"),
        null=True,
        blank=True,
        default=timezone.now,
        help_text=_("Empty while a registered account waits for its owner to confirm the address."),
    )
    notify_by_email = models.BooleanField(
        _("email me about my tickets"),
        default=True,
        help_text=_("Send me an email when one of my tickets gets a reply or changes status."),
    )
    # Which mails they want (the profile page); notify_by_email above is all of them at once.
    notify_replies = models.BooleanField(
        _("email me about replies"),
        default=True,
        help_text=_("An email with each reply on my tickets."),
    )
    notify_status = models.BooleanField(
        _("email me about status changes"),
        default=True,
        help_text=_("An email when someone else closes or reopens my ticket."),
    )
    # Set when an admin anonymised the account at its owner's request (accounts.services.
    # customer_anonymise): their messages stay, signed "former customer".
    anonymised_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("anonymised at")
    )
    # Set when a mail to the address bounced (messaging.inbound): no more mail goes to it until
    # staff clear it in the admin.
    email_undeliverable_at = models.DateTimeField(
        _("mail to this address bounced"),
        null=True,
        blank=True,
        help_text=_(
            "No email is sent to this address while this is set; clear it once the "
            "address works again."
        ),
    )
    email_undeliverable_reason = models.CharField(
        _("what the mail server said"), max_length=500, blank=True
    )
    # The language and time zone of this person's pages and emails (accounts/locale.py).
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Blank: the browser's language."),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text=_("An IANA name such as Europe/Berlin. Blank: the site's time zone."),
    )

    objects = UserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
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
    def role_label(self) -> str:
        """The role as the pages say it, in the reader's language."""
        return {"admin": _("admin"), "agent": _("agent"), "customer": _("customer")}[self.role]

    @property
    def role(self) -> str:
        if self.is_superuser:
            return "admin"
        if self.is_staff:
            return "agent"
        return "customer"

    @classmethod
    def register(cls, username: str, password: str, email: str) -> User | None:
        """Someone makes an account for themselves (the register page).

        Raises ValidationError with a readable message per field: an invalid or taken username,
        an invalid email address, a password that fails the validators. The new account waits
        for its address to be confirmed: it is emailed a link (accounts/verification.py).

        An address that has an account already is not an error, so that the page answers
        exactly as for a new one and tells nobody which addresses have accounts: None is
        returned, the owner is emailed (with a new link if they never confirmed), and the
        password is hashed all the same, so the answer takes as long. With
        REGISTRATION_EMAIL_VERIFICATION=optional, where a new account logs in at once and the
        answers differ anyway, it is an error that says so.
        """
        user, errors = cls.objects.checked_new_user(username, password, email)
        if errors:
            raise ValidationError(errors)
        user.email_verified_at = None
        user.set_password(password)
        try:
            with transaction.atomic():
                if not cls.objects.filter(email__iexact=user.email).exists():
                    user.save()
                    verification.send_confirmation_link(user)
                    return user
        except IntegrityError:
            # Registered at the same moment by another request: the database decided. A name
            # taken meanwhile is said; an address taken meanwhile is answered as any taken one.
            if cls.objects.filter(username__iexact=user.username).exists():
                raise ValidationError({"username": [USERNAME_TAKEN]}) from None
        if not verification.confirmation_required():
            raise ValidationError({"email": [EMAIL_HAS_AN_ACCOUNT]})
        owner = cls.objects.filter(email__iexact=user.email).first()
        if owner is not None and owner.is_active:
            verification.send_already_registered(owner)
        return None

    @classmethod
    def login(cls, request: HttpRequest, username: str, password: str) -> User:
        """Check the credentials (username or email) and start a session.

        Raises ValidationError with a message for the page (EmailNotConfirmed for an account
        that must confirm its address first); django-axes may refuse the attempt before the
        password is checked, and its middleware then answers with the lock-out page.
        """
        user = authenticate(request, username=username, password=password)
        if user is None:
            raise ValidationError(
                _(
                    "Please enter a correct username (or email address) and password. "
                    "The password is case-sensitive."
                ),
                code="invalid_login",
            )
        if user.email_verified_at is None and verification.confirmation_required():
            raise EmailNotConfirmed(user)
        auth_login(request, user)
        return user


class LoginCheck(models.Model):
    """How many logins for one username from one address are having their password checked
    right now. With the failures django-axes has counted, it is what the lock-out compares with
    its limit, so that logins sent at once cannot all pass before any has failed
    (accounts/lockout.py)."""

    # sha256 of the name and the address axes count under.
    key = models.CharField(max_length=64, unique=True, verbose_name=_("key"))
    in_progress = models.PositiveIntegerField(default=0, verbose_name=_("logins being checked"))
    # When a login last took its place: a count older than lockout.STALE_AFTER was left by a
    # server stopped in the middle of a login, and is forgotten.
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("login check")
        verbose_name_plural = _("login checks")

    def __str__(self) -> str:
        return f"{self.in_progress} login(s) being checked"


class ApiTokenQuerySet(models.QuerySet):
    def usable(self) -> ApiTokenQuerySet:
        """Tokens that still open the API: not revoked, not expired, of an active user."""
        now = timezone.now()
        return self.filter(revoked_at__isnull=True, user__is_active=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A personal token for the REST API (/api/v1/), made by its user on their profile page.

    The secret is shown once, when it is made; only its SHA-256 (`key_hash`) and a short random
    `prefix` (the look-up key, shown to tell tokens apart) are kept. A token acts as its user,
    with exactly their rights; it stops working when revoked, when it expires, and at once when
    the user is deactivated. The token as sent: "hd_<prefix>_<secret>".
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("user"),
    )
    name = models.CharField(
        max_length=100, validators=[MinLengthValidator(1)], verbose_name=_("name")
    )
    prefix = models.CharField(max_length=16, unique=True, editable=False, verbose_name=_("prefix"))
    key_hash = models.CharField(max_length=64, editable=False, verbose_name=_("key hash"))
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))
    last_used_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("last used at")
    )
    revoked_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("revoked at")
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} (hd_{self.prefix}_…)"
