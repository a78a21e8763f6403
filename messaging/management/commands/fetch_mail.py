import imaplib

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from imap_tools.errors import ImapToolsError

from messaging.mailbox import Fetched, LockUnavailable, fetch_mail


class Command(BaseCommand):
    help = (
        "Fetch the support mailbox (IMAP_HOST, IMAP_USER, IMAP_PASSWORD, IMAP_FOLDER) once: each "
        "waiting mail is stored, made a ticket or a reply (or ignored, or quarantined, saying "
        "why), then marked done on the server. What beat runs every INBOUND_FETCH_INTERVAL "
        "seconds; safe beside the workers (one fetcher at a time holds a lock in Redis)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=None, help="At most this many mails.")

    def handle(self, *args, limit: int | None, **options):
        def report(fetched: Fetched) -> None:
            self.stdout.write(f"mail {fetched.uid}: {fetched.line}")

        if not settings.IMAP_HOST:
            raise CommandError("Set IMAP_HOST (and IMAP_USER, IMAP_PASSWORD) to fetch mail.")
        try:
            run = fetch_mail(report=report, limit=limit)
        except LockUnavailable as exc:
            # Redis (the lock) does not answer: one line, not a traceback.
            message = f"{exc}. Nothing was fetched; the mail waits on the server."
            raise CommandError(message) from exc
        except (OSError, EOFError, imaplib.IMAP4.error, ImapToolsError) as exc:
            # A server that is down or drops the connection, a refused login, a missing folder:
            # one line, not a traceback.
            raise CommandError(
                f"IMAP: {exc} ({type(exc).__name__}). What was stored is kept; the rest is "
                "fetched next time."
            ) from exc
        if run.locked_out:
            self.stdout.write("Another fetch holds the mailbox's lock: nothing done.")
            return
        new = sum(1 for mail in run.mails if mail.created)
        summary = f"Fetched {len(run.mails)} mail(s), {new} new."
        if unstored := sum(1 for mail in run.mails if not mail.stored):
            summary += f" {unstored} could not be stored: left on the server for the next run."
        self.stdout.write(summary)
