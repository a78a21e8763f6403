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
    return set(search_tickets(user, query, {"status": "all"}).hits)


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
def test_rebuild_on_postgres_makes_the_conversations_words_anew(
    make_ticket, make_message, customer, agent, capsys
):
    from messaging.models import Message

    ticket = make_ticket(customer, title="Printer", description="It jams.")
    make_message(ticket, agent, "A koala reply.")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE messaging_message DISABLE TRIGGER USER")
    # Written while the triggers were off (an operator's bulk load, say): not on the ticket.
    Message.objects.create(ticket=ticket, sender=agent, content="A wombat reply.")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE messaging_message ENABLE TRIGGER USER")
    assert found(customer, "wombat") == set()
    call_command("rebuild_search_index")
    assert "Rebuilt the search index of tickets_ticket" in capsys.readouterr().out
    assert found(customer, "wombat koala") == {ticket.pk}


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


# --- A conversation's words: on PostgreSQL kept on the ticket by triggers ---------------------


def test_a_reply_makes_its_words_findable(make_ticket, make_message, customer, agent):
    ticket = make_ticket(customer, title="Printer", description="It jams.")
    assert found(agent, "wombat") == set()
    make_message(ticket, agent, "Try the wombat tray.")
    assert found(agent, "wombat") == {ticket.pk}
    assert found(customer, "wombat") == {ticket.pk}
    # The conversation's words with the ticket's own: all of them must match, in any part.
    assert found(customer, "jams wombat") == {ticket.pk}
    make_message(ticket, customer, "The wombat tray worked, thanks.")
    assert found(customer, '"tray worked"') == {ticket.pk}


def test_an_internal_notes_words_are_found_by_staff_only(
    make_ticket, make_message, customer, agent
):
    ticket = make_ticket(customer, title="Printer", description="It jams.")
    make_message(ticket, agent, "Customer sounds like a platypus.", is_internal=True)
    make_message(ticket, agent, "We are on it.")
    assert found(agent, "platypus") == {ticket.pk}
    assert found(customer, "platypus") == set()
    assert found(customer, "jams platypus") == set()
    assert found(customer, "jams -platypus") == {ticket.pk}
    # A note's words never leave a ticket out (for staff neither: the same hits as a customer).
    assert found(agent, "jams -platypus") == {ticket.pk}
    assert found(agent, "jams -on") == set()
    assert found(customer, "on it") == {ticket.pk}


def test_changed_and_removed_messages_leave_the_search(make_ticket, make_message, customer, agent):
    from messaging.models import Message

    ticket = make_ticket(customer, title="Printer", description="It jams.")
    reply = make_message(ticket, agent, "Try the wombat tray.")
    note = make_message(ticket, agent, "A platypus again.", is_internal=True)
    Message.objects.filter(pk=reply.pk).update(content="Try the other tray.")
    assert found(agent, "wombat") == set()
    assert found(customer, "other tray") == {ticket.pk}
    # A note made public is found by the customer; a reply made a note no longer is.
    Message.objects.filter(pk=note.pk).update(is_internal=False)
    Message.objects.filter(pk=reply.pk).update(is_internal=True)
    assert found(customer, "platypus") == {ticket.pk}
    assert found(customer, "other") == set()
    assert found(agent, "other") == {ticket.pk}
    Message.objects.filter(pk__in=[reply.pk, note.pk]).delete()
    assert found(agent, "platypus") == set()
    assert found(agent, "other") == set()
    assert found(agent, "jams") == {ticket.pk}


def test_messages_written_in_bulk_are_searched(make_ticket, customer, other_customer, agent):
    from messaging.models import Message

    first = make_ticket(customer, title="Printer", description="It jams.")
    second = make_ticket(other_customer, title="Screen", description="It flickers.")
    Message.objects.bulk_create(
        [
            Message(ticket=first, sender=agent, content="A wombat reply."),
            Message(ticket=first, sender=agent, content="A platypus note.", is_internal=True),
            Message(ticket=second, sender=agent, content="Another wombat reply."),
        ]
    )
    assert found(agent, "wombat") == {first.pk, second.pk}
    assert found(customer, "wombat") == {first.pk}
    assert found(customer, "platypus") == set()
    assert found(agent, "platypus") == {first.pk}
    second.delete()
    assert found(agent, "wombat") == {first.pk}


