"""The admin changelist's rows, worked out once per column instead of once per cell.

Django's `result_list` tag (django.contrib.admin.templatetags.admin_list.items_for_result)
looks every cell up from scratch: which field or method the column is, its choices as a new
dict, its empty value, the change page's URL (a reverse() and a query string per row), and each
row's action checkbox rendered through a form widget template. For 50 tickets of ten columns that
is 60% of the changelist's time. This tag makes the same decisions once per column and then only
reads each row's values; the HTML is the same, cell for cell (tests/test_admin_rows.py
compares the two for every model in the admin).

Lists with editable columns (a formset) or opened as a popup go to Django's own tag. Used by
templates/admin/change_list.html for every ModelAdmin; the template (change_list_results.html,
overridable per app and model) is Django's.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django import template
from django.contrib.admin import ModelAdmin, helpers
from django.contrib.admin.templatetags.admin_list import (
    ResultList,
    _boolean_icon,
    _coerce_field_name,
    result_headers,
)
from django.contrib.admin.templatetags.admin_list import result_list as django_result_list
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.contrib.admin.utils import (
    FieldIsAForeignKeyColumnName,
    _get_non_gfk_field,
    display_for_field,
    display_for_value,
    lookup_field,
    quote,
)
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import SafeString

from .html import html

register = template.Library()

# Stands for a row's id in the change page's URL, reversed once per list.
PK_MARKER = "0pk0marker0"


def _link_columns(cl) -> Callable[[bool, object], bool]:
    def link_in_col(is_first: bool, field_name) -> bool:
        if cl.list_display_links is None:
            return False
        if is_first and not cl.list_display_links:
            return True
        return field_name in cl.list_display_links

    return link_in_col


def _change_url(cl) -> Callable[[object], str | None]:
    """The change page's URL for a row, with the list's filters kept (as Django's cells link
    it), or None where the change page has no URL."""
    try:
        template_url = add_preserved_filters(
            {"preserved_filters": cl.preserved_filters, "opts": cl.opts},
            reverse(
                f"admin:{cl.opts.app_label}_{cl.opts.model_name}_change",
                args=(PK_MARKER,),
                current_app=cl.model_admin.admin_site.name,
            ),
        )
    except NoReverseMatch:
        return lambda result: None
    before, _, after = template_url.partition(PK_MARKER)

    def url(result) -> str:
        return f"{before}{quote(getattr(result, cl.pk_attname))}{after}"

    return url


def _boolean_icons() -> dict:
    return {value: _boolean_icon(value) for value in (True, False, None)}


def _column(cl, field_name, base_classes: list, linked: bool, icons: dict) -> Callable:
    """What a column shows for a row: (the cell's content, its class names). The same branches
    as items_for_result, with what does not depend on the row decided here."""
    model_admin = cl.model_admin
    opts = cl.lookup_opts
    empty = model_admin.get_empty_value_display()

    def boolean_or_value(value, boolean: bool, empty_display) -> tuple:
        classes = ["action-checkbox"] if field_name == "action_checkbox" else base_classes
        if boolean and (value is None or type(value) is bool):
            return icons[value], classes
        shown = display_for_value(value, empty_display, boolean)
        if isinstance(value, (datetime.date, datetime.time)):
            classes = [*classes, "nowrap"]
        return shown, classes

    try:
        field = _get_non_gfk_field(opts, field_name) if isinstance(field_name, str) else None
    except (FieldDoesNotExist, FieldIsAForeignKeyColumnName):  # As lookup_field: not a field.
        field = None

    if field is not None and not field.auto_created:
        classes = base_classes
        if isinstance(field, (models.DateField, models.TimeField, models.ForeignKey)):
            classes = [*base_classes, "nowrap"]
        if isinstance(field.remote_field, models.ManyToOneRel):

            def related(result) -> tuple:
                value = getattr(result, field.name)
                return (empty if value is None else value), classes

            return related
        choices = None
        if getattr(field, "flatchoices", None):
            try:
                choices = dict(field.flatchoices)
            except TypeError:  # List-like choices: Django's own display handles them.
                choices = None

        def plain(result) -> tuple:
            value = getattr(result, field_name)
            if isinstance(value, str) and value.strip() == "":
                value = ""
            if choices is not None:
                return choices.get(value, empty), classes
            return display_for_field(value, field, empty, avoid_link=linked), classes

        return plain

    if field is not None:  # An auto-created field (the id): shown as a plain value.

        def auto(result) -> tuple:
            return boolean_or_value(getattr(result, field_name), False, empty)

        return auto

    if (
        field_name == "action_checkbox"
        and type(model_admin).action_checkbox is ModelAdmin.action_checkbox
    ):
        # ModelAdmin.action_checkbox's widget, without a template render per row.
        def checkbox(result) -> tuple:
            box = html(
                '<input type="checkbox" name="{}" value="{}" class="action-select" '
                'aria-label="Select this object for an action - {}">',
                helpers.ACTION_CHECKBOX_NAME,
                str(result.pk),
                str(result),
            )
            return box, ["action-checkbox"]

        return checkbox

    if isinstance(field_name, str) and field_name != "__str__" and hasattr(model_admin, field_name):
        attr = getattr(model_admin, field_name)
        boolean = getattr(attr, "boolean", False)
        empty_display = getattr(attr, "empty_value_display", empty)

        def method(result) -> tuple:
            value = attr(result)
            if isinstance(value, str) and value.strip() == "":
                value = ""
            return boolean_or_value(value, boolean, empty_display)

        return method

    def looked_up(result) -> tuple:  # Anything else: Django's lookup, row by row.
        _field, attr, value = lookup_field(field_name, result, model_admin)
        if isinstance(value, str) and value.strip() == "":
            value = ""
        boolean = getattr(attr, "boolean", False)
        if isinstance(attr, property) and hasattr(attr, "fget"):
            boolean = getattr(attr.fget, "boolean", False)
        return boolean_or_value(value, boolean, getattr(attr, "empty_value_display", empty))

    return looked_up


def fast_results(cl) -> list[ResultList]:
    """The rows of items_for_result for a list without a formset, outside a popup."""
    icons = _boolean_icons()
    link_in_col = _link_columns(cl)
    change_url = _change_url(cl)
    columns = []
    first = True
    for field_index, field_name in enumerate(cl.list_display):
        linked = link_in_col(first, field_name)
        tag = None
        if linked:
            tag = "th" if first else "td"
            first = False
        base_classes = [f"field-{_coerce_field_name(field_name, field_index)}"]
        show = _column(cl, field_name, base_classes, linked, icons)
        columns.append((show, base_classes, tag, linked))
    empty = cl.model_admin.get_empty_value_display()
    rows = []
    for result in cl.result_list:
        cells = []
        for show, base_classes, tag, linked in columns:
            try:
                shown, classes = show(result)
            except ObjectDoesNotExist:
                shown, classes = empty, base_classes
            row_class = SafeString(f' class="{" ".join(classes)}"')
            if linked:
                url = change_url(result)
                link = shown if url is None else html('<a href="{}">{}</a>', url, shown)
                cells.append(html("<{}{}>{}</{}>", tag, row_class, link, tag))
            else:
                cells.append(html("<td{}>{}</td>", row_class, shown))
        rows.append(ResultList(None, cells))
    return rows


def result_list(cl) -> dict:
    """The context of Django's result_list tag, with the rows built by fast_results."""
    if cl.formset or cl.is_popup:
        return django_result_list(cl)
    headers = list(result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": [],
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        # Each row's cells joined into one: the template's loop over a row's cells (500
        # {{ item }} for 50 rows of ten columns) then runs once per row; the same HTML.
        "results": [ResultList(None, [SafeString("".join(row))]) for row in fast_results(cl)],
    }


@register.tag(name="fast_result_list")
def result_list_tag(parser, token):
    return InclusionAdminNode(
        parser,
        token,
        func=result_list,
        template_name="change_list_results.html",
        takes_context=False,
    )
