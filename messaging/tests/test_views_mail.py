"""The ticket page shows a reply that came by mail without its quotes, with a link to the whole
mail; that page shows the whole text, as text."""

import pytest
from django.urls import reverse

from messaging.inbound import ingest
from messaging.tests.inbound_helpers import mail_settings, sample  # noqa: F401

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