@postgres_only
def test_postgres_ticket_vectors_match_a_rebuild(make_ticket, make_message, customer, agent):
    """After replies, notes, edits and removals the triggers' vectors are the ones the
    migration's backfill would make."""
    from messaging.models import Message

    tickets = [make_ticket(customer, title=f"Gizmo {number}") for number in range(3)]
    for number, ticket in enumerate(tickets):
        for turn in range(3):
            make_message(ticket, agent, f"Reply {turn} on {number}: the gizmo works.")
        make_message(ticket, agent, f"Note on {number}.", is_internal=True)
    Message.objects.filter(ticket=tickets[0], content__startswith="Reply 1").delete()
    Message.objects.filter(ticket=tickets[1], content__startswith="Reply 0").update(content="New.")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, messages_vector::text, notes_vector::text FROM tickets_ticket"
            " WHERE id = ANY(%s) ORDER BY id",
            [[ticket.pk for ticket in tickets]],
        )
        kept = cursor.fetchall()
        cursor.execute(
            "SELECT helpdesk_ticket_vectors_rebuild(%s)", [[ticket.pk for ticket in tickets]]
        )
        cursor.execute(
            "SELECT id, messages_vector::text, notes_vector::text FROM tickets_ticket"
            " WHERE id = ANY(%s) ORDER BY id",
            [[ticket.pk for ticket in tickets]],
        )
        assert cursor.fetchall() == kept
    assert "'new'" in kept[1][1] and "'note'" in kept[1][2] and "'note'" not in kept[1][1]


@postgres_only
def test_postgres_a_conversation_too_big_for_a_tsvector_still_takes_messages(
    make_ticket, make_message, customer, agent
):
    ticket = make_ticket(customer, title="Logs")
    with connection.cursor() as cursor:
        # Nearly 1 MB of distinct words on the ticket already: the next message's do not fit.
        cursor.execute(
            "UPDATE tickets_ticket SET messages_vector = (SELECT"
            " to_tsvector('simple', string_agg(md5(n::text) || md5((n + 1)::text), ' '))"
            " FROM generate_series(1, 15300) AS n) WHERE id = %s",
            [ticket.pk],
        )
    words = " ".join(f"{number:x}" * 8 + "x" for number in range(100, 300))
    message = make_message(ticket, agent, f"One more wombat: {words}")
    assert message.pk is not None
    assert found(agent, "logs") == {ticket.pk}


@postgres_only
def test_postgres_check_reports_a_missing_message_vector_trigger(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE messaging_message DISABLE TRIGGER helpdesk_message_vectors_insert"
        )
    assert search_index.check() == [
        "messaging_message: triggers missing or disabled: helpdesk_message_vectors_insert"
    ]


@postgres_only
def test_postgres_the_migration_fills_in_the_conversations_already_there(
    make_ticket, make_message, customer, agent
):
    from django.db.migrations.executor import MigrationExecutor

    ticket = make_ticket(customer, title="Printer", description="It jams.")
    with connection.cursor() as cursor:
        # The test's transaction holds deferred foreign key checks: ALTER TABLE waits for none.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate([("messaging", "0007_search")])
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_attribute WHERE attname = 'messages_vector'")
        assert cursor.fetchone() is None
    # Written before the migration: no trigger, no column on the ticket (the model as it was
    # then: later migrations add columns).
    Message = executor.loader.project_state(("messaging", "0007_search")).apps.get_model(
        "messaging", "Message"
    )
    Message.objects.bulk_create(
        [
            Message(ticket_id=ticket.pk, sender_id=agent.pk, content="A wombat reply."),
            Message(
                ticket_id=ticket.pk,
                sender_id=agent.pk,
                content="A platypus note.",
                is_internal=True,
            ),
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    MigrationExecutor(connection).migrate(latest)
    assert search_index.check() == []
    assert found(customer, "wombat jams") == {ticket.pk}
    assert found(customer, "platypus") == set()
    assert found(agent, "platypus") == {ticket.pk}
    make_message(ticket, agent, "A koala reply.")
    assert found(customer, "koala wombat") == {ticket.pk}


@postgres_only
@pytest.mark.parametrize("walk_max_rows", [0, 10**9])
def test_postgres_both_plans_find_the_same_tickets(
    monkeypatch, walk_max_rows, make_ticket, make_message, customer, other_customer, agent
):
    """Walked newest first (a common word) or read from the indexes (a rare one): the same
    hits, newest first, and the planner's settings as they were after either."""
    from tickets import search

    monkeypatch.setattr(search, "WALK_MAX_ROWS", walk_max_rows)
    tickets = [
        make_ticket((customer, other_customer)[n % 2], title=f"Gizmo {n}", description="It jams.")
        for n in range(6)
    ]
    make_message(tickets[0], agent, "A wombat reply.")
    make_message(tickets[1], agent, "A wombat note.", is_internal=True)
    make_message(tickets[2], agent, "Slow, the wombat.")
    assert found(agent, "wombat") == {t.pk for t in tickets[:3]}
    assert found(customer, "wombat") == {tickets[0].pk, tickets[2].pk}  # not the note
    assert found(agent, "wombat -slow") == {tickets[0].pk, tickets[1].pk}
    assert found(agent, "gizmo jams wombat") == {t.pk for t in tickets[:3]}
    result = search_tickets(agent, "gizmo", {"status": "all", "sort": "-created"})
    assert result.hits == [t.pk for t in reversed(tickets)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('enable_bitmapscan'), current_setting('enable_seqscan')"
        )
        assert cursor.fetchone() == ("on", "on")
