"""The data tables beside the report's charts, built in one call each.

A 90-day report shows some 400 table rows; as template loops they cost more than the rest of
the page's rendering together. Each cell is shown as a template variable shows it (localized,
escaped: a column may hold usernames), through helpdesk_site.html.
"""

from django import template
from django.utils.formats import localize
from django.utils.safestring import SafeString

from helpdesk_site.html import escaped, html

register = template.Library()


@register.simple_tag
def table_rows(rows, columns) -> SafeString:
    """The <tr>s of a chart's table, or one row saying there is no data."""
    if not rows:
        return html('<tr><td colspan="{}">no data</td></tr>', len(columns))
    return SafeString(
        "".join(
            "<tr>" + "".join(f"<td>{escaped(localize(cell))}</td>" for cell in row) + "</tr>"
            for row in rows
        )
    )
