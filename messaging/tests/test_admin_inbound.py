"""Inbound mail in the admin: every mail with its status and reason; failed mail processed
again; an address that bounced shown on its user's page."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from messaging.inbound import ingest
from messaging.models import InboundEmail
from messaging.tests.inbound_helpers import mail, mail_settings  # noqa: F401
from tickets.models import Ticket

pytestmark = pytest.mark.usefixtures("mail_settings")
CHANGELIST = reverse("admin:messaging_inboundemail_changelist")


def failed(monkeypatch, **fields):
    import messaging.inbound as inbound

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(inbound, "ticket_create_with_files", broken)
    record, _ = ingest(mail(**fields), source="test")
    monkeypatch.undo()
    return record


def test_the_list_shows_each_mail_with_its_status_and_reason(login, admin_user, customer):
    ingest(mail(message_id="<a@x>", headers={"Auto-Submitted": "auto-replied"}), source="test")
    ingest(mail(message_id="<b@x>", subject="A real question"), source="test")

    response = login(admin_user).get(CHANGELIST)

    assert response.status_code == 200
    content = response.content.decode()
    assert "an automatic mail (Auto-Submitted: auto-replied)" in content
    assert "A real question" in content
    assert "a new ticket #" in content


def test_a_mail_page_shows_its_text_and_cannot_be_changed(login, admin_user, customer):
    record, _ = ingest(mail(body="The <b>printer</b> is on fire."), source="test")

    response = login(admin_user).get(
        reverse("admin:messaging_inboundemail_change", args=[record.pk])
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "The &lt;b&gt;printer&lt;/b&gt; is on fire." in content
    assert 'name="_save"' not in content


def test_agents_cannot_see_the_inbound_mail(login, agent):
    assert login(agent).get(CHANGELIST).status_code == 403


def test_failed_mail_is_processed_again_and_others_left_alone(
    login, admin_user, customer, monkeypatch
):
    broken = failed(monkeypatch, message_id="<broken@x>")
    ignored, _ = ingest(mail(message_id="<c@x>", headers={"Precedence": "bulk"}), source="test")
    assert broken.status == InboundEmail.Status.FAILED

    response = login(admin_user).post(
        CHANGELIST,
        {"action": "process_again", ACTION_CHECKBOX_NAME: [broken.pk, ignored.pk]},
        follow=True,
    )

    content = response.content.decode()
    assert "1 mail processed again: 1 Processed." in content
    assert "1 mail left as it is" in content
    broken.refresh_from_db()
    assert broken.status == InboundEmail.Status.PROCESSED
    assert Ticket.objects.count() == 1


def test_a_user_page_shows_that_mail_to_them_bounced(login, admin_user, customer):
    from accounts.services import user_mark_undeliverable

    user_mark_undeliverable(email="CUSTOMER@example.com", reason="550 User unknown")

    response = login(admin_user).get(reverse("admin:accounts_user_change", args=[customer.pk]))

    content = response.content.decode()
    assert "Mail to this address bounced" in content
    assert "550 User unknown" in content


@pytest.mark.parametrize("rows", [1, 20])
def test_the_list_costs_the_same_queries_whatever_its_length(
    rows, login, admin_user, customer, django_assert_max_num_queries, settings
):
    settings.INBOUND_MAX_NEW_PER_HOUR = 100
    for n in range(rows):
        ingest(mail(message_id=f"<n{n}@x>", subject=f"Question {n}"), source="test")
    client = login(admin_user)

    with django_assert_max_num_queries(10):
        response = client.get(CHANGELIST)

    assert response.status_code == 200
    assert response.content.decode().count("a new ticket #") == rows
