"""The admin changelist's rows (helpdesk_site/admin_rows.py) are Django's rows, cell for cell,
for every model in the admin, with filters kept in the links and user text escaped."""

import pytest
from axes.models import AccessFailureLog
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import results
from django.contrib.auth.models import Group

from conftest import PASSWORD
from helpdesk_site.admin_rows import fast_results
from tickets.models import Ticket
from tickets.services import ticket_assign

HOSTILE = '<img src=x onerror="alert(1)">'

# Each model's changelist, plain and with a filter (kept in every row's link).
QUERIES = {
    "tickets.ticket": ["", "?status__exact=open", "?o=-2.3&q=printer"],
    "tickets.ticketevent": ["", "?kind__exact=status"],
    "messaging.message": ["", "?is_internal__exact=1"],
    "accounts.user": ["", "?is_staff__exact=1"],
    "auth.group": [""],
    "axes.accessattempt": [""],
    "axes.accessfailurelog": [""],
    "axes.accesslog": [""],
}


@pytest.fixture
def history(client, customer, agent, admin_user, make_ticket, make_message):
    """Tickets open, assigned, closed and answered; messages public and internal; events by
    people and by the system; a name and a title that try to break out of their cells."""
    customer.first_name = HOSTILE
    customer.save(update_fields=["first_name"])
    plain = make_ticket(customer, title=f"Printer {HOSTILE}")
    assigned = make_ticket(customer, title="Toner")
    ticket_assign(ticket=assigned, assignee=agent, by=agent)
    make_message(assigned, agent, "On it")
    make_message(assigned, agent, HOSTILE, is_internal=True)
    make_message(plain, customer, "Still broken")
    closed = make_ticket(customer, title="Done")
    closed.update_status(Ticket.Status.CLOSED, by=customer)
    Group.objects.get_or_create(name=HOSTILE)
    # The sign-in records: a refused attempt (under a hostile name) and a signed-in visit.
    login = "/accounts/login/"
    client.post(login, {"username": HOSTILE, "password": "wrong"}, HTTP_USER_AGENT=HOSTILE)
    client.post(login, {"username": "customer", "password": PASSWORD}, HTTP_USER_AGENT=HOSTILE)
    client.logout()
    AccessFailureLog.objects.create(  # Kept only when AXES_ENABLE_ACCESS_FAILURE_LOG is on.
        username=HOSTILE, user_agent=HOSTILE, ip_address="10.0.0.1", path_info=login
    )
    return [plain, assigned, closed]


def test_every_model_in_the_admin_is_checked():
    registered = {
        f"{model._meta.app_label}.{model._meta.model_name}" for model in admin.site._registry
    }
    assert registered == set(QUERIES)


@pytest.mark.parametrize(
    ("model", "query"), [(model, query) for model, queries in QUERIES.items() for query in queries]
)
def test_rows_are_djangos_rows(client, admin_user, history, model, query):
    client.force_login(admin_user)
    app_label, model_name = model.split(".")
    response = client.get(f"/admin/{app_label}/{model_name}/{query}")
    assert response.status_code == 200
    cl = response.context["cl"]
    assert cl.result_count > 0
    expected = [list(row) for row in results(cl)]
    built = [list(row) for row in fast_results(cl)]
    assert built == expected
    page = response.content.decode()
    for row in built:  # What the page shows is those rows.
        assert "".join(row) in page
    assert HOSTILE not in page


def test_columns_of_every_kind_are_djangos_too(client, admin_user, history, monkeypatch):
    """Columns no registered admin has: a foreign key's id, a model property, a lookup through
    a relation, a callable, and "boolean" methods that return what is not a bool."""
    client.force_login(admin_user)
    cl = client.get("/admin/tickets/ticket/").context["cl"]
    model_admin = cl.model_admin

    def flag(ticket):
        return 1 if ticket.assignee_id else 0

    flag.boolean = True
    monkeypatch.setattr(model_admin, "flag", flag, raising=False)
    monkeypatch.setattr(
        model_admin, "maybe", admin.display(boolean=True)(lambda t: None), raising=False
    )

    def blank(ticket):
        return "  "

    blank.empty_value_display = "(none)"
    monkeypatch.setattr(model_admin, "blank", blank, raising=False)
    cl.list_display = [
        *cl.list_display, "reporter_id", "is_closed", "reporter__username", "flag", "maybe",
        "blank", lambda ticket: f"<{ticket.pk}>", "created_at", "first_response_at",
    ]  # fmt: skip
    expected = [list(row) for row in results(cl)]
    assert [list(row) for row in fast_results(cl)] == expected
    assert any('alt="1"' in cell for row in expected for cell in row)


def test_a_ticket_row_links_with_the_filters_and_escapes_its_title(client, admin_user, history):
    client.force_login(admin_user)
    response = client.get("/admin/tickets/ticket/?status__exact=open")
    page = response.content.decode()
    plain = history[0]
    assert (
        f'<th class="field-id"><a href="/admin/tickets/ticket/{plain.pk}/change/'
        f'?_changelist_filters=status__exact%3Dopen">{plain.pk}</a></th>'
    ) in page
    assert "Printer &lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert (
        f'<input type="checkbox" name="_selected_action" value="{plain.pk}" '
        'class="action-select" aria-label="Select this object for an action - '
    ) in page


def test_an_editable_list_or_a_popup_uses_djangos_own_rows(client, admin_user, history):
    client.force_login(admin_user)
    response = client.get("/admin/accounts/user/?_popup=1&_to_field=id")
    assert response.status_code == 200
    assert "data-popup-opener" in response.content.decode()
