"""PostgreSQL: each ticket's messages' words kept on the ticket (tickets/search_index.py), so a
search is one GIN scan on the tickets. Nothing on SQLite."""

from django.db import migrations

from tickets import search_index


def install(apps, schema_editor):
    search_index.install_message_vectors(schema_editor)


def uninstall(apps, schema_editor):
    search_index.uninstall_message_vectors(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0007_search'),
        ('tickets', '0019_event_anonymised'),
    ]

    operations = [
        migrations.RunPython(install, uninstall, elidable=False),
    ]
