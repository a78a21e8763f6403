"""The ticket endpoints: the same visibility and rules as the pages, through the services."""

import pytest

from tickets.models import Category, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def test_customer_lists_only_their_own_tickets(api, customer, other_customer, make_ticket):
    mine = make_ticket(customer)
    make_ticket(other_customer)
    response = api.as_(customer).get("/api/v1/tickets/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]
    assert response.json()["results"][0]["tags"] is None


def test_staff_list_is_newest_first_with_cursor_pages(api, agent, customer, make_ticket):
    tickets = [make_ticket(customer) for _ in range(5)]
    client = api.as_(agent)
    first = client.get("/api/v1/tickets/?page_size=2").json()
    assert [row["id"] for row in first["results"]] == [tickets[4].pk, tickets[3].pk]
    assert "count" not in first
    second = client.get(first["next"]).json()
    assert [row["id"] for row in second["results"]] == [tickets[2].pk, tickets[1].pk]


def test_a_ticket_page_holds_as_many_as_a_list_page(api, agent, customer, make_ticket, settings):
    settings.TICKETS_PER_PAGE = 3
    for _ in range(4):
        make_ticket(customer)
    client = api.as_(agent)
    page = client.get("/api/v1/tickets/").json()
    assert len(page["results"]) == 3 and page["next"]
    assert len(client.get("/api/v1/tickets/?page_size=4").json()["results"]) == 4


def test_list_filters(api, agent, customer, make_ticket):
    urgent = make_ticket(customer, priority="urgent")
    make_ticket(customer)
    client = api.as_(agent)
    rows = client.get("/api/v1/tickets/?priority=urgent").json()["results"]
    assert [row["id"] for row in rows] == [urgent.pk]
    rows = client.get("/api/v1/tickets/?status=closed").json()["results"]
    assert rows == []
    rows = client.get(f"/api/v1/tickets/?assignee={agent.pk}").json()["results"]
    assert rows == []
    rows = client.get("/api/v1/tickets/?assignee=none&created_after=2000-01-01T00:00Z").json()
    assert len(rows["results"]) == 2


def test_a_time_is_the_instant_it_names_whatever_its_offset(api, agent, customer, make_ticket):
    """ISO 8601 and Python allow offsets PostgreSQL does not write (past 15:59): the filter
    compares the instant, in UTC, on either database (a 500 on PostgreSQL before)."""
    make_ticket(customer)
    client = api.as_(agent)

    far_east = client.get("/api/v1/tickets/?created_after=2000-01-01T10:00:00%2B16:49")
    future = client.get("/api/v1/tickets/?created_after=2999-01-01T10:00:00-16:30")

    assert far_east.status_code == 200 and len(far_east.json()["results"]) == 1
    assert future.status_code == 200 and future.json()["results"] == []


@pytest.mark.parametrize(
    "query",
    [
        "created_before=0001-01-01T00:00:00%2B16:00",  # before the calendar begins, in UTC
        "priority=boiling",
        "category=1.5",
        "category=99999999999999999999",
        "assignee=x",
        "created_after=yesterday",
    ],
)
def test_a_bad_filter_is_a_400_in_the_error_shape(api, agent, query):
    response = api.as_(agent).get(f"/api/v1/tickets/?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "invalid"
    assert body["detail"]
    assert body["errors"]


def test_customer_creates_a_ticket_for_themselves(api, customer):
    response = api.as_(customer).post(
        "/api/v1/tickets/", {"title": "VPN down", "description": "Since 9am."}, format="json"
    )
    assert response.status_code == 201
    ticket = Ticket.objects.get(pk=response.json()["id"])
    assert ticket.reporter == customer
    assert response.json()["allowed_statuses"] == ["closed"]


def test_customer_cannot_open_a_ticket_for_someone_else(api, customer, other_customer):
    response = api.as_(customer).post(
        "/api/v1/tickets/",
        {"title": "x", "description": "y", "customer": other_customer.email},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["type"] == "permission_denied"
    assert not Ticket.objects.exists()


def test_staff_opens_a_ticket_for_a_customer(api, agent, customer):
    response = api.as_(agent).post(
        "/api/v1/tickets/",
        {"title": "Phoned in", "description": "Printer.", "customer": customer.email},
        format="json",
    )
    assert response.status_code == 201
    ticket = Ticket.objects.get()
    assert ticket.reporter == customer
    assert ticket.events.filter(kind=TicketEvent.Kind.OPENED_FOR, actor=agent).exists()


def test_create_with_an_idempotency_key_stores_one_ticket(api, customer):
    client = api.as_(customer)
    body = {"title": "Twice", "description": "Sent twice."}
    first = client.post("/api/v1/tickets/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/v1/tickets/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Ticket.objects.count() == 1


def test_others_ticket_is_a_404_like_a_missing_one(api, customer, other_customer, make_ticket):
    theirs = make_ticket(other_customer)
    client = api.as_(customer)
    for url in (f"/api/v1/tickets/{theirs.pk}/", "/api/v1/tickets/999999/"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.json() == {"type": "not_found", "detail": "No such ticket.", "errors": {}}
    response = client.patch(
        f"/api/v1/tickets/{theirs.pk}/", {"version": 1, "status": "closed"}, format="json"
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "open"


def test_customer_closes_their_ticket(api, customer, ticket):
    response = api.as_(customer).patch(
        f"/api/v1/tickets/{ticket.pk}/",
        {"version": ticket.version, "status": "closed"},
        format="json",
    )
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    assert response.json()["version"] == ticket.version


@pytest.mark.parametrize("field,value", [("priority", "urgent"), ("assignee", 1), ("tags", ["x"])])
def test_customer_cannot_set_staff_fields(api, customer, ticket, field, value):
    response = api.as_(customer).patch(
        f"/api/v1/tickets/{ticket.pk}/", {"version": ticket.version, field: value}, format="json"
    )
    assert response.status_code == 403
    assert field in response.json()["detail"]
    ticket.refresh_from_db()
    assert ticket.priority == "normal" and ticket.assignee is None and ticket.tag_names == []


def test_customer_cannot_make_a_staff_move(api, customer, ticket):
    response = api.as_(customer).patch(
        f"/api/v1/tickets/{ticket.pk}/",
        {"version": ticket.version, "status": "active"},
        format="json",
    )
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == "open"


def test_staff_triage_in_one_change(api, agent, ticket):
    category = Category.objects.create(name="Hardware")
    response = api.as_(agent).patch(
        f"/api/v1/tickets/{ticket.pk}/",
        {
            "version": ticket.version,
            "assignee": agent.pk,
            "priority": "high",
            "category": category.pk,
            "tags": ["printer", "Fire"],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.priority, ticket.category) == (agent, "high", category)
    assert ticket.status == "active"
    assert response.json()["tags"] == ["Fire", "printer"]


def test_a_stale_version_is_a_409_with_the_ticket_as_it_is(api, agent, customer, ticket):
    stale = ticket.version
    ticket.update_status("closed", by=customer)
    response = api.as_(agent).patch(
        f"/api/v1/tickets/{ticket.pk}/", {"version": stale, "priority": "urgent"}, format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["type"] == "conflict"
    assert body["current"]["status"] == "closed"
    assert body["current"]["version"] == stale + 1
    ticket.refresh_from_db()
    assert ticket.priority == "normal"


def test_an_impossible_move_is_a_400(api, agent, ticket):
    ticket.update_status("closed", by=agent)
    response = api.as_(agent).patch(
        f"/api/v1/tickets/{ticket.pk}/",
        {"version": ticket.version, "status": "active"},
        format="json",
    )
    assert response.status_code == 400
    assert "cannot go from closed" in response.json()["detail"]


def test_a_cursor_that_is_not_ours_is_a_400(api, customer):
    response = api.as_(customer).get("/api/v1/tickets/?cursor=bogus")
    assert response.status_code == 400
    assert "cursor" in response.json()["errors"]


@pytest.mark.parametrize("tags", [["a,b"], ["bad\x07tag"]])
def test_a_bad_tag_is_a_400(api, agent, ticket, tags):
    response = api.as_(agent).patch(
        f"/api/v1/tickets/{ticket.pk}/", {"version": ticket.version, "tags": tags}, format="json"
    )
    assert response.status_code == 400
    assert "tags" in response.json()["errors"]
    ticket.refresh_from_db()
    assert ticket.tag_names == []


def test_staff_filter_on_me_and_tag(api, agent, customer, make_ticket):
    from tickets.services import ticket_assign, ticket_set_tags

    mine = make_ticket(customer)
    ticket_assign(ticket=mine, assignee=agent, by=agent)
    tagged = make_ticket(customer)
    ticket_set_tags(ticket=tagged, names=["VIP"], by=agent)
    client = api.as_(agent)
    assert [r["id"] for r in client.get("/api/v1/tickets/?assignee=me").json()["results"]] == [
        mine.pk
    ]
    assert [r["id"] for r in client.get("/api/v1/tickets/?tag=vip").json()["results"]] == [
        tagged.pk
    ]


def test_q_is_the_pages_search_inside_the_list_visibility(
    api, agent, customer, other_customer, make_ticket, make_message
):
    said = {"description": "It stopped this morning."}
    mine = make_ticket(customer, title="Printer jams on floor 3", **said)
    theirs = make_ticket(other_customer, title="Printer jams on floor 4", **said)
    noted = make_ticket(customer, title="Scanner", **said)
    make_message(noted, agent, "toner is low on the printer", is_internal=True)
    make_ticket(customer, title="Mouse", **said)

    def ids(user, query: str) -> list[int]:
        response = api.as_(user).get("/api/v1/tickets/", {"q": query})
        assert response.status_code == 200
        return sorted(ticket["id"] for ticket in response.json()["results"])

    # A customer: their own tickets only, and never by an internal note's words.
    assert ids(customer, "printer") == [mine.pk]
    assert ids(agent, "printer") == sorted([mine.pk, theirs.pk, noted.pk])
    assert ids(agent, "printer -jams") == [noted.pk]
    assert ids(customer, '"unbalanced') == []
    assert ids(customer, "zzznothing") == []


@pytest.mark.parametrize("viewer", ["customer", "agent"])
def test_the_written_out_ticket_is_drfs_own(rf, request, viewer, customer, agent, make_ticket):
    """TicketSerializer writes its fields out (speed): the same as DRF's field by field walk,
    with and without an assignee, a category, tags and a close time."""
    from rest_framework.serializers import ModelSerializer

    from api.serializers import TicketSerializer
    from tickets.services import ticket_update

    bare = make_ticket(customer)
    full = make_ticket(customer, category=Category.objects.create(name="Printers"))
    ticket_update(
        ticket=full,
        by=agent,
        expected_version=full.version,
        assignee=agent,
        change_assignee=True,
        tags=["paper"],
    )
    full.update_status(Ticket.Status.CLOSED, by=agent)
    http = rf.get("/")
    http.user = request.getfixturevalue(viewer)
    for ticket in Ticket.objects.filter(pk__in=[bare.pk, full.pk]).select_related(
        "reporter", "assignee", "category"
    ):
        serializer = TicketSerializer(context={"request": http})
        assert serializer.to_representation(ticket) == ModelSerializer.to_representation(
            serializer, ticket
        )
