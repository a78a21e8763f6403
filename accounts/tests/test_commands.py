"""The create_agent command (and the service behind it)."""

import getpass
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError

from accounts.models import AGENTS_GROUP, User
from accounts.services import agent_create_or_promote
from conftest import PASSWORD

NEW_PASSWORD = "plum-harbour-lantern-42"


def run(name: str, *args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def is_agent(user: User) -> bool:
    user.refresh_from_db()
    return user.is_staff and user.groups.filter(name=AGENTS_GROUP).exists()


@pytest.fixture
def password_file(tmp_path):
    def write(content: str):
        path = tmp_path / "password.txt"
        path.write_text(content, encoding="utf-8")
        return str(path)

    return write


@pytest.fixture
def typed(monkeypatch):
    """Answers for getpass.getpass, in order; fails the test if asked more often."""

    def answer(*answers: str) -> list[str]:
        asked: list[str] = []
        queue = list(answers)

        def fake_getpass(prompt: str = "") -> str:
            asked.append(prompt)
            assert queue, f"asked for a password once too often: {prompt!r}"
            return queue.pop(0)

        monkeypatch.setattr(getpass, "getpass", fake_getpass)
        return asked

    return answer


def test_help_describes_the_command_and_its_options():
    command = load_command_class("accounts", "create_agent")
    text = " ".join(command.create_parser("manage.py", "create_agent").format_help().split())
    assert "Agents group" in text
    assert "--password-file" in text


# create_agent


def test_it_creates_an_agent_with_the_password_from_the_file(db, password_file):
    out, _ = run(
        "create_agent",
        "maya",
        "--email",
        "Maya@Example.COM",
        "--password-file",
        password_file(f"{NEW_PASSWORD}\nsecond line is ignored\n"),
    )
    user = User.objects.get(username="maya")
    assert is_agent(user)
    assert not user.is_superuser
    assert user.email == "Maya@example.com"
    assert user.check_password(NEW_PASSWORD)
    assert out == "Created agent maya <Maya@example.com>: staff, in the Agents group.\n"


def test_it_asks_twice_for_the_password_and_again_after_a_mismatch(db, typed):
    asked = typed(NEW_PASSWORD, "something-else-entirely", NEW_PASSWORD, NEW_PASSWORD)
    out, err = run("create_agent", "maya", "--email", "maya@example.com")
    assert len(asked) == 4
    assert "differ" in err
    assert User.objects.get(username="maya").check_password(NEW_PASSWORD)
    assert out.startswith("Created agent maya")


def test_it_refuses_weak_typed_passwords_with_the_validators_messages(db, typed):
    typed("short", "short", "12345678901234", "12345678901234", "maya-maya", "maya-maya")
    with pytest.raises(CommandError) as excinfo:
        run("create_agent", "maya", "--email", "maya@example.com")
    assert excinfo.value.returncode == 1
    assert "No valid password after 3 attempts" in str(excinfo.value)
    assert not User.objects.filter(username="maya").exists()


def test_it_refuses_a_password_file_that_fails_the_validators(db, password_file):
    with pytest.raises(CommandError) as excinfo:
        run(
            "create_agent",
            "maya",
            "--email",
            "maya@example.com",
            "--password-file",
            password_file("password\n"),
        )
    assert excinfo.value.returncode == 1
    assert "password:" in str(excinfo.value)
    assert "too common" in str(excinfo.value)
    assert not User.objects.filter(username="maya").exists()


def test_it_refuses_a_password_over_1024_characters(db, password_file):
    """The registration page's field stops a longer one; here the validator does."""
    with pytest.raises(CommandError) as excinfo:
        run(
            "create_agent",
            "maya",
            "--email",
            "maya@example.com",
            "--password-file",
            password_file("correct horse battery staple " * 36 + "\n"),  # 1,044 characters
        )
    assert "This password is too long. It must contain at most 1024 characters." in str(
        excinfo.value
    )
    assert not User.objects.filter(username="maya").exists()


@pytest.mark.parametrize("content", ["", "\nsecond line\n"])
def test_it_refuses_a_password_file_without_a_first_line(db, password_file, content):
    with pytest.raises(CommandError, match="no password on its first line"):
        run(
            "create_agent",
            "maya",
            "--email",
            "maya@example.com",
            "--password-file",
            password_file(content),
        )
    assert not User.objects.filter(username="maya").exists()


def test_it_refuses_a_missing_password_file(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read the password file"):
        run(
            "create_agent",
            "maya",
            "--email",
            "maya@example.com",
            "--password-file",
            str(tmp_path / "nope.txt"),
        )
    assert not User.objects.filter(username="maya").exists()


def test_it_refuses_a_bad_email(db, password_file):
    with pytest.raises(CommandError) as excinfo:
        run(
            "create_agent",
            "maya",
            "--email",
            "not-an-address",
            "--password-file",
            password_file(NEW_PASSWORD),
        )
    assert "email: Enter a valid email address." in str(excinfo.value)
    assert not User.objects.filter(username="maya").exists()


@pytest.mark.parametrize("email", ["customer@example.com", "CUSTOMER@example.com"])
def test_it_refuses_an_email_another_user_has(customer, password_file, email):
    with pytest.raises(CommandError) as excinfo:
        run(
            "create_agent", "maya", "--email", email, "--password-file", password_file(NEW_PASSWORD)
        )
    assert "email:" in str(excinfo.value)
    assert "already exists" in str(excinfo.value)
    assert not User.objects.filter(username="maya").exists()


def test_it_promotes_an_existing_customer_without_asking_for_a_password(customer, typed):
    asked = typed()  # any prompt fails the test
    out, _ = run("create_agent", "CUSTOMER", "--email", "customer@example.com")
    assert asked == []
    assert is_agent(customer)
    assert customer.check_password(PASSWORD)
    assert User.objects.count() == 1
    assert out == (
        "Promoted existing user customer <customer@example.com> to agent: staff, in the "
        "Agents group; password unchanged.\n"
    )


def test_promoting_a_customer_who_never_confirmed_their_address_confirms_it(customer, typed):
    User.objects.filter(pk=customer.pk).update(email_verified_at=None)
    typed()

    run("create_agent", "customer", "--email", "customer@example.com")

    customer.refresh_from_db()
    assert customer.email_verified_at is not None


def test_a_new_agents_address_is_confirmed(db, password_file):
    run(
        "create_agent",
        "maya",
        "--email",
        "maya@example.com",
        "--password-file",
        password_file(NEW_PASSWORD),
    )

    assert User.objects.get(username="maya").email_verified_at is not None


def test_promoting_with_a_password_file_changes_the_password(customer, password_file):
    out, _ = run(
        "create_agent",
        "customer",
        "--email",
        "customer@example.com",
        "--password-file",
        password_file(NEW_PASSWORD),
    )
    assert is_agent(customer)
    assert customer.check_password(NEW_PASSWORD)
    assert "password changed" in out


def test_promoting_refuses_a_weak_password_and_changes_nothing(customer, password_file):
    with pytest.raises(CommandError, match="password:"):
        run(
            "create_agent",
            "customer",
            "--email",
            "customer@example.com",
            "--password-file",
            password_file("customer"),
        )
    assert not is_agent(customer)
    assert customer.check_password(PASSWORD)


def test_promoting_refuses_an_email_that_is_not_the_users(customer, password_file):
    with pytest.raises(CommandError) as excinfo:
        run("create_agent", "customer", "--email", "someone@example.com")
    assert "already exists with the email address customer@example.com" in str(excinfo.value)
    assert not is_agent(customer)


def test_promoting_refuses_an_email_that_is_not_an_address(customer):
    with pytest.raises(CommandError) as excinfo:
        run("create_agent", "customer", "--email", "not-an-address")
    assert "email: Enter a valid email address." in str(excinfo.value)
    assert not is_agent(customer)


def test_the_service_refuses_a_new_agent_without_a_password(db):
    """The command always asks for one; the service is the last check."""
    with pytest.raises(ValidationError) as excinfo:
        agent_create_or_promote(username="maya", email="maya@example.com", password=None)
    assert excinfo.value.message_dict == {"password": ["A new agent needs a password."]}
    assert not User.objects.filter(username="maya").exists()


def test_promoting_an_agent_again_changes_nothing_and_says_so(agent):
    groups = list(agent.groups.values_list("name", flat=True))
    out, _ = run("create_agent", "agent", "--email", "agent@example.com")
    assert is_agent(agent)
    assert list(agent.groups.values_list("name", flat=True)) == groups
    assert "Promoted existing user agent" in out


def test_promoting_a_deactivated_user_says_they_cannot_sign_in(customer):
    customer.is_active = False
    customer.save(update_fields=["is_active"])
    out, _ = run("create_agent", "customer", "--email", "customer@example.com")
    assert is_agent(customer)
    assert not customer.is_active
    assert "deactivated" in out
