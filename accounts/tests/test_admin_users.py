"""The user list in the admin: open ticket counts, search, and who may manage accounts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from post_office.models import Email

from accounts.admin import UserAdmin
from accounts.models import User, UsernameValidator
from accounts.services import user_mark_undeliverable
from tickets.models import Ticket
from tickets.services import ticket_assign

CHANGELIST = "/admin/accounts/user/"
# Session, user, the groups filter, the count, the rows (the open ticket counts are subqueries in
# it); a superuser's permissions need no query.
CHANGELIST_BUDGET = 5


def rows(response) -> dict[str, tuple[int, int]]:
    """username -> (open tickets reported, open tickets assigned), as the changelist shows."""
    assert response.status_code == 200
    return {
        user.username: (user.open_reported_count, user.open_assigned_count)
        for user in response.context["cl"].result_list
    }


def user_snapshot() -> list[tuple]:
    return list(
        User.objects.order_by("pk").values_list(
            "pk", "username", "email", "is_staff", "is_superuser", "is_active", "password"
        )
    )


@pytest.fixture
def workload(make_ticket, customer, other_customer, agent, other_agent):
    """customer: 2 open + 1 closed reported; agent: 1 active + 1 closed assigned."""
    first = make_ticket(customer)
    second = make_ticket(customer)
    closed = make_ticket(customer)
    make_ticket(other_customer)
    ticket_assign(ticket=first, assignee=agent, by=agent)
    ticket_assign(ticket=closed, assignee=agent, by=agent)
    closed.update_status(Ticket.Status.CLOSED, by=agent)
    ticket_assign(ticket=second, assignee=other_agent, by=other_agent)
    second.update_status(Ticket.Status.OPEN, by=other_agent)


class TestOpenTicketCounts:
    def test_closed_tickets_are_not_counted(self, login, admin_user, workload):
        counts = rows(login(admin_user).get(CHANGELIST))

        assert counts == {
            "admin": (0, 0),
            "agent": (0, 1),
            "customer": (2, 0),
            "other_agent": (0, 1),
            "other_customer": (1, 0),
        }

    def test_the_counts_are_shown_as_columns(self, login, agent, workload):
        html = login(agent).get(CHANGELIST).content.decode()

        assert "column-open_reported" in html
        assert "column-open_assigned" in html
        assert 'class="field-open_reported">2<' in html
        assert 'class="field-role">agent<' in html

    def test_sorting_by_open_tickets_reported(self, login, agent, workload):
        client = login(agent)
        columns = client.get(CHANGELIST).context["cl"].list_display
        reported, username = columns.index("open_reported"), columns.index("username")

        response = client.get(CHANGELIST, {"o": f"-{reported}.{username}"})

        assert list(rows(response))[:2] == ["customer", "other_customer"]

    def test_reopening_a_ticket_counts_it_again(self, login, agent, customer, workload):
        closed = Ticket.objects.get(status=Ticket.Status.CLOSED)
        closed.update_status(Ticket.Status.OPEN, by=customer)

        counts = rows(login(agent).get(CHANGELIST))

        assert counts["customer"] == (3, 0)
        assert counts["agent"] == (0, 2)


class TestSearch:
    @pytest.mark.parametrize(
        ("term", "expected"),
        [
            ("other_customer", ["other_customer"]),
            ("OTHER_AGENT", ["other_agent"]),
            ("other_customer@example.com", ["other_customer"]),
            ("@example.com", ["admin", "agent", "customer", "other_agent", "other_customer"]),
            ("nobody", []),
        ],
    )
    def test_search_by_username_and_email(
        self, login, agent, customer, other_customer, other_agent, admin_user, term, expected
    ):
        response = login(agent).get(CHANGELIST, {"q": term})

        assert list(rows(response)) == expected

    def test_filter_by_staff(self, login, agent, customer, other_agent, admin_user):
        response = login(agent).get(CHANGELIST, {"is_staff__exact": "1"})

        assert list(rows(response)) == ["admin", "agent", "other_agent"]


class TestQueryBudget:
    def measure(self, client) -> tuple[int, object]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(CHANGELIST)
        assert response.status_code == 200
        return len(queries), response

    def test_the_user_list_costs_the_same_at_10_and_100_users(
        self, monkeypatch, login, admin_user, agent, make_user, make_ticket
    ):
        monkeypatch.setattr(UserAdmin, "list_per_page", 200)
        client = login(admin_user)

        def add(start: int, stop: int) -> None:
            for number in range(start, stop):
                user = make_user(f"user{number:03}", staff=number % 5 == 0)
                if not user.is_staff:
                    ticket = make_ticket(user)
                    if number % 3 == 0:
                        ticket_assign(ticket=ticket, assignee=agent, by=agent)

        add(0, 8)
        small, response = self.measure(client)
        assert len(response.context["cl"].result_list) == 10
        add(8, 98)
        large, response = self.measure(client)
        assert len(response.context["cl"].result_list) == 100

        assert small == large
        assert large <= CHANGELIST_BUDGET


class TestAgentsLookOnly:
    def test_an_agent_sees_a_user_read_only(self, login, agent, customer):
        response = login(agent).get(f"{CHANGELIST}{customer.pk}/change/")

        assert response.status_code == 200
        html = response.content.decode()
        assert "customer@example.com" in html
        assert 'name="_save"' not in html
        assert 'name="email"' not in html

    def test_an_agent_cannot_make_themselves_superuser(self, login, agent):
        before = user_snapshot()
        client = login(agent)

        response = client.post(
            f"{CHANGELIST}{agent.pk}/change/",
            {
                "username": "agent",
                "email": "agent@example.com",
                "is_active": "on",
                "is_staff": "on",
                "is_superuser": "on",
                "date_joined_0": "2024-01-01",
                "date_joined_1": "00:00:00",
            },
        )

        assert response.status_code == 403
        assert user_snapshot() == before

    @pytest.mark.parametrize("page", ["add/", "{pk}/delete/", "{pk}/password/"])
    def test_an_agent_cannot_add_delete_or_set_passwords(self, login, agent, customer, page):
        before = user_snapshot()
        url = CHANGELIST + page.format(pk=customer.pk)
        client = login(agent)

        assert client.get(url).status_code == 403
        assert (
            client.post(
                url,
                {
                    "post": "yes",
                    "username": "intruder",
                    "email": "intruder@example.com",
                    "password1": "An0ther-long-password",
                    "password2": "An0ther-long-password",
                    "usable_password": "true",
                },
            ).status_code
            == 403
        )
        assert user_snapshot() == before

    def test_an_agent_sees_no_add_button_or_delete_action(self, login, agent, customer):
        response = login(agent).get(CHANGELIST)

        assert f"{CHANGELIST}add/" not in response.content.decode()
        assert response.context["action_form"] is None or "delete_selected" not in dict(
            response.context["action_form"].fields["action"].choices
        )


class TestSuperusersManage:
    def add_data(self, **changes) -> dict:
        return {
            "username": "newagent",
            "email": "newagent@example.com",
            "password1": "An0ther-long-password",
            "password2": "An0ther-long-password",
            "usable_password": "true",
            **changes,
        }

    def test_a_superuser_adds_a_user(self, login, admin_user):
        response = login(admin_user).post(f"{CHANGELIST}add/", self.add_data())

        assert response.status_code == 302
        user = User.objects.get(username="newagent")
        assert user.email == "newagent@example.com"
        assert user.check_password("An0ther-long-password")
        assert not user.is_staff

    @pytest.mark.parametrize(
        ("changes", "errors"),
        [
            ({"username": "CUSTOMER"}, {"username": ["A user with that username already exists."]}),
            (
                {"email": "Customer@Example.com"},
                {"email": ["A user with that email address already exists."]},
            ),
            ({"username": "bad@name"}, {"username": [UsernameValidator.message]}),
        ],
    )
    def test_a_taken_name_or_email_is_a_readable_form_error(
        self, login, admin_user, customer, changes, errors
    ):
        before = user_snapshot()

        response = login(admin_user).post(f"{CHANGELIST}add/", self.add_data(**changes))

        assert response.status_code == 200
        assert response.context["adminform"].form.errors == errors
        assert user_snapshot() == before

    def change_data(self, response, user: User, **changes) -> dict:
        """The POST the user's change page would send, with `changes` applied."""
        form = response.context["adminform"].form
        data = {
            name: form[name].value()
            for name in form.fields
            if name not in {"password", "date_joined", "last_login"}
        }
        joined = timezone.localtime(user.date_joined)
        data["date_joined_0"] = joined.strftime("%Y-%m-%d")
        data["date_joined_1"] = joined.strftime("%H:%M:%S")
        data.update(changes)
        return {name: value for name, value in data.items() if value not in (None, False)}

    def test_a_superuser_changes_a_users_email(self, login, admin_user, other_customer):
        client = login(admin_user)
        url = f"{CHANGELIST}{other_customer.pk}/change/"
        page = client.get(url)

        response = client.post(url, self.change_data(page, other_customer, email="oc@example.org"))

        assert response.status_code == 302
        other_customer.refresh_from_db()
        assert other_customer.email == "oc@example.org"

    @pytest.mark.parametrize(
        ("changes", "errors"),
        [
            (
                {"email": "CUSTOMER@example.com"},
                {"email": ["A user with that email address already exists."]},
            ),
            ({"username": "Customer"}, {"username": ["A user with that username already exists."]}),
        ],
    )
    def test_changing_to_a_taken_name_or_email_is_a_readable_form_error(
        self, login, admin_user, customer, other_customer, changes, errors
    ):
        client = login(admin_user)
        url = f"{CHANGELIST}{other_customer.pk}/change/"
        page = client.get(url)
        before = user_snapshot()

        response = client.post(url, self.change_data(page, other_customer, **changes))

        assert response.status_code == 200
        assert response.context["adminform"].form.errors == errors
        assert user_snapshot() == before

    def test_saving_a_user_unchanged_is_not_a_clash_with_themselves(
        self, login, admin_user, other_customer
    ):
        client = login(admin_user)
        url = f"{CHANGELIST}{other_customer.pk}/change/"
        page = client.get(url)

        response = client.post(url, self.change_data(page, other_customer))

        assert response.status_code == 302

    def test_clearing_undeliverable_lets_mail_go_to_the_address_again(
        self, login, admin_user, agent, customer, make_ticket
    ):
        def mailed_to_customer() -> int:
            return sum(email.to == ["customer@example.com"] for email in Email.objects.all())

        ticket = make_ticket(customer)
        user_mark_undeliverable(email=customer.email, reason="550 User unknown")
        ticket.update_status(Ticket.Status.CLOSED, by=agent)
        assert mailed_to_customer() == 0  # it bounced: nothing more goes to it

        client = login(admin_user)
        url = f"{CHANGELIST}{customer.pk}/change/"
        page = client.get(url)
        customer.refresh_from_db()
        data = self.change_data(
            page,
            customer,
            email_undeliverable_at_0="",
            email_undeliverable_at_1="",
            email_undeliverable_reason="",
        )
        data.pop("email_undeliverable_at", None)  # the split widget's two fields say it
        response = client.post(url, data)

        assert response.status_code == 302, response.context["adminform"].form.errors
        customer.refresh_from_db()
        assert customer.email_undeliverable_at is None
        assert customer.email_undeliverable_reason == ""
        ticket.update_status(Ticket.Status.OPEN, by=agent)  # reopened: the customer hears of it
        ticket.update_status(Ticket.Status.CLOSED, by=agent)  # and of the close now
        assert mailed_to_customer() == 2

    def test_a_user_with_tickets_cannot_be_deleted(self, login, admin_user, customer, make_ticket):
        make_ticket(customer)
        client = login(admin_user)

        confirm = client.get(f"{CHANGELIST}{customer.pk}/delete/")
        response = client.post(f"{CHANGELIST}{customer.pk}/delete/", {"post": "yes"})

        assert confirm.status_code == 200
        assert confirm.context["protected"]
        assert response.status_code == 200
        assert User.objects.filter(pk=customer.pk).exists()


def test_a_superuser_confirms_an_address_by_hand(login, admin_user, customer):
    User.objects.filter(pk=customer.pk).update(email_verified_at=None)
    client = login(admin_user)
    page = client.get(f"{CHANGELIST}{customer.pk}/change/")
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name not in {"password", "groups", "user_permissions"}
    }
    data.update(
        {
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "email_verified_at_0": "2026-12-01",
            "email_verified_at_1": "09:00:00",
            "is_active": "on",
            "notify_by_email": "on",
        }
    )
    data.pop("date_joined", None)
    data.pop("last_login", None)

    response = client.post(f"{CHANGELIST}{customer.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    customer.refresh_from_db()
    assert customer.email_verified_at is not None
