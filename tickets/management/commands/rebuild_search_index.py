from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from tickets import search_index


class Command(BaseCommand):
    help = (
        "Rebuild the search index from the tickets and messages (SQLite's FTS5 tables; "
        "PostgreSQL: each ticket's conversation words, which triggers keep), or with --check, "
        "say whether the index is complete (on either database) and exit 1 if not."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="Check the index only; change nothing."
        )
        parser.add_argument("--database", default="default", help="The database (alias).")

    def handle(self, *args, check: bool, database: str, **options):
        vendor = connections[database].vendor
        if check:
            problems = search_index.check(database)
            if problems:
                raise CommandError("The search index is not right: " + "; ".join(problems))
            self.stdout.write(f"The search index is complete ({vendor}).")
            return
        rebuilt = search_index.rebuild(database)
        if rebuilt:
            self.stdout.write(f"Rebuilt the search index of {', '.join(rebuilt)}.")
        elif vendor == "sqlite":
            raise CommandError("This SQLite has no FTS5: the search matches substrings instead.")
        else:
            self.stdout.write(
                f"Nothing to rebuild: {vendor} keeps the search columns itself (--check checks)."
            )
