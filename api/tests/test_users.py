import pytest

pytestmark = pytest.mark.django_db


def test_me(api, customer):
    body = api.as_(customer).get("/api/v1/users/me/").json()
    assert body == {
        "id": customer.pk,
        "username": "customer",
        "email": "customer@example.com",
        "first_name": "",
        "last_name": "",
        "is_staff": False,
    }


def test_staff_look_customers_up_by_email(api, agent, customer):
    client = api.as_(agent)
    rows = client.get("/api/v1/customers/?email=CUSTOMER@example.com").json()
    assert [row["id"] for row in rows] == [customer.pk]
    assert client.get("/api/v1/customers/?email=agent@example.com").json() == []
    assert client.get("/api/v1/customers/?email=nobody@example.com").json() == []
    assert client.get("/api/v1/customers/").status_code == 400


def test_customers_cannot_look_anyone_up(api, customer, other_customer):
    response = api.as_(customer).get("/api/v1/customers/?email=other_customer@example.com")
    assert response.status_code == 403
    assert response.json()["type"] == "permission_denied"
    assert "other_customer" not in response.content.decode()


def test_staff_read_the_report_as_json(api, agent, customer, make_ticket, client):
    make_ticket(customer)
    response = api.as_(agent).get("/api/v1/reports/?preset=30d")
    assert response.status_code == 200
    client.force_login(agent, backend="accounts.backends.UsernameOrEmailBackend")
    page = client.get("/reports/data.json?preset=30d").json()
    assert response.json() == page  # the same numbers as the page


def test_a_bad_period_is_a_400(api, agent):
    response = api.as_(agent).get("/api/v1/reports/?preset=forever")
    assert response.status_code == 400
    assert "preset" in response.json()["errors"]


def test_customers_cannot_read_reports(api, customer):
    response = api.as_(customer).get("/api/v1/reports/")
    assert response.status_code == 403
