from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tickets.db_statistics import analyze
from tickets.transfer import FORMATS, import_tickets


class Command(BaseCommand):
    help = (
        "Import tickets written by export_tickets. Importing the same file again creates "
        "nothing new; a ticket already here is updated only from a later export of it (a "
        "higher version). Missing users are created without a usable password. Each ticket is "
        "imported on its own: a bad line is reported with its number and the others are still "
        "imported; the exit status is 1 if any line failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The file export_tickets wrote.")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            help="jsonl or csv (default: csv for a .csv file, jsonl otherwise).",
        )
        parser.add_argument(
            "--files",
            type=Path,
            help=(
                "The folder export_tickets wrote the attachments' bytes to (default: the "
                "file's name plus .files)."
            ),
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check and import every line, then roll it all back.",
        )

    def handle(
        self, *args, path: Path, format: str | None, dry_run: bool, files: Path | None, **options
    ):
        format = format or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
        files = files or path.with_name(path.name + ".files")
        try:
            with path.open(encoding="utf-8", newline="") as stream:
                result = import_tickets(stream, format=format, dry_run=dry_run, files_dir=files)
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from None

        if result.imported and not dry_run:
            analyze()  # SQLite has no statistics of its own: the lists' plans need them.
        for line, reason in result.failed:
            self.stderr.write(f"{path}, line {line}: {reason}")
        summary = (
            f"{'Would import' if dry_run else 'Imported'} {result.imported} tickets "
            f"({result.messages} messages, {result.events} events, "
            f"{f'{result.attachments} attachments, ' if result.attachments else ''}"
            f"{result.users} new users); "
            f"updated {result.updated}; skipped {result.skipped} already present; "
            f"failed {len(result.failed)}"
        )
        if dry_run:
            summary += " (dry run: nothing changed)"
        self.stdout.write(summary + ".")
        if result.failed:
            raise CommandError(
                f"{len(result.failed)} line(s) of {path} could not be imported; see above."
            )
