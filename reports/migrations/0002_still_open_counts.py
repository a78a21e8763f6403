from django.db import migrations, models


def install(apps, schema_editor):
    from reports import rollup

    rollup.install(schema_editor.connection.alias)
    rollup.rebuild(schema_editor.connection.alias)


def uninstall(apps, schema_editor):
    from reports import rollup

    rollup.uninstall(schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
    ]

    operations = [
        # The triggers go first: SQLite adds a column by rebuilding the table (a copy renamed
        # into place), and a rename checks every trigger that names the table, which the
        # rebuild has just dropped ("error in trigger ...: no such table").
        migrations.RunPython(uninstall, migrations.RunPython.noop, elidable=False),
        migrations.AddField(
            model_name="activityslot",
            name="still_open",
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name="activityslot",
            name="still_active",
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name="activityslot",
            name="still_awaiting",
            field=models.IntegerField(default=0),
        ),
        # The triggers now keep the new counts too (a status change or a first response moves a
        # ticket between them): replaced, and everything recounted. Going back removes them
        # (this code's triggers write the columns going back removes); the older code installs
        # its own at its next `migrate` (ReportsConfig.ready).
        migrations.RunPython(install, uninstall, elidable=False),
    ]
