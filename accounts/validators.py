import functools
import zoneinfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext


class MaximumLengthValidator:
    """Refuse absurdly long passwords (hashing cost), while allowing long passphrases."""

    def __init__(self, max_length: int = 1024) -> None:
        self.max_length = max_length

    def validate(self, password: str, user=None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                ngettext(
                    "This password is too long. It must contain at most %(max_length)d character.",
                    "This password is too long. It must contain at most %(max_length)d characters.",
                    self.max_length,
                ),
                code="password_too_long",
                params={"max_length": self.max_length},
            )

    def get_help_text(self) -> str:
        return _("Your password can be up to %(max_length)d characters long.") % {
            "max_length": self.max_length
        }


class NotOnlyWhitespaceValidator:
    """Refuse a password made only of blank characters (spaces, tabs, line breaks, no-break
    spaces): twelve spaces pass the length check but are the first thing anyone would guess."""

    def validate(self, password: str, user=None) -> None:
        if password.isspace():
            raise ValidationError(
                _(
                    "This password is only spaces or other blank characters: "
                    "use letters, digits or symbols too."
                ),
                code="password_only_whitespace",
            )

    def get_help_text(self) -> str:
        return _("Your password cannot be only spaces.")


@functools.cache
def time_zone_names() -> frozenset[str]:
    """The IANA names this machine knows (read from its zone files once)."""
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    """An IANA time zone name that this machine knows ("Europe/Berlin"); blank is allowed by
    the field (the site's TIME_ZONE)."""
    if value and value not in time_zone_names():
        raise ValidationError(
            _("“%(value)s” is not a time zone name, such as Europe/Berlin or America/Mexico_City."),
            code="invalid_time_zone",
            params={"value": value},
        )
