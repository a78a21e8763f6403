"""The outbox in the admin: every email with its status and last error; failed mail sent again."""

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.urls import reverse
from post_office.models import STATUS, Email, Log

from accounts import outbox

CHANGELIST = reverse("admin:post_office_email_changelist")


def failed_email(n: int = 0, error: str = "[Errno 111] Connection refused") -> Email:
    email = Email.objects.create(
        from_email="helpdesk@localhost",
        to=[f"customer{n}@example.com"],
        subject=f"[#{n}] Printer on fire",
        message="Fixed?",
        status=STATUS.failed,
        number_of_retries=8,
    )
    Log.objects.create(email=email, status=STATUS.failed, message="an older error")
    Log.objects.create(
        email=email, status=STATUS.failed, message=error, exception_type="ConnectionRefusedError"
    )
    return email


def test_the_list_shows_failed_mail_with_its_last_error(login, admin_user):
    email = failed_email(error="[Errno 111] Connection refused (the last try)")

    response = login(admin_user).get(CHANGELIST, {"status__exact": STATUS.failed})

    assert response.status_code == 200
    content = response.content.decode()
    assert "customer0@example.com" in content
    assert "[Errno 111] Connection refused (the last try)" in content
    assert "an older error" not in content
    assert "Send the selected failed emails again" in content
    page = login(admin_user).get(reverse("admin:post_office_email_change", args=[email.pk]))
    assert page.status_code == 200
    # Every failed try on the mail's page, and no button for post-office's own sending view.
    assert "an older error" in page.content.decode()
    assert "Resend" not in page.content.decode()


def test_the_status_filter_lists_the_mail_still_queued(login, admin_user):
    # Mail waiting for a worker (none runs): queued as a change queues it, beside mail sent
    # and mail failed.
    [waiting] = outbox.queue([outbox.Mail(to="waiting@example.com", subject="Queued", text="…")])
    failed_email()
    Email.objects.create(
        from_email="helpdesk@localhost", to=["sent@example.com"], subject="s", status=STATUS.sent
    )
    client = login(admin_user)

    response = client.get(CHANGELIST, {"status__exact": STATUS.queued})

    assert response.status_code == 200
    assert [email.pk for email in response.context["cl"].result_list] == [waiting]
    content = response.content.decode()
    assert "waiting@example.com" in content
    assert "customer0@example.com" not in content
    assert "sent@example.com" not in content
    # The filter is offered on the list itself.
    everything = client.get(CHANGELIST).content.decode()
    assert f"?status__exact={STATUS.queued}" in everything
    assert "waiting@example.com" in everything and "sent@example.com" in everything


def test_send_again_sends_failed_mail_and_says_what_it_left(
    login, admin_user, django_capture_on_commit_callbacks
):
    failed = failed_email()
    sent = Email.objects.create(
        from_email="helpdesk@localhost", to=["x@example.com"], subject="s", status=STATUS.sent
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = login(admin_user).post(
            CHANGELIST,
            {"action": "send_again", ACTION_CHECKBOX_NAME: [failed.pk, sent.pk]},
            follow=True,
        )

    assert response.status_code == 200
    notes = [str(m) for m in response.context["messages"]]
    assert "1 email put back in the queue to be sent." in notes
    assert any(note.startswith("1 email left as it is") for note in notes)
    failed.refresh_from_db()
    assert failed.status == STATUS.sent
    [delivered] = mail.outbox
    assert delivered.to == ["customer0@example.com"]


def test_an_agent_may_not_see_the_outbox(login, agent):
    failed_email()

    assert login(agent).get(CHANGELIST).status_code == 403


@pytest.mark.parametrize("rows", [3, 30])
def test_the_list_costs_the_same_queries_whatever_its_length(
    rows, login, admin_user, django_assert_max_num_queries
):
    for n in range(rows):
        failed_email(n)
    Email.objects.filter(pk__in=Email.objects.values("pk")[:1]).update(
        status=STATUS.requeued, scheduled_time=Email.objects.first().created + timedelta(minutes=5)
    )
    client = login(admin_user)

    with django_assert_max_num_queries(12):
        response = client.get(CHANGELIST)

    assert response.status_code == 200
