from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import Ticket

from .periods import BUCKETS, Period, site_tz

PRESETS = [
    ("7d", _("Last 7 days")),
    ("30d", _("Last 30 days")),
    ("90d", _("Last 90 days")),
    ("month", _("This month")),
    ("all", _("All time")),
    ("custom", _("Custom range")),
]
MAX_BUCKETS = 1000
BUCKET_LABELS = {"day": _("Day"), "week": _("Week"), "month": _("Month")}


class ReportForm(forms.Form):
    """Which period and bucket a report covers. Missing fields take their defaults."""

    preset = forms.ChoiceField(choices=PRESETS, required=False, label=_("Period"))
    start = forms.DateField(
        required=False,
        label=_("From"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = forms.DateField(
        required=False, label=_("To (included)"), widget=forms.DateInput(attrs={"type": "date"})
    )
    bucket = forms.ChoiceField(
        choices=[(b, BUCKET_LABELS[b]) for b in BUCKETS], required=False, label=_("Group by")
    )

    def __init__(self, data=None, *, today: date | None = None, **kwargs):
        # Only the fields this form knows are read from the query string.
        super().__init__(data, **kwargs)
        self.today = today or timezone.localtime(timezone.now(), site_tz()).date()

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        preset = cleaned.get("preset") or ("custom" if cleaned.get("start") else "30d")
        bucket = cleaned.get("bucket") or ("month" if preset == "all" else "day")
        today = self.today
        start, end = cleaned.get("start"), cleaned.get("end")
        if preset == "custom":
            if start is None:
                raise forms.ValidationError(_("Choose the first day of a custom range."))
            end = end or today
        elif preset == "month":
            start, end = today.replace(day=1), today
        elif preset == "all":
            first = Ticket.objects.order_by("created_at").values_list("created_at", flat=True)
            earliest = first.first()
            start = timezone.localtime(earliest, site_tz()).date() if earliest else today
            end = today
        else:
            days = int(preset.rstrip("d"))
            start, end = today - timedelta(days=days - 1), today
        if end < start:
            raise forms.ValidationError(
                _("The range is empty: %(end)s is before %(start)s.")
                % {"end": end.isoformat(), "start": start.isoformat()}
            )
        try:
            period = Period.from_dates(start, end, bucket)
        except ValueError as exc:  # dates too near the calendar's ends
            message = str(exc)
            raise forms.ValidationError(f"{message[:1].upper()}{message[1:]}.") from None
        # A bucket spans at most this many days: a range that plainly holds too many is refused
        # before its buckets are listed (thousands of years by day took seconds to count).
        longest_bucket = {"day": 1, "week": 7, "month": 31}[bucket]
        too_long = (end - start).days + 1 > MAX_BUCKETS * longest_bucket
        if too_long or len(period.bucket_starts()) > MAX_BUCKETS:
            raise forms.ValidationError(
                {
                    "day": _("That is more than %(count)d days; group by week or month."),
                    "week": _("That is more than %(count)d weeks; group by week or month."),
                    "month": _("That is more than %(count)d months; group by week or month."),
                }[bucket]
                % {"count": MAX_BUCKETS}
            )
        cleaned.update(preset=preset, bucket=bucket, start=start, end=end, period=period)
        return cleaned
