"""Tickets that have files say so (tickets.Ticket.has_files, added by tickets 0016)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0003_attachments"),
        ("tickets", "0016_has_files"),
    ]

    operations = [
        migrations.RunSQL(
            "UPDATE tickets_ticket SET has_files = TRUE"
            " WHERE id IN (SELECT ticket_id FROM messaging_attachment)",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
