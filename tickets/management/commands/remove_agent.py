from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import AGENTS_GROUP, User
from tickets.services import agent_remove

# More ticket numbers than this are summarised, to keep the output one line.
LISTED_TICKETS = 20


def ticket_numbers(tickets: list) -> str:
    numbers = [f"#{ticket.pk}" for ticket in tickets[:LISTED_TICKETS]]
    if len(tickets) > LISTED_TICKETS:
        numbers.append(f"and {len(tickets) - LISTED_TICKETS} more")
    return ", ".join(numbers)


class Command(BaseCommand):
    help = (
        "Take USERNAME off the team: remove their staff status and their Agents group "
        "membership, and unassign their tickets that are not closed (recorded as changes by "
        "the system). The account itself is kept. --dry-run shows what would change."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="The agent to remove (case-insensitive).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would change; change nothing."
        )

    def handle(self, *args, username: str, dry_run: bool, **options):
        user = User.objects.filter(username__iexact=username.strip()).first()
        if user is None:
            raise CommandError(f"There is no user called {username!r}.")
        was_agent = user.is_staff or user.groups.filter(name=AGENTS_GROUP).exists()
        try:
            tickets = agent_remove(agent=user, dry_run=dry_run)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None

        count = f"{len(tickets)} open ticket{'' if len(tickets) == 1 else 's'}"
        if tickets:
            count += f" ({ticket_numbers(tickets)})"
        if not was_agent:
            verb = "would unassign" if dry_run else "unassigned"
            line = f"{user.username} was not an agent; {verb} {count}"
        elif dry_run:
            line = (
                f"Would remove {user.username} from staff and the Agents group and unassign {count}"
            )
        else:
            line = f"Removed {user.username} from staff and the Agents group and unassigned {count}"
        if dry_run:
            line += " (dry run: nothing changed)"
        self.stdout.write(line + ".")
