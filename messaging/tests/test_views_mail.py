"""The ticket page shows a reply that came by mail without its quotes, with a link to the whole
mail; that page shows the whole text, as text."""

import pytest
from django.urls import reverse

from messaging.inbound import ingest
from messaging.tests.inbound_helpers import mail_settings, sample  # noqa: F401
from tickets import search_index

pytestmark = pytest.mark.usefixtures("mail_settings")


def test_a_reply_by_mail_links_to_the_whole_mail(login, ticket, customer, agent):
    record, _ = ingest(sample("thunderbird_reply.eml", ticket), source="test")
    mail_url = reverse("tickets:message_mail", args=[ticket.pk, record.reply.pk])

    page = login(agent).get(ticket.get_absolute_url()).content.decode()
    whole = login(customer).get(mail_url)

    assert "The new driver fixed it." in page
    assert f'href="{mail_url}">Show the full mail</a>' in page
    assert "Accounts department" not in page
    assert whole.status_code == 200
    content = whole.content.decode()
    assert "The new driver fixed it." in content
    assert "Accounts department" in content
    assert "&gt; Have you tried turning it off and on again?" in content


def test_a_message_written_on_the_page_has_no_mail_link(login, ticket, customer, make_message):
    message = make_message(ticket, customer, "Typed on the page")

    page = login(customer).get(ticket.get_absolute_url()).content.decode()
    missing = login(customer).get(reverse("tickets:message_mail", args=[ticket.pk, message.pk]))

    assert "Show the full mail" not in page
    assert missing.status_code == 404


def test_the_whole_mail_is_text_never_markup(login, ticket, customer):
    raw = sample("thunderbird_reply.eml", ticket).replace(
        b"The new driver fixed it.", b"<script>alert(1)</script> fixed it."
    )
    record, _ = ingest(raw, source="test")

    content = (
        login(customer)
        .get(reverse("tickets:message_mail", args=[ticket.pk, record.reply.pk]))
        .content.decode()
    )

    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt; fixed it." in content


def test_someone_elses_mail_is_a_404(login, ticket, other_customer):
    record, _ = ingest(sample("gmail_reply.eml", ticket), source="test")

    response = login(other_customer).get(
        reverse("tickets:message_mail", args=[ticket.pk, record.reply.pk])
    )

    assert response.status_code == 404


# serialized_rollback: as reports/tests/test_migrations.py, so the flush afterwards sends no
# post_migrate whose content types would clash with the next serialized test's.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_marks_the_replies_that_came_by_mail_before_it(ticket, customer):
    """messaging 0010 adds Message.by_mail and sets it on the replies of the mails already
    processed."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    record, _ = ingest(sample("thunderbird_reply.eml", ticket), source="test")
    typed = ticket.messages.create(sender=customer, content="Typed on the page")
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([("messaging", "0009_ticket_message_vectors")])
        MigrationExecutor(connection).migrate(latest)
    finally:
        # SQLite adds and drops a column by remaking the table, which drops the search's
        # triggers; `migrate` puts them back (post_migrate), a bare executor does not.
        search_index.ensure_sqlite_index()

    record.reply.refresh_from_db()
    typed.refresh_from_db()
    assert (record.reply.by_mail, typed.by_mail) == (True, False)
