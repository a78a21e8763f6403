"""PostgreSQL: each ticket's conversation words kept on the ticket, in two tsvector columns
(`messages_vector`: its public messages; `notes_vector`: its internal notes), each with a GIN
index and full statistics, and kept by statement triggers on the messages, so a search is one
query on the tickets (tickets/search.py, tickets/search_index.py). Nothing on SQLite, whose
FTS5 tables index the messages themselves.

The SQL is this migration's own, as it was when written: tickets/search_index.py may change
later (its rebuild and check read the same names)."""

from django.db import migrations

INSTALL = [
    "CREATE AGGREGATE helpdesk_tsvector_agg(tsvector) (SFUNC = tsvector_concat, STYPE = tsvector, INITCOND = '')",
    "ALTER TABLE tickets_ticket ADD COLUMN messages_vector tsvector NOT NULL DEFAULT '', ADD COLUMN notes_vector tsvector NOT NULL DEFAULT ''",
    "UPDATE tickets_ticket AS t\n        SET messages_vector = m.public, notes_vector = m.notes\n        FROM (\nSELECT ticket_id,\n       coalesce(helpdesk_tsvector_agg(search_vector ORDER BY created_at, id)\n                FILTER (WHERE NOT is_internal), '') AS public,\n       coalesce(helpdesk_tsvector_agg(search_vector ORDER BY created_at, id)\n                FILTER (WHERE is_internal), '') AS notes\n FROM messaging_message GROUP BY ticket_id) AS m\n        WHERE t.id = m.ticket_id",
    "CREATE FUNCTION helpdesk_ticket_vectors_rebuild(ticket_ids bigint[]) RETURNS void\n        LANGUAGE sql AS $$\n        UPDATE tickets_ticket AS t\n        SET messages_vector = coalesce(m.public, ''), notes_vector = coalesce(m.notes, '')\n        FROM (SELECT id FROM unnest(ticket_ids) AS id) AS changed\n        LEFT JOIN (\nSELECT ticket_id,\n       coalesce(helpdesk_tsvector_agg(search_vector ORDER BY created_at, id)\n                FILTER (WHERE NOT is_internal), '') AS public,\n       coalesce(helpdesk_tsvector_agg(search_vector ORDER BY created_at, id)\n                FILTER (WHERE is_internal), '') AS notes\n FROM messaging_message\n                   WHERE ticket_id = ANY(ticket_ids) GROUP BY ticket_id) AS m\n               ON m.ticket_id = changed.id\n        WHERE t.id = changed.id\n        $$",
    "CREATE FUNCTION helpdesk_message_vectors_insert() RETURNS trigger\n        LANGUAGE plpgsql AS $$\n        BEGIN\n            UPDATE tickets_ticket AS t\n            SET messages_vector = t.messages_vector || m.public,\n                notes_vector = t.notes_vector || m.notes\n            FROM (\nSELECT ticket_id,\n       coalesce(helpdesk_tsvector_agg(search_vector ORDER BY created_at, id)\n                FILTER (WHERE NOT is_internal), '') AS public,\n       coalesce(helpdesk_tsvector_agg(search_vector ORDER BY created_at, id)\n                FILTER (WHERE is_internal), '') AS notes\n FROM new_messages GROUP BY ticket_id) AS m\n            WHERE t.id = m.ticket_id;\n            RETURN NULL;\n        EXCEPTION WHEN program_limit_exceeded THEN\n            -- A conversation whose words pass a tsvector's limit (1 MB) is not refused a\n            -- message: that ticket keeps the words it had; the others get theirs, one by one.\n            DECLARE\n                m record;\n            BEGIN\n                FOR m IN \nSELECT ticket_id,\n       coalesce(helpdesk_tsvector_agg(search_vector ORDER BY created_at, id)\n                FILTER (WHERE NOT is_internal), '') AS public,\n       coalesce(helpdesk_tsvector_agg(search_vector ORDER BY created_at, id)\n                FILTER (WHERE is_internal), '') AS notes\n FROM new_messages GROUP BY ticket_id LOOP\n                    BEGIN\n                        UPDATE tickets_ticket AS t\n                        SET messages_vector = t.messages_vector || m.public,\n                            notes_vector = t.notes_vector || m.notes\n                        WHERE t.id = m.ticket_id;\n                    EXCEPTION WHEN program_limit_exceeded THEN\n                        NULL;\n                    END;\n                END LOOP;\n            END;\n            RETURN NULL;\n        END $$",
    'CREATE FUNCTION helpdesk_message_vectors_update() RETURNS trigger\n        LANGUAGE plpgsql AS $$\n        BEGIN\n            PERFORM helpdesk_ticket_vectors_rebuild(array_agg(DISTINCT ticket_id))\n            FROM (\n                SELECT o.ticket_id FROM old_messages AS o JOIN new_messages AS n USING (id)\n                WHERE o.content IS DISTINCT FROM n.content\n                   OR o.is_internal IS DISTINCT FROM n.is_internal\n                   OR o.ticket_id IS DISTINCT FROM n.ticket_id\n                UNION ALL\n                SELECT n.ticket_id FROM old_messages AS o JOIN new_messages AS n USING (id)\n                WHERE o.ticket_id IS DISTINCT FROM n.ticket_id\n            ) AS changed\n            HAVING count(*) > 0;\n            RETURN NULL;\n        EXCEPTION WHEN program_limit_exceeded THEN\n            RETURN NULL;\n        END $$',
    'CREATE FUNCTION helpdesk_message_vectors_delete() RETURNS trigger\n        LANGUAGE plpgsql AS $$\n        BEGIN\n            PERFORM helpdesk_ticket_vectors_rebuild(array_agg(DISTINCT ticket_id))\n            FROM old_messages HAVING count(*) > 0;\n            RETURN NULL;\n        END $$',
    'CREATE TRIGGER helpdesk_message_vectors_insert AFTER INSERT ON messaging_message REFERENCING NEW TABLE AS new_messages FOR EACH STATEMENT EXECUTE FUNCTION helpdesk_message_vectors_insert()',
    'CREATE TRIGGER helpdesk_message_vectors_update AFTER UPDATE ON messaging_message REFERENCING OLD TABLE AS old_messages NEW TABLE AS new_messages FOR EACH STATEMENT EXECUTE FUNCTION helpdesk_message_vectors_update()',
    'CREATE TRIGGER helpdesk_message_vectors_delete AFTER DELETE ON messaging_message REFERENCING OLD TABLE AS old_messages FOR EACH STATEMENT EXECUTE FUNCTION helpdesk_message_vectors_delete()',
    'CREATE INDEX tickets_ticket_messages_search ON tickets_ticket USING gin (messages_vector)',
    'CREATE INDEX tickets_ticket_notes_search ON tickets_ticket USING gin (notes_vector)',
    'ALTER TABLE tickets_ticket ALTER COLUMN messages_vector SET STATISTICS 1000',
    'ALTER TABLE tickets_ticket ALTER COLUMN notes_vector SET STATISTICS 1000',
]

