"""Which mails a person gets: replies and status changes, each turned off on the profile page,
and every mail turned off by the unsubscribe link; the customer's mails say the status in the
customer's words. Sent through the outbox to a real SMTP server."""

from __future__ import annotations

from django.urls import reverse
from post_office.models import Email

from tickets.tests.page_helpers import client_for

PROFILE_URL = reverse("accounts:profile")


def save_profile(user, **choices) -> None:
    """The profile form as a browser sends it: an unticked box is missing."""
    data = {"first_name": "Ada", "last_name": "Lovelace", "notify_by_email": "on"}
    data.update({name: "on" for name, wanted in choices.items() if wanted})
    response = client_for(user).post(PROFILE_URL, data)
    assert response.status_code == 302
    user.refresh_from_db()


def delivered(smtp) -> list[tuple[str, str]]:
    """(to, the line that says the status) of each mail the SMTP server received."""
    found = []
    for to, message in smtp.messages:
        text = message.get_body(("plain",)).get_content()
        status = next((line for line in text.splitlines() if line.startswith("Status: ")), "")
        found.append((to[0], status))
    return found


def test_the_customer_gets_both_by_default_in_their_words(
    smtp, ticket, agent, make_message, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        make_message(ticket, agent, "Which printer is it?")
    with django_capture_on_commit_callbacks(execute=True):
        ticket.update_status("closed", by=agent)

    assert delivered(smtp) == [
        ("customer@example.com", "Status: Waiting for your reply"),
        ("customer@example.com", "Status: Closed"),
    ]
    # Both carry the one-click unsubscribe (which turns every mail off).
    assert all(message["List-Unsubscribe"] for _, message in smtp.messages)


def test_no_reply_mails_for_someone_who_turned_them_off(
    smtp, ticket, customer, agent, make_message, django_capture_on_commit_callbacks
):
    save_profile(customer, notify_status=True)
    assert (customer.notify_replies, customer.notify_status) == (False, True)

    with django_capture_on_commit_callbacks(execute=True):
        make_message(ticket, agent, "Which printer is it?")
    with django_capture_on_commit_callbacks(execute=True):
        ticket.update_status("closed", by=agent)

    assert delivered(smtp) == [("customer@example.com", "Status: Closed")]
    assert Email.objects.count() == 1  # nothing queued for the reply at all


def test_no_status_mails_for_someone_who_turned_them_off(
    smtp, ticket, customer, agent, make_message, django_capture_on_commit_callbacks
):
    save_profile(customer, notify_replies=True)

    with django_capture_on_commit_callbacks(execute=True):
        ticket.update_status("closed", by=agent)
    with django_capture_on_commit_callbacks(execute=True):
        ticket.update_status("open", by=agent)
    with django_capture_on_commit_callbacks(execute=True):
        make_message(ticket, agent, "Reopened: which printer?")

    assert delivered(smtp) == [("customer@example.com", "Status: Waiting for your reply")]


def test_staff_who_turned_replies_off_hear_of_no_customer_reply(
    ticket, customer, agent, other_agent, make_message, django_capture_on_commit_callbacks
):
    """Unassigned: every agent hears of a reply, but one who turned replies off."""
    save_profile(agent, notify_status=True)

    with django_capture_on_commit_callbacks(execute=True):
        make_message(ticket, customer, "Still broken.")

    assert sorted(address for row in Email.objects.all() for address in row.to) == [
        "other_agent@example.com"
    ]


def test_unsubscribing_still_turns_every_mail_off(
    ticket, customer, agent, make_message, django_capture_on_commit_callbacks
):
    from accounts.services import user_unsubscribe

    user_unsubscribe(user=customer)
    ticket.reporter.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        make_message(ticket, agent, "Which printer is it?")
        ticket.update_status("closed", by=agent)

    assert not Email.objects.exists()
    customer.refresh_from_db()
    # The profile page shows all three as they are.
    html = client_for(customer).get(PROFILE_URL).content.decode()
    for name in ("notify_by_email", "notify_replies", "notify_status"):
        assert f'name="{name}"' in html
