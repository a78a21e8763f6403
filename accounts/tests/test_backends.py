"""The login backend: who a login names, and the user's own and their groups' permissions, in
one query."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.backends import UsernameOrEmailBackend, axes_username
from accounts.models import User
from conftest import PASSWORD


def perm(codename: str) -> Permission:
    return Permission.objects.get(codename=codename)


def fresh(user: User) -> User:
    """The user as the next request loads it (no permissions kept from before)."""
    return User.objects.get(pk=user.pk)


class TestPermissions:
    def test_own_and_group_permissions_in_one_query(self, customer):
        group = Group.objects.create(name="Auditors")
        group.permissions.add(perm("view_ticketevent"))
        customer.groups.add(group)
        customer.user_permissions.add(perm("view_message"), perm("view_ticketevent"))
        user = fresh(customer)

        with CaptureQueriesContext(connection) as queries:
            perms = user.get_all_permissions()
            assert user.has_perm("messaging.view_message")
            assert user.has_module_perms("tickets")
        assert perms == {"messaging.view_message", "tickets.view_ticketevent"}
        assert len(queries) == 1

    def test_they_are_the_same_as_djangos_own_and_group_permissions(self, agent):
        agent.user_permissions.add(perm("view_message"))
        user = fresh(agent)

        expected = user.get_user_permissions() | user.get_group_permissions()
        assert fresh(agent).get_all_permissions() == expected
        assert "tickets.change_ticket" in expected  # from the Agents group
        assert "messaging.view_message" in expected  # their own

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


class TestWhoALoginNames:
    def test_the_username_or_the_email_address(self, customer):
        backend = UsernameOrEmailBackend()
        for typed in ("customer", "CUSTOMER", "Customer@Example.com"):
            assert backend.authenticate(None, username=typed, password=PASSWORD) == customer

    # SQLite compares only up to a NUL ("customer\x00x" would find "customer"); PostgreSQL
    # refuses to compare one at all.
    @pytest.mark.parametrize("typed", ["customer\x00", "customer\x00x", "   ", ""])
    def test_a_nul_character_or_nothing_but_blanks_names_no_one(self, customer, typed):
        assert (
            UsernameOrEmailBackend().authenticate(None, username=typed, password=PASSWORD) is None
        )

    def test_no_password_logs_no_one_in(self, customer):
        assert (
            UsernameOrEmailBackend().authenticate(None, username="customer", password=None) is None
        )

    def test_the_lock_out_counts_the_username_the_form_sent_when_axes_has_none(self, customer):
        request = RequestFactory().post("/accounts/login/", {"username": "Customer@Example.com"})

        assert axes_username(request, {"username": ""}) == "customer"
        assert axes_username(request) == "customer"
