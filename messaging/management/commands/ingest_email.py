import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from messaging.inbound import ingest
from messaging.mailbox import describe


class Command(BaseCommand):
    help = (
        "Take in one mail (its raw RFC 5322 bytes) from FILE, or from standard input with '-': "
        "for a mail server's pipe transport, and for operators. The mail is stored and made a "
        "ticket or a reply, or ignored or quarantined, saying why. Exits non-zero only when "
        "the mail could not be read or stored (so that the mail server keeps it)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="A file holding one mail, or - for standard input.")
        parser.add_argument(
            "--source", default="", help="What the mail's row says it came by (default: pipe)."
        )

    def handle(self, *args, file: str, source: str, **options):
        limit = settings.INBOUND_MAX_BYTES
        try:
            if file == "-":
                raw = sys.stdin.buffer.read(limit + 1)
            else:
                with Path(file).open("rb") as handle:
                    raw = handle.read(limit + 1)
        except OSError as exc:
            raise CommandError(f"Could not read {file}: {exc.strerror or exc}") from exc
        if len(raw) > limit:
            raise CommandError(f"The mail is over {limit} bytes (INBOUND_MAX_BYTES): not taken in.")
        record, created = ingest(raw, source=source or ("pipe" if file == "-" else f"file {file}"))
        self.stdout.write(describe(record, created=created))
