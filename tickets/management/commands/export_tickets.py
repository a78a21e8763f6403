import os
from datetime import date, datetime, time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tickets.transfer import FORMATS, export_tickets


def parse_since(value: str) -> datetime:
    """A date (midnight in TIME_ZONE) or an ISO 8601 date and time (TIME_ZONE if it has none)."""
    try:
        moment = datetime.combine(date.fromisoformat(value), time.min)
    except ValueError:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise CommandError(
                f"--since: “{value}” is not a date (YYYY-MM-DD) or an ISO 8601 date and time."
            ) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class Command(BaseCommand):
    help = (
        "Export tickets with their messages, events and the users they name, for a backup or a "
        "move to another database (read back with import_tickets). jsonl: one ticket per line; "
        "csv: one row per ticket, messages and events as JSON columns, every cell exactly as "
        "stored, so a cell someone typed as =HYPERLINK(...) runs as a formula if a spreadsheet "
        "opens the file: for a spreadsheet, add --spreadsheet-safe. The format is described in "
        "tickets/transfer.py."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--format", choices=FORMATS, default="jsonl", help="jsonl (default) or csv."
        )
        parser.add_argument(
            "--spreadsheet-safe",
            action="store_true",
            help=(
                "csv only: put a ' before every cell that starts with =, +, -, @, a tab or a "
                "carriage return, so that a spreadsheet shows it as text instead of running it. "
                "The file is then for reading, not for import_tickets (those cells change)."
            ),
        )
        parser.add_argument(
            "--since",
            type=parse_since,
            help="Only tickets created on or after this date (YYYY-MM-DD, in TIME_ZONE).",
        )
        parser.add_argument(
            "--output",
            required=True,
            help="The file to write (replaced once complete), or - for standard output.",
        )
        parser.add_argument(
            "--files",
            type=Path,
            help=(
                "The folder for the attachments' bytes, one file per content named by its "
                "SHA-256 (default: the output's name plus .files; needed with --output - when "
                "there are attachments). import_tickets reads them from there."
            ),
        )

    def handle(
        self,
        *args,
        format: str,
        since: datetime | None,
        output: str,
        files: Path | None,
        spreadsheet_safe: bool,
        **options,
    ):
        if spreadsheet_safe and format != "csv":
            raise CommandError("--spreadsheet-safe applies to --format csv only.")

        def export(stream):
            try:
                return export_tickets(
                    stream,
                    format=format,
                    since=since,
                    files_dir=files,
                    spreadsheet_safe=spreadsheet_safe,
                )
            except ValueError as exc:
                raise CommandError(f"{exc} (--files DIR)" if files is None else str(exc)) from None

        if output == "-":
            result = export(self.stdout)
            summary_to = self.stderr
        else:
            path = Path(output)
            files = files or path.with_name(path.name + ".files")
            # Written next to the target and renamed when complete, so an interrupted export
            # never leaves a half file where a good backup was.
            partial = path.with_name(f".{path.name}.partial")
            try:
                with partial.open("w", encoding="utf-8", newline="") as stream:
                    result = export(stream)
                os.replace(partial, path)
            except (OSError, CommandError) as exc:
                partial.unlink(missing_ok=True)
                if isinstance(exc, CommandError):
                    raise
                raise CommandError(f"Cannot write {path}: {exc.strerror or exc}") from None
            summary_to = self.stdout
        where = "standard output" if output == "-" else output
        attached = ""
        if result.attachments:
            attached = f", {result.attachments} attachments ({result.files} new files in {files})"
        summary_to.write(
            f"Exported {result.tickets} tickets ({result.messages} messages, {result.events} "
            f"events{attached}) as {format} to {where}."
        )
