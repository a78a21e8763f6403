"""Create the "Agents" group with the permissions ticket triage needs.

Permissions are normally created after all migrations have run; they are created here first so
that the group is complete on a fresh database. This migration was messaging's 0002 until the
group moved to the app that owns roles: on a database that ran that one, it finds the group and
its permissions in place and changes nothing.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

AGENT_PERMISSIONS = [
    ("accounts", "view_user"),
    ("tickets", "view_ticket"),
    ("tickets", "change_ticket"),
    ("tickets", "view_ticketevent"),
    ("messaging", "view_message"),
    ("messaging", "add_message"),
]


def create_agents_group(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Agents")
    for app_label, codename in AGENT_PERMISSIONS:
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


def remove_agents_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Agents").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0003_staff_index"),
        ("tickets", "0001_initial"),
        ("messaging", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_agents_group, remove_agents_group)]
