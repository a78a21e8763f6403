"""messaging.inbound.ingest: what each kind of mail becomes (no IMAP here: the mailbox tests,
test_mailbox.py, fetch the same way from a real Dovecot)."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from django.core import mail as django_mail
from django.db import IntegrityError, transaction
from post_office.models import Email

from accounts.models import User
from messaging.inbound import html_to_text, ingest, reprocess
from messaging.models import Attachment, InboundEmail, Message
from messaging.tests.inbound_helpers import MAIL_DIR, mail, mail_settings, sample  # noqa: F401
from tickets import mail_ids
from tickets.models import Ticket, TicketEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mail_settings")]
Status = InboundEmail.Status


def test_a_mail_from_a_customer_opens_a_ticket(customer):
    record, created = ingest(sample("gmail_new_ticket.eml"), source="test")

    assert created
    assert record.status == Status.PROCESSED
    ticket = record.ticket
    assert ticket.reporter == customer
    assert ticket.title == "Printer prints blank pages"
    assert ticket.description.startswith("Hello,\n\nSince this morning the printer")
    assert "replaced the toner" in ticket.description
    assert record.opened_ticket
    assert record.message_id == "<CAGmail0001+new=ticket@mail.gmail.com>"
    assert bytes(record.raw) == sample("gmail_new_ticket.eml")


def test_the_same_mail_delivered_twice_is_stored_and_applied_once(customer):
    first, created = ingest(sample("gmail_new_ticket.eml"), source="imap")
    # The same mail again, by another route (another Received header on top).
    again, created_again = ingest(
        b"Received: from mx2.example.org\r\n" + sample("gmail_new_ticket.eml"), source="pipe"
    )

    assert created and not created_again
    assert again.pk == first.pk
    assert InboundEmail.objects.count() == 1
    assert Ticket.objects.count() == 1


def test_a_mail_without_message_id_is_known_again_by_its_bytes(customer):
    raw = mail(message_id=None)
    ingest(raw, source="test")
    _, created = ingest(raw, source="test")

    assert not created
    assert Ticket.objects.count() == 1
    assert InboundEmail.objects.count() == 1


def test_the_database_refuses_a_second_row_with_the_same_bytes(customer):
    raw = sample("gmail_new_ticket.eml")
    first, _ = ingest(raw, source="imap")
    again, created = ingest(raw, source="imap")
    assert (again.pk, created) == (first.pk, False)

    # Even written past ingest, under another key: the SHA-256 is unique in the database.
    with pytest.raises(IntegrityError), transaction.atomic():
        InboundEmail.objects.create(
            key="another key",
            sha256=first.sha256,
            raw=raw,
            size=len(raw),
            source="test",
            status=Status.FAILED,
        )
    assert InboundEmail.objects.count() == 1


@pytest.mark.parametrize(
    "name, says",
    [
        ("gmail_reply.eml", "It works again after the restart, thank you!"),
        ("outlook_reply.eml", "The printer on the 3rd floor does it too now."),
        ("apple_mail_reply.eml", "Sorry, one more thing: it only happens with double-sided"),
        ("thunderbird_reply.eml", "The new driver fixed it. Grüße from the 2nd floor!"),
    ],
)
def test_a_reply_from_a_mail_client_keeps_the_new_text_only(ticket, customer, name, says):
    record, _ = ingest(sample(name, ticket), source="test")

    assert record.status == Status.PROCESSED, record.reason
    assert record.ticket == ticket
    message = record.reply
    assert message.sender == customer and message.ticket == ticket
    assert message.content.startswith(says)
    # The quoted history and the signature are cut; the whole text stays on the row.
    assert "turning it off" not in message.content
    assert "Accounts department" not in message.content
    assert "Best regards" not in message.content
    assert "Have you tried turning it off" in record.text


def test_a_reply_is_found_by_the_plus_address_alone(ticket, customer):
    raw = mail(subject="about my ticket", headers={"Cc": mail_ids.reply_address(ticket.pk)})
    record, _ = ingest(raw, source="test")

    assert record.ticket == ticket
    assert "plus" in record.reason or "reply address" in record.reason


def test_a_reply_to_a_mail_that_opened_a_ticket_is_found_by_its_message_id(customer):
    opened, _ = ingest(mail(message_id="<first@example.com>"), source="test")
    reply, _ = ingest(
        mail(message_id="<second@example.com>", headers={"In-Reply-To": "<first@example.com>"}),
        source="test",
    )

    assert reply.ticket == opened.ticket
    assert reply.reply is not None
    assert Ticket.objects.count() == 1


def test_the_subject_tag_threads_only_for_the_reporter_and_staff(
    ticket, customer, other_customer, agent
):
    tagged = f"Re: [#{ticket.pk}] {ticket.title}"
    by_reporter, _ = ingest(mail(subject=tagged, message_id="<a@x>"), source="test")
    by_agent, _ = ingest(
        mail(sender="agent@example.com", subject=tagged, message_id="<b@x>"), source="test"
    )
    by_stranger, _ = ingest(
        mail(sender="other_customer@example.com", subject=tagged, message_id="<c@x>"),
        source="test",
    )

    assert by_reporter.ticket == ticket
    assert by_agent.ticket == ticket
    # An agent's mail is a public reply by that agent: the customer hears of it.
    assert by_agent.reply.sender == agent and not by_agent.reply.is_internal
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None
    assert by_stranger.ticket != ticket
    assert by_stranger.opened_ticket
    assert by_stranger.ticket.reporter == other_customer


def test_a_signed_reference_from_someone_else_opens_a_new_ticket(ticket, other_customer):
    raw = sample("gmail_reply.eml", ticket).replace(
        b"customer@example.com", b"other_customer@example.com"
    )
    record, _ = ingest(raw, source="test")

    assert record.status == Status.PROCESSED
    assert record.ticket != ticket
    assert record.ticket.reporter == other_customer
    assert f"names ticket #{ticket.pk}" in record.reason
    assert not Message.objects.filter(ticket=ticket).exists()


def test_an_unknown_sender_gets_a_customer_account_without_a_usable_password(db):
    record, _ = ingest(mail(sender="New Person <new.person@example.net>"), source="test")

    user = User.objects.get(email="new.person@example.net")
    assert record.ticket.reporter == user
    assert not user.has_usable_password()
    assert not user.is_staff


def test_unknown_senders_can_be_refused(settings, db):
    settings.INBOUND_UNKNOWN_SENDERS = "refuse"
    record, _ = ingest(mail(sender="stranger@example.net"), source="test")

    assert record.status == Status.QUARANTINED
    assert "has no account" in record.reason
    assert not User.objects.filter(email="stranger@example.net").exists()
    assert Ticket.objects.count() == 0


def test_a_deactivated_account_is_refused(customer, deactivate):
    deactivate(customer)
    record, _ = ingest(mail(), source="test")

    assert record.status == Status.QUARANTINED
    assert Ticket.objects.count() == 0


def test_new_tickets_by_mail_are_limited_per_sender(settings, customer, ticket):
    settings.INBOUND_MAX_NEW_PER_HOUR = 2
    outcomes = [
        ingest(mail(message_id=f"<n{n}@example.com>", subject=f"Issue {n}"), source="test")[0]
        for n in range(3)
    ]
    # A reply on an existing ticket is not a new ticket: it is never limited.
    reply, _ = ingest(
        mail(message_id="<r@example.com>", subject=f"Re: [#{ticket.pk}] x"), source="test"
    )

    assert [o.status for o in outcomes] == [Status.PROCESSED, Status.PROCESSED, Status.QUARANTINED]
    assert "INBOUND_MAX_NEW_PER_HOUR" in outcomes[2].reason
    assert reply.status == Status.PROCESSED and reply.ticket == ticket
    assert Ticket.objects.filter(reporter=customer).count() == 3  # the fixture's and two


@pytest.mark.parametrize(
    "name, says",
    [
        ("vacation_auto_reply.eml", "Auto-Submitted"),
        ("outlook_automatic_reply.eml", "X-Auto-Response-Suppress"),
        ("mailing_list.eml", "List-Id"),
    ],
)
def test_auto_replies_and_list_mail_create_nothing(ticket, name, says):
    Email.objects.all().delete()
    record, _ = ingest(sample(name, ticket), source="test")

    assert record.status == Status.IGNORED
    assert says in record.reason
    assert record.ticket is None
    assert Ticket.objects.count() == 1
    assert Message.objects.count() == 0
    assert Email.objects.count() == 0  # nothing is sent back


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-generated"},
        {"X-Autorespond": "yes"},
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
    ],
)
def test_each_automatic_header_is_enough(customer, headers):
    record, _ = ingest(mail(headers=headers), source="test")

    assert record.status == Status.IGNORED
    assert Ticket.objects.count() == 0


def test_auto_submitted_no_is_a_person(customer):
    record, _ = ingest(mail(headers={"Auto-Submitted": "no"}), source="test")

    assert record.status == Status.PROCESSED


def test_a_bounce_of_our_mail_marks_the_address_and_the_timeline(ticket, customer):
    bounced = mail_ids.message_id(ticket.pk, message_id=7)
    record, _ = ingest(sample("bounce_dsn.eml", ticket, bounced_id=bounced), source="test")

    assert record.status == Status.BOUNCE
    assert record.ticket == ticket
    assert "customer@example.com" in record.reason
    customer.refresh_from_db()
    assert customer.email_undeliverable_at is not None
    assert "User unknown" in customer.email_undeliverable_reason
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.BOUNCE)
    assert event.actor is None
    assert event.to_value == "customer@example.com"
    assert event.description.startswith("could not deliver a mail to customer@example.com")
    assert Message.objects.count() == 0


def test_no_more_mail_goes_to_an_address_that_bounced(ticket, customer, agent):
    bounced = mail_ids.message_id(ticket.pk, message_id=7)
    ingest(sample("bounce_dsn.eml", ticket, bounced_id=bounced), source="test")
    Email.objects.all().delete()

    Message.send(ticket=ticket, sender=agent, content="Are you there?")

    assert not Email.objects.filter(to__contains="customer@example.com").exists()


def test_a_bounce_that_is_not_about_our_mail_marks_nothing(customer):
    raw = sample("bounce_dsn.eml").replace(b"{{TICKET}}", b"1")
    raw = raw.replace(b"{{BOUNCED_ID}}", b"<not-ours@example.com>")
    record, _ = ingest(raw, source="test")

    assert record.status == Status.BOUNCE
    customer.refresh_from_db()
    assert customer.email_undeliverable_at is None


def test_our_own_notification_fed_back_in_creates_nothing(
    ticket, customer, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        Message.send(ticket=ticket, sender=agent, content="Have you tried turning it off?")
    sent = [m for m in django_mail.outbox if m.to == ["customer@example.com"]]
    assert sent
    tickets, messages = Ticket.objects.count(), Message.objects.count()

    for email in sent:
        record, _ = ingest(email.message().as_bytes(), source="loop")
        assert record.status == Status.IGNORED
        assert "our own" in record.reason

    assert (Ticket.objects.count(), Message.objects.count()) == (tickets, messages)


def test_a_loop_with_another_help_desk_stays_at_one_ticket_each_way(
    ticket, agent, django_capture_on_commit_callbacks
):
    """The customer is another help desk that opens a ticket for every mail and answers each
    with an acknowledgement (RFC 3834-aware: marked auto-replied), and an auto-responder that
    answers everything (not aware: no such header, just Precedence)."""
    django_mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        Message.send(ticket=ticket, sender=agent, content="Please confirm.")
    [ours] = [m for m in django_mail.outbox if m.to == ["customer@example.com"]]
    received = message_from_bytes(ours.message().as_bytes(), policy=policy.default)
    # Their help desk's acknowledgement, and a plain auto-responder's answer.
    acknowledgement = mail(
        subject=f"[Their #991] {received['Subject']}",
        message_id="<ack-1@their.example>",
        headers={"In-Reply-To": received["Message-ID"], "Auto-Submitted": "auto-replied"},
    )
    responder = mail(
        subject=f"Re: {received['Subject']}",
        message_id="<auto-1@their.example>",
        headers={"In-Reply-To": received["Message-ID"], "Precedence": "auto_reply"},
    )
    django_mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        for raw in (acknowledgement, responder, acknowledgement):
            ingest(raw, source="loop")

    assert Ticket.objects.count() == 1
    assert Message.objects.filter(ticket=ticket).count() == 1
    assert django_mail.outbox == []  # nothing answered: no storm


def test_html_only_mail_becomes_text_and_its_inline_image_a_file(customer):
    record, _ = ingest(sample("html_only_inline_image.eml"), source="test")

    ticket = record.ticket
    assert ticket.description.startswith("The login screen shows this error:")
    assert "It says <script> & nothing else." in ticket.description
    assert "- Windows 11" in ticket.description
    assert "alert" not in ticket.description and "color:red" not in ticket.description
    [image] = Attachment.objects.filter(ticket=ticket)
    assert (image.name, image.sniffed_type) == ("screenshot.png", "image/png")
    assert image.uploaded_by == customer


def test_a_refused_attachment_is_named_in_the_message(customer):
    record, _ = ingest(sample("attachments_one_refused.eml"), source="test")

    assert record.status == Status.PROCESSED
    [pdf] = Attachment.objects.filter(ticket=record.ticket)
    assert pdf.name == "invoice.pdf"
    description = record.ticket.description
    assert "\n\n1 file was not accepted: “tool.exe” is " in description
    assert "a kind of file this help desk does not take" in description


def test_a_reply_with_only_files_still_lands(ticket, customer):
    raw = sample("html_only_inline_image.eml").replace(
        b"Subject: Error message on login screen", f"Subject: [#{ticket.pk}] x".encode()
    )
    raw = raw.replace(b"The login screen shows this error:", b"").replace(
        b"It says <b>&lt;script&gt;</b> &amp; nothing else.", b""
    )
    raw = raw.replace(b"<li>Windows 11</li><li>Firefox</li>", b"")
    record, _ = ingest(raw, source="test")

    assert record.reply.content == "(no text: see the files)"
    assert record.reply.attachments.count() == 1


def test_a_broken_charset_and_8bit_headers_do_not_stop_it(customer):
    record, _ = ingest(sample("broken_charset.eml"), source="test")

    assert record.status == Status.PROCESSED
    assert "machine is broken" in record.ticket.description
    assert "caf" in record.subject


def test_a_forwarded_mail_keeps_its_text_and_its_attachment_is_checked(customer):
    record, _ = ingest(sample("forwarded_message.eml"), source="test")

    assert record.status == Status.PROCESSED
    assert record.ticket.description.startswith("Please look at the mail below")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\x01\x02 not a mail",
        b"From: customer@example.com\r\n\r\n",
        b"From: \r\nSubject: nobody\r\n\r\ntext",
        b"From: customer@example.com\r\nSubject: " + b"x" * 100_000 + b"\r\n\r\nbody",
        b"From: customer@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n",
    ],
)
def test_malformed_mail_is_stored_with_a_status(customer, raw):
    record, created = ingest(raw, source="test")

    assert created
    record.refresh_from_db()
    assert record.status in {Status.QUARANTINED, Status.IGNORED, Status.PROCESSED}
    assert record.reason


def test_a_failed_mail_can_be_processed_again(customer, monkeypatch):
    import messaging.inbound as inbound

    def broken(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(inbound, "ticket_create_with_files", broken)
    record, _ = ingest(mail(), source="test")
    assert record.status == Status.FAILED
    assert "the disk is full" in record.reason
    assert Ticket.objects.count() == 0
    monkeypatch.undo()

    again = reprocess(record)

    assert again.status == Status.PROCESSED
    assert Ticket.objects.count() == 1


def test_every_sample_ends_with_a_status(ticket):
    for path in sorted(MAIL_DIR.glob("*.eml")):
        record, _ = ingest(sample(path.name, ticket), source=path.name)
        assert record.status != Status.FAILED, (path.name, record.reason)


def test_html_to_text_drops_what_a_browser_would_run():
    text = html_to_text(
        "<p>Hi<br>there</p><script>steal()</script><blockquote>old</blockquote><p>&amp;</p>"
    )

    assert text == "Hi\nthere\n\n&"


def test_headers_the_parser_chokes_on_are_read_as_they_came(customer):
    # policy.default raises on these (IndexError, AttributeError) when they are read.
    raw = mail(headers={"Cc": "a@[", "Reply-To": "<"})
    raw = raw.replace(b"To: support@desk.example.com", b"To: <")

    record, _ = ingest(raw, source="test")

    assert record.status == Status.PROCESSED, record.reason
    assert record.ticket.reporter == customer


def test_without_helpdesk_email_only_the_sender_address_is_ours(settings, customer):
    settings.HELPDESK_EMAIL = ""
    record, _ = ingest(mail(), source="test")
    ours, _ = ingest(mail(sender="helpdesk@desk.example.com", message_id="<o@x>"), source="t")

    assert record.status == Status.PROCESSED
    assert ours.status == Status.IGNORED


def test_mail_from_a_plus_address_or_with_our_message_id_is_a_loop(ticket, customer):
    plus = mail_ids.reply_address(ticket.pk).upper()
    from_plus, _ = ingest(mail(sender=plus, message_id="<p@x>"), source="test")
    our_id, _ = ingest(mail(message_id=mail_ids.message_id(ticket.pk, message_id=3)), source="t")

    assert from_plus.status == our_id.status == Status.IGNORED
    assert "our own Message-IDs" in our_id.reason
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    "sender, headers, says",
    [
        ("MAILER-DAEMON@mx.example.org", {}, "sent by MAILER-DAEMON"),
        ("postmaster@mx.example.org", {}, "sent by POSTMASTER"),
        ("customer@example.com", {"Return-Path": "<>"}, "an empty return path"),
    ],
)
def test_bounces_without_a_report_are_bounces(customer, sender, headers, says):
    record, _ = ingest(mail(sender=sender, headers=headers), source="test")

    assert record.status == Status.BOUNCE
    assert says in record.reason
    assert Ticket.objects.count() == 0


def report(report_type: str, inner: str) -> bytes:
    return (
        "From: customer@example.com\r\nTo: support@desk.example.com\r\nSubject: report\r\n"
        "Message-ID: <report@example.com>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: multipart/report; report-type={report_type}; boundary=B\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nA report.\r\n"
        f"--B\r\n{inner}\r\n--B--\r\n"
    ).encode()


def test_a_read_receipt_is_ignored(customer):
    raw = report(
        "disposition-notification",
        "Content-Type: message/disposition-notification\r\n\r\nDisposition: displayed\r\n",
    )
    record, _ = ingest(raw, source="test")

    assert record.status == Status.IGNORED
    assert "read receipt" in record.reason


def test_a_bounce_returning_the_whole_mail_finds_the_address_in_it(ticket, customer):
    bounced = mail_ids.message_id(ticket.pk, message_id=1)
    raw = report(
        "delivery-status",
        "Content-Type: message/rfc822\r\n\r\nFrom: helpdesk@desk.example.com\r\n"
        f"To: customer@example.com\r\nMessage-ID: {bounced}\r\n\r\nThe reply.\r\n",
    )
    record, _ = ingest(raw, source="test")

    assert record.status == Status.BOUNCE
    assert record.ticket == ticket
    customer.refresh_from_db()
    assert customer.email_undeliverable_reason == "the mail server refused it"


def test_a_bounce_naming_only_our_own_address_marks_nobody(ticket, customer):
    bounced = mail_ids.message_id(ticket.pk, message_id=1)
    raw = report(
        "delivery-status",
        "Content-Type: message/rfc822\r\n\r\nFrom: customer@example.com\r\n"
        f"To: support@desk.example.com\r\nMessage-ID: {bounced}\r\n\r\nHello.\r\n",
    )
    record, _ = ingest(raw, source="test")

    assert record.status == Status.BOUNCE
    assert "no failed address" in record.reason
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.BOUNCE).exists()


def test_files_over_the_limit_are_named_and_left_out(settings, customer):
    settings.ATTACHMENT_MAX_FILES = 1
    raw = sample("attachments_one_refused.eml").replace(b"tool.exe", b"second.pdf")
    raw = raw.replace(
        b"TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        b"JVBERi0xLjQK" * 6,
    )

    record, _ = ingest(raw, source="test")

    assert Attachment.objects.filter(ticket=record.ticket).count() == 1
    assert "“second.pdf”: a message may carry at most 1 files." in record.ticket.description


def test_a_very_long_reply_is_cut_to_fit_and_says_so(ticket, customer):
    raw = mail(subject=f"Re: [#{ticket.pk}] x", body="word " * 5000)

    record, _ = ingest(raw, source="test")

    content = record.reply.content
    assert len(content) <= 10_000
    assert content.endswith("(cut here: the whole mail is kept with the ticket's inbound email)")
    assert len(record.text) > 20_000


def test_two_mails_a_broken_mailer_gave_one_message_id_are_both_taken(customer):
    first, _ = ingest(mail(subject="Printer", message_id="<same@x>"), source="test")
    second, created = ingest(mail(subject="Scanner", message_id="<same@x>"), source="test")

    assert created
    assert first.ticket != second.ticket


def test_a_naive_help_desk_that_acknowledges_everything_gets_one_ticket_and_no_answer(
    agent, django_capture_on_commit_callbacks, settings
):
    """The other side opens a ticket for every mail and acknowledges it, without any automatic
    header (the worst case): its acknowledgement of our mail lands on our ticket as a message
    (its address is that ticket's customer), which notifies our staff, never the other side."""
    settings.HELPDESK_STAFF_EMAILS = []
    other = "support@other-desk.example.net"
    django_mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        opened, _ = ingest(
            mail(sender=other, subject="Your invoice", message_id="<o1@other>"), source="t"
        )
        Message.send(ticket=opened.ticket, sender=agent, content="Which invoice?")
    [ours] = [m for m in django_mail.outbox if m.to == [other]]
    received = message_from_bytes(ours.message().as_bytes(), policy=policy.default)
    django_mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):  # it acknowledges each time our mail reaches it again
            ingest(
                mail(
                    sender=other,
                    subject=f"[Other #{n}] Re: {received['Subject']}",
                    message_id=f"<ack-{n}@other>",
                    headers={"In-Reply-To": received["Message-ID"]},
                ),
                source="loop",
            )

    assert Ticket.objects.count() == 1
    assert [m.to for m in django_mail.outbox] == [["agent@example.com"]] * 3
    assert not [m for m in django_mail.outbox if other in m.to]
