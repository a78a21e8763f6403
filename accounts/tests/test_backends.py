"""Logging in with the username or the email address, and the permissions a login carries."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import RequestFactory

from accounts.backends import UsernameOrEmailBackend, axes_username
from accounts.models import User
from conftest import PASSWORD


def perm(codename: str) -> Permission:
    return Permission.objects.get(codename=codename)


def fresh(user: User) -> User:
    """The user as the next request loads it (no permissions kept from before)."""
    return User.objects.get(pk=user.pk)


def authenticate(username: str, password: str):
    return UsernameOrEmailBackend().authenticate(None, username=username, password=password)


class TestLogin:
    @pytest.mark.parametrize(
        "name",
        ["customer", "CUSTOMER", " customer ", "customer@example.com", "Customer@Example.COM"],
    )
    def test_the_username_or_the_email_in_any_case(self, customer, name):
        assert authenticate(name, PASSWORD) == customer

    @pytest.mark.parametrize("name", ["", "nobody", "customer\x00x", "customer@example.org"])
    def test_anything_else_is_no_one(self, customer, name):
        assert authenticate(name, PASSWORD) is None

    def test_a_wrong_password_is_no_one(self, customer):
        assert authenticate("customer", "wrong-password-123") is None

    def test_no_password_logs_no_one_in(self, customer):
        assert authenticate("customer", None) is None

    def test_the_lock_out_counts_the_username_the_form_sent_when_axes_has_none(self, customer):
        request = RequestFactory().post("/accounts/login/", {"username": "Customer@Example.com"})

        assert axes_username(request, {"username": ""}) == "customer"
        assert axes_username(request) == "customer"


class TestPermissions:
    def test_own_and_group_permissions(self, customer):
        group = Group.objects.create(name="Auditors")
        group.permissions.add(perm("view_ticketevent"))
        customer.groups.add(group)
        customer.user_permissions.add(perm("view_message"), perm("view_ticketevent"))
        user = fresh(customer)

        assert user.get_all_permissions() == {"messaging.view_message", "tickets.view_ticketevent"}
        assert user.has_perm("messaging.view_message")
        assert user.has_module_perms("tickets")

    def test_an_agent_has_the_agents_groups_permissions(self, agent):
        assert "tickets.change_ticket" in fresh(agent).get_all_permissions()

    def test_a_permission_taken_away_is_gone_on_the_next_request(self, agent):
        assert fresh(agent).has_perm("tickets.change_ticket")

        agent.groups.clear()

        assert not fresh(agent).has_perm("tickets.change_ticket")
        assert fresh(agent).get_all_permissions() == set()

    def test_an_inactive_user_has_none(self, agent):
        agent.is_active = False
        agent.save(update_fields=["is_active"])

        assert fresh(agent).get_all_permissions() == set()
        assert not fresh(agent).has_perm("tickets.change_ticket")

    def test_a_superuser_has_them_all(self, admin_user):
        assert len(fresh(admin_user).get_all_permissions()) == Permission.objects.count()
