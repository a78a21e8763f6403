from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tickets.db_statistics import analyze
from tickets.demo import (
    DEMO_USERS,
    add_demo_files,
    create_tickets,
    ensure_bulk_customers,
    ensure_demo_categories,
    ensure_demo_users,
    reset_demo_data,
)
from tickets.models import Ticket

DEMO_TICKETS = 60


class Command(BaseCommand):
    help = (
        "Create the demo logins and, on an empty database, about 60 tickets with conversations "
        "over the last 90 days. Safe to run again. --tickets N tops the database up to N tickets "
        "quickly (bulk inserts), for benchmarks. --reset first deletes every ticket (with its "
        "messages and events), the demo logins and the bulk customerNNNNNN users, then seeds a "
        "clean demo; it asks first (unless --no-input) and refuses with DEBUG off (unless "
        "--force)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tickets",
            type=int,
            default=None,
            help="Make sure at least this many tickets exist (default: 60 on an empty database).",
        )
        parser.add_argument("--days", type=int, default=90, help="Spread over this many days.")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (repeatable data).")
        parser.add_argument(
            "--quiet-logins", action="store_true", help="Do not print the demo logins."
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help=(
                "Delete ALL tickets, their messages and events, the demo logins and the bulk "
                "customers first, then seed a clean demo."
            ),
        )
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="With --reset: do not ask for confirmation.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="With --reset: allow it when DEBUG is off (a production-like database).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="With --reset: show what would be deleted; change nothing and seed nothing.",
        )

    def handle(
        self,
        *args,
        tickets: int | None,
        days: int,
        seed: int,
        quiet_logins: bool,
        reset: bool,
        interactive: bool,
        force: bool,
        dry_run: bool,
        **options,
    ):
        if tickets is not None and tickets < 0:
            self.stderr.write("--tickets must be 0 or more.")
            raise SystemExit(2)
        if days < 1:
            self.stderr.write("--days must be 1 or more.")
            raise SystemExit(2)
        if (force or dry_run) and not reset:
            raise CommandError("--force and --dry-run only mean something with --reset.")
        if reset:
            confirmed = self.reset(interactive=interactive, force=force, dry_run=dry_run)
            if not confirmed or dry_run:
                return

        users = ensure_demo_users()
        categories = ensure_demo_categories()
        existing = Ticket.objects.count()
        wanted = DEMO_TICKETS if tickets is None else tickets
        to_make = max(0, wanted - existing) if (tickets is not None or existing == 0) else 0
        customers = users["customer"]
        if to_make > 1000:
            # Large sets get many reporters, as a real help desk has.
            customers = customers + ensure_bulk_customers(max(3, to_make // 20))
        made = create_tickets(
            to_make,
            customers=customers,
            agents=users["agent"],
            days=days,
            seed=seed + existing,
            categories=categories,
        )
        if made[0]:
            # A conversation with a picture and a PDF, to see attachments on.
            add_demo_files(users["customer"][0])
            analyze()  # SQLite has no statistics of its own: the lists' plans need them.
        self.stdout.write(
            f"Demo data: {existing + made[0]} tickets ({made[0]} new, {made[1]} messages and "
            f"{made[2]} events added)."
        )
        if not quiet_logins:
            self.stdout.write("Demo logins (username / password):")
            for username, _email, password, role in DEMO_USERS:
                self.stdout.write(f"  {role:<9} {username:<6} / {password}")

    def reset(self, *, interactive: bool, force: bool, dry_run: bool) -> bool:
        """Delete the demo data after the checks; False when the user said no."""
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to reset with DEBUG off: --reset deletes every ticket. "
                "Pass --force if this really is a database you mean to wipe."
            )
        if dry_run:
            counts = reset_demo_data(dry_run=True)
            self.stdout.write(f"Would delete {self.describe(counts)} (dry run: nothing changed).")
            return True
        if interactive:
            database = settings.DATABASES["default"]["NAME"]
            answer = input(
                f"This deletes EVERY ticket, with its messages and events, and the demo users in "
                f"the database {database}.\nType 'yes' to continue, or anything else to cancel: "
            )
            if answer.strip().lower() != "yes":
                self.stdout.write("Reset cancelled; nothing was deleted.")
                return False
        counts = reset_demo_data()
        self.stdout.write(f"Reset: deleted {self.describe(counts)}.")
        return True

    @staticmethod
    def describe(counts: dict[str, int]) -> str:
        return (
            f"{counts['tickets']} tickets, {counts['messages']} messages, "
            f"{counts['events']} events and {counts['users']} users"
        )