UNINSTALL = [
    'DROP INDEX IF EXISTS tickets_ticket_messages_search',
    'DROP INDEX IF EXISTS tickets_ticket_notes_search',
    'DROP TRIGGER IF EXISTS helpdesk_message_vectors_insert ON messaging_message',
    'DROP TRIGGER IF EXISTS helpdesk_message_vectors_update ON messaging_message',
    'DROP TRIGGER IF EXISTS helpdesk_message_vectors_delete ON messaging_message',
    'DROP FUNCTION IF EXISTS helpdesk_message_vectors_insert()',
    'DROP FUNCTION IF EXISTS helpdesk_message_vectors_update()',
    'DROP FUNCTION IF EXISTS helpdesk_message_vectors_delete()',
    'DROP FUNCTION IF EXISTS helpdesk_ticket_vectors_rebuild(bigint[])',
    'ALTER TABLE tickets_ticket DROP COLUMN IF EXISTS messages_vector, DROP COLUMN IF EXISTS notes_vector',
    'DROP AGGREGATE IF EXISTS helpdesk_tsvector_agg(tsvector)',
]


def install(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for statement in INSTALL:
            cursor.execute(statement)
        cursor.execute("SELECT EXISTS (SELECT 1 FROM tickets_ticket)")
        if cursor.fetchone()[0]:
            cursor.execute("ANALYZE tickets_ticket")


def uninstall(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for statement in UNINSTALL:
            cursor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0008_verbose_names'),
        ('tickets', '0020_verbose_names'),
    ]

    operations = [
        migrations.RunPython(install, uninstall, elidable=False),
    ]
