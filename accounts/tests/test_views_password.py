import re

import pytest
from django.core import mail
from django.urls import reverse
from post_office.models import STATUS, Email

from accounts import outbox
from conftest import PASSWORD
from tests.mail_helpers import SmtpServer, send_over

LOGIN_URL = reverse("accounts:login")
CHANGE_URL = reverse("accounts:password_change")
RESET_URL = reverse("accounts:password_reset")
RESET_DONE_URL = reverse("accounts:password_reset_done")
NEW_PASSWORD = "a-long-and-unusual-passphrase"


class TestPasswordChange:
    def test_anonymous_is_sent_to_login(self, client, db):
        response = client.get(CHANGE_URL)

        assert response.status_code == 302
        assert response["Location"] == f"{LOGIN_URL}?next={CHANGE_URL}"

    def test_it_shows_the_form(self, login, customer):
        response = login(customer).get(CHANGE_URL)

        assert response.status_code == 200
        assert 'name="new_password1"' in response.content.decode()

    def test_it_changes_the_password_and_keeps_the_session(self, login, customer):
        client = login(customer)

        response = client.post(
            CHANGE_URL,
            {
                "old_password": PASSWORD,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )

        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:password_change_done")
        customer.refresh_from_db()
        assert customer.check_password(NEW_PASSWORD)
        assert not customer.check_password(PASSWORD)
        assert client.get(reverse("accounts:profile")).status_code == 200

    def test_a_wrong_old_password_changes_nothing(self, login, customer):
        response = login(customer).post(
            CHANGE_URL,
            {
                "old_password": "not-my-password",
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )

        # An invalid form is a 400 with the form shown again, as on every form page.
        assert response.status_code == 400
        assert "old_password" in response.context["form"].errors
        customer.refresh_from_db()
        assert customer.check_password(PASSWORD)

    def test_a_weak_new_password_is_refused(self, login, customer):
        response = login(customer).post(
            CHANGE_URL,
            {"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"},
        )

        assert "too short" in " ".join(response.context["form"].errors["new_password2"])
        customer.refresh_from_db()
        assert customer.check_password(PASSWORD)


class TestPasswordReset:
    @pytest.fixture(autouse=True)
    def on_commit(self, django_capture_on_commit_callbacks):
        self.capture_on_commit = django_capture_on_commit_callbacks

    def request_reset(self, client, email):
        """Ask for a reset; the email is queued in the outbox, and sent after the commit."""
        with self.capture_on_commit(execute=True):
            return client.post(RESET_URL, {"email": email})

    def reset_link(self):
        match = re.search(r"https?://testserver(/accounts/reset/\S+/)", mail.outbox[0].body)
        assert match, mail.outbox[0].body
        return match.group(1)

    def test_it_emails_a_reset_link(self, client, customer):
        response = self.request_reset(client, "customer@example.com")

        assert response.status_code == 302
        assert response["Location"] == RESET_DONE_URL
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == ["customer@example.com"]
        assert "/accounts/reset/" in mail.outbox[0].body
        assert "customer" in mail.outbox[0].body

    def test_the_email_says_it_is_automatic(self, client, customer):
        self.request_reset(client, "customer@example.com")

        [email] = mail.outbox
        assert email.message()["Auto-Submitted"] == "auto-generated"
        assert "\n" not in email.subject

    def test_the_email_address_is_matched_in_any_case(self, client, customer):
        self.request_reset(client, "CUSTOMER@Example.com")

        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == ["customer@example.com"]

    def test_following_the_link_sets_a_new_password(self, client, customer):
        self.request_reset(client, "customer@example.com")

        response = client.get(self.reset_link())
        assert response.status_code == 302
        set_password_url = response["Location"]
        assert set_password_url.endswith("/set-password/")
        response = client.post(
            set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        )

        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:password_reset_complete")
        customer.refresh_from_db()
        assert customer.check_password(NEW_PASSWORD)
        response = client.post(LOGIN_URL, {"username": "customer", "password": NEW_PASSWORD})
        assert response.status_code == 302

    def test_the_link_works_only_once(self, client, customer):
        self.request_reset(client, "customer@example.com")
        link = self.reset_link()
        set_password_url = client.get(link)["Location"]
        client.post(
            set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        )

        response = client.get(link, follow=True)

        assert response.context["validlink"] is False
        customer.refresh_from_db()
        assert customer.check_password(NEW_PASSWORD)

    def test_an_unknown_address_sends_nothing_but_looks_the_same(self, client, customer):
        response = self.request_reset(client, "nobody@example.com")

        assert response.status_code == 302
        assert response["Location"] == RESET_DONE_URL
        assert mail.outbox == []

    def test_an_inactive_user_gets_no_email(self, client, customer):
        customer.is_active = False
        customer.save(update_fields=["is_active"])

        self.request_reset(client, "customer@example.com")

        assert mail.outbox == []


def test_a_new_password_of_only_spaces_is_refused(login, customer):
    response = login(customer).post(
        CHANGE_URL,
        {"old_password": PASSWORD, "new_password1": " " * 16, "new_password2": " " * 16},
    )

    assert response.status_code == 400
    assert "only spaces" in " ".join(response.context["form"].errors["new_password2"])
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)

    def test_with_the_mail_server_down_the_email_is_sent_once_it_is_back(
        self, client, customer, settings
    ):
        smtp = send_over(settings, SmtpServer())  # a real SMTP server, not started: down
        try:
            response = self.request_reset(client, "customer@example.com")

            # The page answers as usual; the email waits in the outbox, its failed try logged.
            assert response["Location"] == RESET_DONE_URL
            [email] = Email.objects.all()
            assert email.status == STATUS.requeued
            assert list(email.logs.values_list("exception_type", flat=True)) == [
                "ConnectionRefusedError"
            ]

            smtp.start()
            assert outbox.send_due() == outbox.Sent(sent=1)  # the periodic task
            assert outbox.send_due() == outbox.Sent()  # and again: nothing more to send
        finally:
            smtp.stop()

        [(to, received)] = smtp.messages
        assert to == ["customer@example.com"]
        assert received["Auto-Submitted"] == "auto-generated"
        assert "/accounts/reset/" in received.get_body(("plain",)).get_content()
        email.refresh_from_db()
        assert email.status == STATUS.sent
