"""The models' labels (the admin's column headers and form labels) are translated, and the
migrations that gave them their labels change no table."""

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils.functional import Promise
from django.utils.translation import override

APPS = ["accounts", "tickets", "messaging", "reports"]
LABEL_MIGRATIONS = [
    ("accounts", "0011_verbose_names"),
    ("tickets", "0020_verbose_names"),
    ("messaging", "0008_verbose_names"),
    ("reports", "0004_verbose_names"),
]


def own_fields():
    for app in APPS:
        for model in apps.get_app_config(app).get_models():
            for field in model._meta.get_fields():
                # The primary keys Django adds ("ID") are the same word in every language.
                if field.model is model and field.concrete and not field.auto_created:
                    yield model, field


def test_every_field_and_model_has_a_translatable_label():
    unmarked = [
        f"{model.__name__}.{field.name}"
        for model, field in own_fields()
        if not isinstance(field.verbose_name, Promise)
    ]
    unmarked += [
        f"{model.__name__} (Meta)"
        for app in APPS
        for model in apps.get_app_config(app).get_models()
        if not isinstance(model._meta.original_attrs.get("verbose_name"), Promise)
        or not isinstance(model._meta.original_attrs.get("verbose_name_plural"), Promise)
    ]
    assert unmarked == []


def test_the_ticket_labels_are_german_in_german():
    from tickets.models import Ticket

    with override("de"):
        assert str(Ticket._meta.get_field("assignee").verbose_name) == "Zuständig"
        assert str(Ticket._meta.verbose_name_plural) == "Tickets"
        assert str(dict(Ticket.Party.choices)[""]) == "Noch niemand"


# transaction=True: SQLite's schema editor refuses to start inside the test's transaction.
# serialized_rollback: the flush afterwards sends no post_migrate (as reports' migration tests).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_label_migrations_run_no_sql():
    """A label is no column: these migrations must not touch a table (on SQLite an AlterField
    of a generated column rebuilds the table, which drops its search and report triggers)."""
    loader = MigrationLoader(connection)
    statements = {}
    for app, name in LABEL_MIGRATIONS:
        state = loader.project_state((app, name), at_end=False)
        for operation in loader.graph.nodes[(app, name)].operations:
            new_state = state.clone()
            operation.state_forwards(app, new_state)
            with connection.schema_editor(collect_sql=True, atomic=False) as editor:
                operation.database_forwards(app, editor, state, new_state)
            if editor.collected_sql:
                statements[f"{app} {name}: {operation.describe()}"] = editor.collected_sql
            state = new_state
    assert statements == {}
