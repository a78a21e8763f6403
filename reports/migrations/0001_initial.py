from django.db import migrations, models


def install(apps, schema_editor):
    from reports import rollup

    # The triggers of today's code write columns a later migration adds: installed there.
    if rollup.columns_ready(schema_editor.connection.alias):
        rollup.install(schema_editor.connection.alias)
        rollup.rebuild(schema_editor.connection.alias)


def uninstall(apps, schema_editor):
    from reports import rollup

    rollup.uninstall(schema_editor.connection.alias)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("tickets", "0005_covering_timeline_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="ActivitySlot",
            fields=[
                ("slot", models.DateTimeField(primary_key=True, serialize=False)),
                ("created", models.IntegerField(default=0)),
                ("created_low", models.IntegerField(default=0)),
                ("created_normal", models.IntegerField(default=0)),
                ("created_high", models.IntegerField(default=0)),
                ("created_urgent", models.IntegerField(default=0)),
                ("into_closed", models.IntegerField(default=0)),
                ("out_of_closed", models.IntegerField(default=0)),
                ("into_active", models.IntegerField(default=0)),
                ("out_of_active", models.IntegerField(default=0)),
            ],
            options={
                "ordering": ["slot"],
            },
        ),
        # The triggers that keep the counts, and the counts of what is already there.
        migrations.RunPython(install, uninstall, elidable=False),
    ]
