"""The chart tables' rows (reports/templatetags/report_html.py): each cell as a template
variable shows it, user text escaped, and "no data" for an empty table."""

from datetime import timedelta

from django.template import Context, Template
from django.test import SimpleTestCase

from reports.templatetags.report_html import table_rows

HOSTILE = '<script>alert("x")</script>'


class TableRowsTests(SimpleTestCase):
    def test_cells_read_as_template_variables_read(self):
        rows = [["agent", 3, None], [HOSTILE, 2.5, timedelta(hours=2)]]
        looped = Template(
            "{% for row in rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>"
            "{% endfor %}"
        ).render(Context({"rows": rows}))
        self.assertEqual(table_rows(rows, ["who", "n", "extra"]), looped)
        self.assertIn("<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</td>", looped)

    def test_an_empty_table_says_so_across_its_columns(self):
        self.assertEqual(
            table_rows([], ["day", "created", "closed"]),
            '<tr><td colspan="3">no data</td></tr>',
        )
