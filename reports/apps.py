from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from . import rollup, sqlite_indexes

        # A migration that rebuilds a ticket table on SQLite drops its triggers and the indexes
        # made with raw SQL: put them back.
        post_migrate.connect(rollup.ensure_installed, sender=self, dispatch_uid="report-counts")
        post_migrate.connect(
            sqlite_indexes.ensure_indexes, sender=self, dispatch_uid="report-sqlite-indexes"
        )
