from django.apps import AppConfig
from django.core.signals import request_finished
from django.db.models.signals import post_migrate


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from . import db_statistics

        # SQLite keeps no planner statistics by itself (tickets/db_statistics.py).
        post_migrate.connect(
            db_statistics.analyze_after_migrate, sender=self, dispatch_uid="analyze-after-migrate"
        )
        request_finished.connect(
            db_statistics.optimize_after_request, dispatch_uid="sqlite-optimize"
        )
