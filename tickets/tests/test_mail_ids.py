"""Signed Message-IDs and plus addresses: what we make, the inbound side can verify, and nothing
else passes."""

import re

import pytest

from tickets.mail_ids import (
    MailReference,
    find_reference,
    mail_domain,
    message_id,
    parse_message_id,
    parse_reply_address,
    reply_address,
    thread_root,
)


@pytest.fixture(autouse=True)
def _addresses(settings):
    settings.SECRET_KEY = "a-test-key-" + "k" * 50
    settings.SECRET_KEY_FALLBACKS = []
    settings.HELPDESK_EMAIL = "support@desk.example.com"


def test_a_message_id_names_its_ticket_and_message_and_verifies():
    value = message_id(12, message_id=34)

    assert re.fullmatch(r"<t12\.m34\.[0-9a-f]{20}@desk\.example\.com>", value)
    assert parse_message_id(value) == MailReference(ticket_id=12, message_id=34)


def test_an_event_message_id_and_the_thread_root_verify_too():
    assert parse_message_id(message_id(12, event_id=56)) == MailReference(ticket_id=12, event_id=56)
    assert thread_root(12).startswith("<t12.m0.")
    assert parse_message_id(thread_root(12)) == MailReference(ticket_id=12, message_id=0)


def test_each_ticket_and_message_has_its_own_signature():
    signatures = {
        message_id(ticket, message_id=message).split(".")[2]
        for ticket in (1, 2, 12)
        for message in (0, 1, 2)
    }
    assert len(signatures) == 9


@pytest.mark.parametrize(
    "forge",
    [
        # Another ticket's number with this ticket's signature: the attack the signature stops.
        lambda value: value.replace("<t12.", "<t13."),
        lambda value: value.replace(".m34.", ".m35."),
        lambda value: value.replace(".m34.", ".e34."),
        # One hex digit changed.
        lambda value: re.sub(
            r"\.([0-9a-f])([0-9a-f]{19})@",
            lambda m: f".{'0' if m[1] != '0' else '1'}{m[2]}@",
            value,
        ),
        lambda value: value.split(".")[0] + ".m34@desk.example.com>",  # no signature
        lambda value: "<t12.m34.zzzzzzzzzzzzzzzzzzzz@desk.example.com>",
        lambda value: "<CAF=abc123@mail.gmail.com>",  # somebody else's
        lambda value: "",
        lambda value: f"<t{2**64}.m1.{'0' * 20}@x>",  # past any id
    ],
)
def test_a_forged_or_foreign_message_id_is_not_ours(forge):
    assert parse_message_id(forge(message_id(12, message_id=34))) is None


def test_the_signature_is_checked_whatever_the_case_and_the_domain():
    value = message_id(12, message_id=34)
    local = value[1:].split("@")[0]

    assert parse_message_id(f"<{local.upper()}@DESK.EXAMPLE.COM>") is None  # "T12.M34": not ours
    upper_signature = re.sub(r"\.([0-9a-f]{20})@", lambda m: f".{m[1].upper()}@", value)
    assert parse_message_id(upper_signature) == MailReference(ticket_id=12, message_id=34)
    # The domain may change (HELPDESK_EMAIL moved): the signature is what proves it is ours.
    assert parse_message_id(f"<{local}@old.example.com>") == MailReference(12, 34)


def test_a_new_secret_key_still_reads_old_ids_while_the_old_one_is_a_fallback(settings):
    old_id, old_address = message_id(12, message_id=34), reply_address(12)

    settings.SECRET_KEY = "a-new-key-" + "n" * 50
    assert parse_message_id(old_id) is None
    assert parse_reply_address(old_address) is None

    settings.SECRET_KEY_FALLBACKS = ["a-test-key-" + "k" * 50]
    assert parse_message_id(old_id) == MailReference(12, 34)
    assert parse_reply_address(old_address) == 12
    # New ones are made with the new key.
    assert message_id(12, message_id=34) != old_id


def test_find_reference_reads_in_reply_to_then_references():
    ours = message_id(7, message_id=8)
    root = thread_root(7)

    assert find_reference(f"{ours}", f"<a@b.example> {root}") == MailReference(7, 8)
    assert find_reference("", f"<a@b.example>\r\n {root} <c@d.example>") == MailReference(7, 0)
    assert find_reference(None, "<a@b.example> <t7.m8.0123456789abcdef0123@x>") is None
    assert find_reference(None, None) is None


def test_the_plus_address_names_its_ticket_and_verifies():
    address = reply_address(12)

    assert re.fullmatch(r"support\+t12\.[0-9a-f]{20}@desk\.example\.com", address)
    assert parse_reply_address(address) == 12
    # As mail software may hand it over: another case, a display name.
    assert parse_reply_address(address.upper()) == 12
    assert parse_reply_address(f'"Help desk" <{address}>') == 12


@pytest.mark.parametrize(
    "other",
    [
        lambda address: address.replace("+t12.", "+t13."),
        lambda address: address.replace("support+", "sales+"),
        lambda address: address.replace("@desk.example.com", "@evil.example"),
        lambda address: "support@desk.example.com",
        lambda address: "support+t12@desk.example.com",
        lambda address: address.split(".")[0] + ".00000000000000000000@desk.example.com",
        lambda address: "",
    ],
)
def test_a_forged_or_other_plus_address_is_not_ours(other):
    assert parse_reply_address(other(reply_address(12))) is None


def test_without_a_help_desk_address_there_is_no_plus_address(settings):
    settings.HELPDESK_EMAIL = ""
    settings.DEFAULT_FROM_EMAIL = "Help desk <helpdesk@mail.example.org>"

    assert reply_address(12) is None
    assert parse_reply_address("support+t12.0123456789abcdef0123@desk.example.com") is None
    assert mail_domain() == "mail.example.org"
    assert message_id(1).endswith("@mail.example.org>")
