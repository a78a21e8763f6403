"""Malformed input in the admin: a message or Django's "?e=1" redirect, never a server error.

Django's admin turns most bad query parameters into a redirect to "?e=1" (the whole list; the
mixin adds a message saying so). A list filters by what its filters offer and nothing else: by
default Django applies any lookup on the model's own fields that the query string names, so
`?title__regex=[` was a 500 (an invalid expression), a regular expression with nested
quantifiers ran for seconds against every title on SQLite, and a year past 9999 was a 500 on
PostgreSQL. Other kinds of input still failed with a 500, answered here for every ModelAdmin of
the project:

- a bulk action on ids that are not ids (`_selected_action=abc`, or a number past the id
  column): Django filters `pk__in` with them unchecked;
- a date lookup in the query string that the database cannot take (`?created_at__year=0`, a
  year past 9999): Django filters with it inside its own `try` but only builds the SQL, and
  fails, when the list is counted, outside it;
- an autocomplete box shown again after an invalid POST (`assignee=abc`): the widget looks the
  raw value up to show its label.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG, ChangeList
from django.contrib.admin.widgets import AutocompleteSelect
from django.http import HttpResponseRedirect
from django.utils.translation import gettext as _

# The largest value of a BigAutoField (every model's id here).
MAX_ID = 2**63 - 1


def as_object_id(value: object) -> int | None:
    """`value` as a database id (1 to 2**63 - 1, in ASCII digits), or None when it is not one."""
    text = str(value)
    # At most 19 digits: int() of a longer string is never an id (and past 4300 digits it fails).
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


class CheckedChangeList(ChangeList):
    """A list whose filters cannot be evaluated is the admin's own "?e=1" answer, not a 500."""

    def get_filters(self, request):
        # Django returns the lookups that no filter of the list took; it would apply them to
        # the query as they are. ModelAdmin.lookup_allowed cannot tell them apart: it is asked
        # before the filters run, and knows which parameters a filter takes only by building
        # it (two of ours query the database to do so).
        filters = super().get_filters(request)
        _specs, _has_filters, remaining, _duplicates, _active = filters
        if remaining:
            raise IncorrectLookupParameters(
                f"No filter of this list takes {', '.join(sorted(remaining))}."
            )
        return filters

    def get_results(self, request):
        try:
            super().get_results(request)
        except (ValueError, OverflowError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class AdminInputMixin:
    """For a ModelAdmin: only the list's own filters, bad ids in a bulk action and unusable date
    lookups answered, and "?e=1" explained."""

    def get_changelist(self, request, **kwargs):
        return CheckedChangeList

    def changelist_view(self, request, extra_context=None):
        if ERROR_FLAG in request.GET:
            # Where Django sends a filter, search or page it could not apply ("?e=1"), without
            # saying why: the whole list, with a word about it.
            self.message_user(
                request,
                _("That filter, search or page could not be applied: this is the whole list."),
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)

    def response_action(self, request, queryset):
        selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
        if any(as_object_id(value) is None for value in selected):
            self.message_user(
                request,
                _("Nothing was changed: the selection holds something that is not an id."),
                messages.ERROR,
            )
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)


class IdAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete box, showing again only the submitted values that are ids."""

    def optgroups(self, name, value, attr=None):
        return super().optgroups(name, [v for v in value if as_object_id(v) is not None], attr)
