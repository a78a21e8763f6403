from django.core.management.base import BaseCommand, CommandParser

from reports import rollup


class Command(BaseCommand):
    help = (
        "Recount the report rollup (tickets created and status changes per quarter hour) from "
        "the tickets and their events, and put back its database triggers if any is missing. "
        "Never needed in normal use (the triggers keep it, and `migrate` checks them); after "
        "restoring a database with its triggers disabled, or to check the counts, run it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only compare the stored counts with a fresh recount; exit 1 if they differ.",
        )

    def handle(self, *args, check: bool, **options):
        if check:
            differences = rollup.differences()
            if differences:
                self.stderr.write(
                    f"{len(differences)} quarter hours differ from a recount, first: "
                    f"{differences[0]}. Run rebuild_report_counts to recount."
                )
                raise SystemExit(1)
            self.stdout.write("The report counts match a recount.")
            return
        missing = rollup.missing_triggers()
        if missing:
            rollup.install()
        slots = rollup.rebuild()
        put_back = f"; put back {len(missing)} missing triggers" if missing else ""
        self.stdout.write(f"Recounted {slots} quarter hours{put_back}.")
