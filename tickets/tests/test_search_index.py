"""The search index on each database: made by migrations, checked and rebuilt by a command."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tickets import search_index
from tickets.search import search_tickets

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite's FTS5 tables (PostgreSQL keeps its columns)"
)
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's search columns"
)


def found(user, query: str) -> set[int]:
    return set(search_tickets(user, query, {"status": "all"}).tickets.values_list("pk", flat=True))


def test_the_check_passes_after_migrate(db, capsys):
    call_command("rebuild_search_index", "--check")
    assert "The search index is complete" in capsys.readouterr().out


def test_edits_and_deletes_reach_the_index(make_ticket, customer, agent):
    ticket = make_ticket(customer, title="Gizmo", description="A gizmo.")
    assert found(agent, "gizmo") == {ticket.pk}
    type(ticket).objects.filter(pk=ticket.pk).update(title="Widget", description="A widget.")
    assert found(agent, "gizmo") == set()
    assert found(agent, "widget") == {ticket.pk}
    pk = ticket.pk
    ticket.delete()
    assert found(agent, "widget") == set()
    assert pk not in found(agent, "a")
    call_command("rebuild_search_index", "--check")


@postgres_only
def test_postgres_has_gin_indexes_with_full_statistics(db):
    assert search_index.check() == []
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX tickets_ticket_search")
    assert search_index.check() == [
        "tickets_ticket: the GIN index tickets_ticket_search is missing"
    ]
    with pytest.raises(CommandError, match="GIN index"):
        call_command("rebuild_search_index", "--check")


@postgres_only
def test_rebuild_has_nothing_to_do_on_postgres(db, capsys):
    call_command("rebuild_search_index")
    assert "Nothing to rebuild" in capsys.readouterr().out


@sqlite_only
def test_a_missing_trigger_is_put_back_after_migrate(make_ticket, customer, agent):
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER tickets_ticket_fts_insert")
    assert search_index.check() == ["tickets_ticket: triggers missing: tickets_ticket_fts_insert"]
    ticket = make_ticket(customer, title="Gizmo", description="Written while the trigger was gone.")
    assert found(agent, "gizmo") == set()

    assert search_index.ensure_sqlite_index() == ["tickets_ticket"]

    assert found(agent, "gizmo") == {ticket.pk}
    assert search_index.check() == []
    assert search_index.ensure_sqlite_index() == []


@sqlite_only
def test_rebuild_brings_the_index_back_in_step(make_ticket, customer, agent, capsys):
    ticket = make_ticket(customer, title="Gizmo", description="A gizmo.")
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO tickets_ticket_fts(tickets_ticket_fts) VALUES ('delete-all')")
    assert found(agent, "gizmo") == set()
    problems = search_index.check()
    assert problems and "differs from the table" in problems[0]

    call_command("rebuild_search_index")

    assert (
        "Rebuilt the search index of tickets_ticket, messaging_message" in capsys.readouterr().out
    )
    assert found(agent, "gizmo") == {ticket.pk}
    assert search_index.check() == []


@sqlite_only
def test_a_missing_fts_table_is_reported(db):
    search_index.sqlite_uninstall(connection, search_index.MESSAGES)
    assert search_index.check() == [
        "messaging_message: the FTS5 table messaging_message_fts is missing"
    ]
    search_index.sqlite_install(connection, search_index.MESSAGES)
    assert search_index.check() == []


@sqlite_only
def test_without_fts5_the_search_matches_substrings(
    monkeypatch, make_ticket, make_message, customer, agent, capsys
):
    ticket = make_ticket(customer, title="Printer offline", description="On floor 2.")
    other = make_ticket(customer, title="Something", description="Else.")
    make_message(other, agent, "The zebra note", is_internal=True)
    monkeypatch.setattr(search_index, "sqlite_has_fts5", lambda: False)
    assert found(agent, "printer") == {ticket.pk}
    assert found(agent, '"floor 2" -zebra') == {ticket.pk}
    assert found(agent, "printer or zebra") == {ticket.pk, other.pk}
    assert found(customer, "zebra") == set()
    assert search_index.check() == ["SQLite lacks FTS5: the search matches substrings, slowly"]
    with pytest.raises(CommandError, match="no FTS5"):
        call_command("rebuild_search_index")
