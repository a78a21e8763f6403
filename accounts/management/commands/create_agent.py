import getpass
from pathlib import Path

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from accounts.services import agent_create_or_promote

PROMPT_ATTEMPTS = 3


def describe(exc: ValidationError) -> str:
    """A ValidationError as one readable line: "email: Enter a valid email address."."""
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


def read_password_file(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Cannot read the password file {path}: {exc}") from None
    if not lines or not lines[0]:
        raise CommandError(f"The password file {path} has no password on its first line.")
    return lines[0]


class Command(BaseCommand):
    help = (
        "Make USERNAME an agent: staff, and in the Agents group. A new user is created with "
        "--email and a password typed twice at a prompt (or the first line of --password-file). "
        "An existing user with that email address is promoted; their password is changed only "
        "when --password-file is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="The agent's username (existing or new).")
        parser.add_argument(
            "--email",
            required=True,
            help="The agent's email address; for an existing user it must be theirs.",
        )
        parser.add_argument(
            "--password-file",
            type=Path,
            help="Read the password from the first line of this file instead of prompting.",
        )

    def handle(self, *args, username: str, email: str, password_file: Path | None, **options):
        exists = User.objects.filter(username__iexact=username.strip()).exists()
        if password_file is not None:
            password = read_password_file(password_file)
        elif exists:
            password = None
        else:
            password = self.prompt_for_password(username, email)
        try:
            user, created = agent_create_or_promote(
                username=username, email=email, password=password
            )
        except ValidationError as exc:
            raise CommandError(describe(exc)) from None

        if created:
            line = f"Created agent {user.username} <{user.email}>: staff, in the Agents group."
        else:
            changed = "password changed" if password is not None else "password unchanged"
            line = (
                f"Promoted existing user {user.username} <{user.email}> to agent: staff, in the "
                f"Agents group; {changed}."
            )
        if not user.is_active:
            line += f" Note: the account is deactivated, so {user.username} cannot sign in."
        self.stdout.write(line)

    def prompt_for_password(self, username: str, email: str) -> str:
        """Ask twice, check with the password validators, and ask again on a mistake."""
        candidate = User(username=username.strip(), email=email.strip())
        for _attempt in range(PROMPT_ATTEMPTS):
            try:
                password = getpass.getpass(f"Password for {username}: ")
                again = getpass.getpass("Password (again): ")
            except (EOFError, KeyboardInterrupt):
                raise CommandError(
                    "No password given: type one at the prompt, or use --password-file."
                ) from None
            if password != again:
                self.stderr.write("The two passwords differ; try again.")
                continue
            try:
                validate_password(password, candidate)
            except ValidationError as exc:
                self.stderr.write(" ".join(exc.messages))
                continue
            return password
        raise CommandError(f"No valid password after {PROMPT_ATTEMPTS} attempts.")
