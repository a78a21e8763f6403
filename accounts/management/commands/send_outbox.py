from django.core.management.base import BaseCommand, CommandParser

from accounts.outbox import due, send_due


class Command(BaseCommand):
    help = (
        "Send the emails waiting in the outbox whose time has come: mail queued while the "
        "broker was down, and retries after a failed try. What the worker's periodic task "
        "(send_outbox) does every OUTBOX_SEND_INTERVAL seconds; safe to run beside the workers. "
        "Failed mail is not tried again: the admin's 'Send again' puts it back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count the emails that are due."
        )

    def handle(self, *args, dry_run: bool, **options):
        if dry_run:
            self.stdout.write(f"{due().count()} email(s) due.")
            return
        result = send_due()
        self.stdout.write(
            f"Sent {result.sent} email(s); {result.failed} failed "
            "(tried again later, or listed as failed)."
        )
