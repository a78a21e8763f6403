from django.core.management.base import BaseCommand, CommandParser

from messaging.demo import DEMO_USERS, create_tickets, ensure_bulk_customers, ensure_demo_users
from tickets.models import Ticket

DEMO_TICKETS = 60


class Command(BaseCommand):
    help = (
        "Create the demo logins and, on an empty database, about 60 tickets with conversations "
        "over the last 90 days. Safe to run again. --tickets N tops the database up to N tickets "
        "quickly (bulk inserts), for benchmarks."
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

    def handle(
        self, *args, tickets: int | None, days: int, seed: int, quiet_logins: bool, **options
    ):
        if tickets is not None and tickets < 0:
            self.stderr.write("--tickets must be 0 or more.")
            raise SystemExit(2)
        if days < 1:
            self.stderr.write("--days must be 1 or more.")
            raise SystemExit(2)
        users = ensure_demo_users()
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
        )
        self.stdout.write(
            f"Demo data: {existing + made[0]} tickets ({made[0]} new, {made[1]} messages and "
            f"{made[2]} events added)."
        )
        if not quiet_logins:
            self.stdout.write("Demo logins (username / password):")
            for username, _email, password, role in DEMO_USERS:
                self.stdout.write(f"  {role:<9} {username:<6} / {password}")
