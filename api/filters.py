"""The ticket list's filters (django-filter), on top of the list's visibility query."""

from __future__ import annotations

from datetime import UTC

from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from tickets.models import MAX_ID, Ticket
from tickets.search import parse, search_in

# What the schema says of each (the filters' own types say less: a bound, a pattern).
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
TEXT = r"^[^\x00-\x1f\x7f]*$"  # printable: the address refuses NUL and control characters


@extend_schema_field(ID_SCHEMA)
class IdFilter(filters.NumberFilter):
    """An id: a whole number an id column can hold (not a decimal, not past 2**63)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=MAX_ID, **kwargs)


class InstantFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 date and time, compared as the instant it names, in UTC: PostgreSQL refuses
    a written offset past 15:59 (+16:49 is valid ISO 8601 and Python), and a 500 is no answer."""

    def filter(self, qs, value):
        if value is not None and value.tzinfo is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError:  # year 1 or 9999 moved past the calendar's ends
                refusal = {self.field_name: ["A date and time out of range."]}
                raise ValidationError(refusal) from None
        return super().filter(qs, value)


class TicketFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Ticket.Status.choices)
    priority = filters.ChoiceFilter(choices=Ticket.Priority.choices)
    category = IdFilter(field_name="category_id", help_text="A category's id.")
    assignee = extend_schema_field({"type": "string", "pattern": r"^(me|none|[1-9][0-9]{0,17})$"})(
        filters.CharFilter
    )(
        method="filter_assignee",
        max_length=20,
        help_text='Staff only: "me", "none" (unassigned) or a staff member\'s id.',
    )
    tag = extend_schema_field({"type": "string", "maxLength": 40, "pattern": TEXT})(
        filters.CharFilter
    )(method="filter_tag", max_length=40, help_text="Staff only: a tag's name, in any case.")
    created_after = InstantFilter(field_name="created_at", lookup_expr="gte")
    created_before = InstantFilter(field_name="created_at", lookup_expr="lt")
    updated_after = InstantFilter(field_name="modified_at", lookup_expr="gte")
    updated_before = InstantFilter(field_name="modified_at", lookup_expr="lt")
    # Last: the search narrows the list as the other filters left it (tickets.search).
    q = filters.CharFilter(
        method="filter_search",
        help_text=(
            'Words (all must match), "an exact phrase", -excluded, or: the pages\' search, over'
            " titles, descriptions and messages (internal notes for staff only); the newest"
            " matching tickets."
        ),
    )

    class Meta:
        model = Ticket
        fields: list[str] = []

    def filter_search(self, tickets, name, value: str):
        return search_in(tickets, parse(value), staff=self._staff())

    def _staff(self) -> bool:
        return self.request.user.is_staff

    def filter_assignee(self, tickets, name, value: str):
        # Like the list page: the assignee and tag filters are the staff's; a customer's
        # tickets are their own whoever works on them.
        if not self._staff():
            return tickets
        if value == "me":
            return tickets.for_agent(self.request.user)
        if value == "none":
            return tickets.unassigned()
        if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_ID:
            raise ValidationError({"assignee": ['Send "me", "none" or a staff member\'s id.']})
        return tickets.filter(assignee_id=int(value))

    def filter_tag(self, tickets, name, value: str):
        if not self._staff():
            return tickets
        return tickets.filter(tags__name__iexact=value.strip())
