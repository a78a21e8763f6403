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
