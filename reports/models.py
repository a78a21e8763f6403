"""Report rollup: what happened in each quarter of an hour, counted by the database itself."""

from django.db import models


class ActivitySlot(models.Model):
    """Tickets created and status transitions in one quarter of an hour (UTC), and how many of
    the tickets created in it are still open, active or awaiting a first response.

    Kept by database triggers on the ticket and event tables (reports/rollup.py), whatever
    writes the rows, in the same transaction. A quarter of an hour because every time zone's
    midnight falls on one: a day, week or month in the site's time zone is a whole number of
    slots. `manage.py rebuild_report_counts` recounts everything from the tables.
    """

    slot = models.DateTimeField(primary_key=True)
    created = models.IntegerField(default=0)
    created_low = models.IntegerField(default=0)
    created_normal = models.IntegerField(default=0)
    created_high = models.IntegerField(default=0)
    created_urgent = models.IntegerField(default=0)
    into_closed = models.IntegerField(default=0)
    out_of_closed = models.IntegerField(default=0)
    into_active = models.IntegerField(default=0)
    out_of_active = models.IntegerField(default=0)
    # Of the tickets created in this slot, how many are open, active, and not closed without a
    # first response now: open work by age, and the status now of a period's tickets.
    still_open = models.IntegerField(default=0)
    still_active = models.IntegerField(default=0)
    still_awaiting = models.IntegerField(default=0)

    class Meta:
        ordering = ["slot"]

    def __str__(self) -> str:
        return f"{self.slot:%Y-%m-%d %H:%M} UTC: {self.created} created"
