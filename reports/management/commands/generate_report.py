import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandParser

from reports.periods import BUCKETS, Period
from reports.visualization import DataVisualization


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date; use YYYY-MM-DD") from None


class Command(BaseCommand):
    help = (
        "Write the help-desk report for a period (both days included, in TIME_ZONE) as a "
        "self-contained HTML file (plotly.js embedded) or as CSV. Prints a one-line summary "
        "on stderr."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", required=True, help="First day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="end", required=True, help="Last day, YYYY-MM-DD.")
        parser.add_argument("--bucket", choices=BUCKETS, default="week", help="Default: week.")
        parser.add_argument("--format", choices=["html", "csv"], default="html")
        parser.add_argument("--output", help="File to write; standard output without it.")

    def handle(self, *args, start: str, end: str, bucket: str, format: str, output, **options):
        try:
            period = Period.from_dates(_date(start), _date(end), bucket)
        except ValueError as exc:
            self.stderr.write(f"generate_report: {exc}")
            sys.exit(2)
        viz = DataVisualization(period).fetch_all()
        content = viz.generate_report() if format == "html" else viz.to_csv()
        if output:
            with open(output, "w", encoding="utf-8", newline="") as handle:
                handle.write(content)
            where = output
        else:
            self.stdout.write(content, ending="")
            where = "standard output"
        self.stderr.write(f"Report {viz.summary()} ({format}, {len(content):,} bytes to {where}).")
