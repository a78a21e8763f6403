"""Report rollup: what happened in each quarter of an hour, counted by the database itself."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ActivitySlot(models.Model):
    """Tickets created and status transitions in one quarter of an hour (UTC), and how many of
    the tickets created in it are still open, active or awaiting a first response.

    Kept by database triggers on the ticket and event tables (reports/rollup.py), whatever
    writes the rows, in the same transaction. A quarter of an hour because every time zone's
    midnight falls on one: a day, week or month in the site's time zone is a whole number of
    slots. `manage.py rebuild_report_counts` recounts everything from the tables.
    """

    slot = models.DateTimeField(primary_key=True, verbose_name=_("quarter hour from"))
    created = models.IntegerField(default=0, verbose_name=_("tickets created"))
    created_low = models.IntegerField(default=0, verbose_name=_("created with low priority"))
    created_normal = models.IntegerField(default=0, verbose_name=_("created with normal priority"))
    created_high = models.IntegerField(default=0, verbose_name=_("created with high priority"))
    created_urgent = models.IntegerField(default=0, verbose_name=_("created with urgent priority"))
    into_closed = models.IntegerField(default=0, verbose_name=_("closed"))
    out_of_closed = models.IntegerField(default=0, verbose_name=_("reopened"))
    into_active = models.IntegerField(default=0, verbose_name=_("made active"))
    out_of_active = models.IntegerField(default=0, verbose_name=_("no longer active"))
    # Of the tickets created in this slot, how many are open, active, and not closed without a
    # first response now: open work by age, and the status now of a period's tickets.
    still_open = models.IntegerField(default=0, verbose_name=_("still open"))
    still_active = models.IntegerField(default=0, verbose_name=_("still active"))
    still_awaiting = models.IntegerField(
        default=0, verbose_name=_("still awaiting a first response")
    )

    class Meta:
        ordering = ["slot"]
        verbose_name = _("activity slot")
        verbose_name_plural = _("activity slots")

    def __str__(self) -> str:
        return f"{self.slot:%Y-%m-%d %H:%M} UTC: {self.created} created"
