import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import AGENTS_GROUP, User
from conftest import PASSWORD

NEW_PASSWORD = "a-long-and-unusual-passphrase"


class TestRegister:
    def test_it_creates_a_customer_with_a_usable_password(self, db):
        user = User.register(username="alice", password=NEW_PASSWORD, email="alice@example.com")

        user.refresh_from_db()
        assert user.username == "alice"
        assert user.email == "alice@example.com"
        assert user.role == "customer"
        assert user.check_password(NEW_PASSWORD)

    def test_it_stores_a_bcrypt_sha256_hash(self, db, real_hashers):
        user = User.register(username="alice", password=NEW_PASSWORD, email="alice@example.com")

        user.refresh_from_db()
        assert user.password.startswith("bcrypt_sha256$")

    @pytest.mark.parametrize("register", [User.register, User.objects.register])
    def test_it_refuses_a_username_taken_in_another_case(self, customer, register):
        with pytest.raises(ValidationError) as excinfo:
            register(username="CUSTOMER", password=NEW_PASSWORD, email="new@example.com")

        assert "username" in excinfo.value.message_dict
        assert "email" not in excinfo.value.message_dict
        assert User.objects.filter(username__iexact="customer").count() == 1

    def test_an_operator_is_told_an_email_is_taken_in_another_case(self, customer):
        """User.objects.register (create_agent) says so: an operator may know."""
        with pytest.raises(ValidationError) as excinfo:
            User.objects.register(
                username="newcomer", password=NEW_PASSWORD, email="Customer@EXAMPLE.com"
            )

        assert list(excinfo.value.message_dict) == ["email"]
        assert "already exists" in excinfo.value.message_dict["email"][0]
        assert "Constraint" not in str(excinfo.value)
        assert not User.objects.filter(username="newcomer").exists()

    @pytest.mark.parametrize("email", ["customer@example.com", "CUSTOMER@example.com"])
    def test_registering_a_taken_email_makes_nothing_and_tells_its_owner(
        self, customer, email, mailoutbox, django_capture_on_commit_callbacks
    ):
        """User.register (the register page) does not say so: see test_email_confirmation.py."""
        with django_capture_on_commit_callbacks(execute=True):
            result = User.register(username="newcomer", password=NEW_PASSWORD, email=email)

        assert result is None
        assert not User.objects.filter(username="newcomer").exists()
        assert [m.to for m in mailoutbox] == [[customer.email]]

    def test_a_registered_account_waits_for_its_address_and_an_operators_does_not(self, db):
        registered = User.register(username="alice", password=NEW_PASSWORD, email="a@example.com")
        made = User.objects.register(username="bob", password=NEW_PASSWORD, email="b@example.com")

        assert registered.email_verified_at is None
        assert made.email_verified_at is not None

    def test_it_refuses_a_username_that_looks_like_an_email(self, customer):
        # Otherwise "customer@example.com" as a username would shadow that user's email login.
        with pytest.raises(ValidationError) as excinfo:
            User.register(
                username="customer@example.com", password=NEW_PASSWORD, email="x@example.com"
            )

        assert "username" in excinfo.value.message_dict
        assert not User.objects.filter(email="x@example.com").exists()

    def test_it_refuses_a_short_password(self, db):
        with pytest.raises(ValidationError) as excinfo:
            User.register(username="alice", password="short-pw", email="alice@example.com")

        assert any("too short" in m for m in excinfo.value.message_dict["password"])
        assert not User.objects.filter(username="alice").exists()

    def test_it_refuses_an_invalid_email(self, db):
        with pytest.raises(ValidationError) as excinfo:
            User.register(username="alice", password=NEW_PASSWORD, email="not-an-email")

        assert "email" in excinfo.value.message_dict
        assert not User.objects.exists()


class TestCaseInsensitiveConstraints:
    def test_the_database_refuses_usernames_differing_only_in_case(self, db):
        User.objects.create(username="Bob", email="bob1@example.com")

        with pytest.raises(IntegrityError), transaction.atomic():
            User.objects.create(username="bob", email="bob2@example.com")

        assert User.objects.filter(username__iexact="bob").count() == 1

    def test_the_database_refuses_emails_differing_only_in_case(self, db):
        User.objects.create(username="bob", email="Bob@Example.com")

        with pytest.raises(IntegrityError), transaction.atomic():
            User.objects.create(username="robert", email="bob@example.com")

        assert User.objects.filter(email__iexact="bob@example.com").count() == 1

    def test_natural_key_lookup_ignores_case(self, customer):
        assert User.objects.get_by_natural_key("CUSTOMER") == customer


class TestRoles:
    def test_a_plain_user_is_a_customer(self, customer):
        assert customer.role == "customer"

    def test_a_staff_user_is_an_agent(self, agent):
        assert agent.role == "agent"

    def test_a_superuser_is_an_admin(self, admin_user):
        assert admin_user.role == "admin"

    def test_staff_queryset_lists_active_staff_only(self, customer, agent, other_agent):
        other_agent.is_active = False
        other_agent.save(update_fields=["is_active"])

        assert list(User.objects.staff()) == [agent]

    def test_the_agents_group_exists_with_triage_permissions(self, db):
        group = Group.objects.get(name=AGENTS_GROUP)

        codenames = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")
        }
        assert {"tickets.change_ticket", "messaging.add_message"} <= codenames
        assert "tickets.delete_ticket" not in codenames

    def test_an_agent_gets_the_groups_permissions(self, agent, customer):
        assert agent.has_perm("tickets.change_ticket")
        assert agent.has_perm("messaging.add_message")
        assert not customer.has_perm("tickets.change_ticket")


def test_fixture_password_checks(customer):
    # Guards the cast: the login tests rely on this password.
    assert customer.check_password(PASSWORD)
