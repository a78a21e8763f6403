from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tickets.housekeeping import CLOSED, WOULD_CLOSE, close_stale_tickets


class Command(BaseCommand):
    help = (
        "Close active tickets that have waited on their reporter for more than --days days "
        "(the last public message is a staff reply). Each gets a public message saying why it "
        "was closed and that a reply reopens it, sent as the assignee (or else the first active "
        "superuser); the close itself is recorded as made by the system. Meant for cron."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            required=True,
            help="Close tickets whose last staff reply is older than this many days (1 or more).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="List the tickets that would be closed only."
        )

    def handle(self, *args, days: int, dry_run: bool, **options):
        if days < 1:
            raise CommandError("--days must be 1 or more.")
        tickets = close_stale_tickets(days=days, dry_run=dry_run)
        verb = "Would close" if dry_run else "Closed"
        done = skipped = 0
        for ticket in tickets:
            waiting = f"last staff reply {timezone.localtime(ticket.last_public_at):%Y-%m-%d %H:%M}"
            if ticket.outcome in {CLOSED, WOULD_CLOSE}:
                done += 1
                self.stdout.write(
                    f"{verb} #{ticket.pk} “{ticket.title}” ({waiting}; message from "
                    f"{ticket.closing_sender.username} to {ticket.reporter.username})."
                )
            else:
                skipped += 1
                reason = ticket.outcome.removeprefix("skipped: ")
                self.stderr.write(f"Skipped #{ticket.pk} “{ticket.title}” ({waiting}): {reason}.")
        summary = (
            f"{verb} {done} ticket{'' if done == 1 else 's'} waiting on the reporter "
            f"for more than {days} day{'' if days == 1 else 's'}; skipped {skipped}"
        )
        if dry_run:
            summary += " (dry run: nothing changed)"
        self.stdout.write(summary + ".")
