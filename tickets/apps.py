from django.apps import AppConfig
from django.conf import settings
from django.core.signals import request_finished
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        from . import db_statistics, search_index
        from .selectors import forget_staff_menus

        # SQLite keeps no planner statistics by itself (tickets/db_statistics.py).
        post_migrate.connect(
            db_statistics.analyze_after_migrate, sender=self, dispatch_uid="analyze-after-migrate"
        )
        # A SQLite table remade by a migration loses its search triggers (tickets/search_index.py).
        post_migrate.connect(
            search_index.ensure_sqlite_index, sender=self, dispatch_uid="search-index-after-migrate"
        )
        request_finished.connect(
            db_statistics.optimize_after_request, dispatch_uid="sqlite-optimize"
        )
        # The staff menus' cached agents and categories (tickets.selectors.staff_menus).
        for model in (settings.AUTH_USER_MODEL, "tickets.Category"):
            for signal in (post_save, post_delete):
                signal.connect(forget_staff_menus, sender=model, dispatch_uid=f"menus-{model}")
