"""The login backend's permissions: the user's own and their groups', in one query."""

from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User


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
