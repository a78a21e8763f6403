"""Who wrote each ticket's latest public message (tickets.0011 adds the column): staff other
than the reporter, or the customer. From then on message_send keeps it."""

from django.db import migrations

BACKFILL = """
UPDATE tickets_ticket SET last_public_by = COALESCE((
    SELECT CASE WHEN u.is_staff AND m.sender_id <> tickets_ticket.reporter_id
                THEN 'staff' ELSE 'customer' END
    FROM messaging_message m JOIN accounts_user u ON u.id = m.sender_id
    WHERE m.ticket_id = tickets_ticket.id AND NOT m.is_internal
    ORDER BY m.created_at DESC, m.id DESC
    LIMIT 1
), '')
"""


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_initial"),
        ("tickets", "0011_last_public_by"),
    ]

    operations = [migrations.RunSQL(BACKFILL, migrations.RunSQL.noop, elidable=True)]
