"""Files with a new ticket, a ticket's own list of files, and reading a ticket through the API
marking its replies seen, as the pages do."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.models import Attachment
from messaging.services import attachment_remove
from messaging.tests.file_helpers import pdf_upload, png_bytes, png_upload, upload
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"


def new_ticket(**fields) -> dict:
    return {"title": "Printer jams", "description": "See the photo.", **fields}


class TestFilesWithANewTicket:
    def test_a_customer_reports_a_ticket_with_two_files(self, api, customer):
        response = api.as_(customer).post(
            TICKETS,
            new_ticket(files=[png_upload("jam.png"), pdf_upload("manual.pdf")]),
            format="multipart",
        )
        assert response.status_code == 201, response.json()
        ticket = Ticket.objects.get()
        assert ticket.has_files
        files = Attachment.objects.filter(ticket=ticket).order_by("pk")
        assert [(f.name, f.sniffed_type, f.message_id, f.uploaded_by_id) for f in files] == [
            ("jam.png", "image/png", None, customer.pk),
            ("manual.pdf", "application/pdf", None, customer.pk),
        ]

    def test_staff_open_one_for_a_customer_with_a_file(self, api, agent, customer):
        response = api.as_(agent).post(
            TICKETS,
            new_ticket(customer=customer.email, files=[png_upload()]),
            format="multipart",
        )
        assert response.status_code == 201, response.json()
        ticket = Ticket.objects.get()
        assert ticket.reporter == customer
        assert ticket.attachments.get().uploaded_by == agent

    def test_a_retried_post_stores_the_files_once(self, api, customer):
        client = api.as_(customer)
        for expected in (201, 200):
            response = client.post(
                TICKETS,
                new_ticket(files=[png_upload()]),
                format="multipart",
                HTTP_IDEMPOTENCY_KEY="with-a-file",
            )
            assert response.status_code == expected
        assert Attachment.objects.count() == 1

    def test_a_refused_type_is_a_415_and_stores_no_ticket(self, api, customer):
        exe = upload("run.exe", b"MZ\x90\x00" + b"\x00" * 200, "application/x-msdownload")
        response = api.as_(customer).post(
            TICKETS, new_ticket(files=[png_upload(), exe]), format="multipart"
        )
        assert response.status_code == 415
        assert response.json()["type"] == "unsupported_media_type"
        assert not Ticket.objects.exists()
        assert not Attachment.objects.exists()

    def test_a_file_too_large_is_a_413(self, api, customer, settings):
        settings.ATTACHMENT_MAX_BYTES = 50
        response = api.as_(customer).post(
            TICKETS, new_ticket(files=[png_upload()]), format="multipart"
        )
        assert response.status_code == 413
        assert response.json()["type"] == "too_large"
        assert not Ticket.objects.exists()

    def test_too_many_files_is_a_400_in_the_pages_words(self, api, customer, settings):
        settings.ATTACHMENT_MAX_FILES = 1
        response = api.as_(customer).post(
            TICKETS,
            new_ticket(files=[png_upload("a.png"), png_upload("b.png")]),
            format="multipart",
        )
        assert response.status_code == 400
        assert "at most 1" in response.json()["errors"]["files"][0]
        assert not Ticket.objects.exists()

    def test_files_in_json_are_a_400(self, api, customer):
        response = api.as_(customer).post(TICKETS, new_ticket(files=["x"]), format="json")
        assert response.status_code == 400
        assert "files" in response.json()["errors"]
        assert not Ticket.objects.exists()


def files_url(ticket) -> str:
    return f"{TICKETS}{ticket.pk}/files/"


@pytest.fixture
def ticket_with_files(api, customer, agent, make_message):
    """A ticket reported with a file, a public reply with one, an internal note with one, and a
    file staff removed."""
    api.as_(customer).post(
        TICKETS, new_ticket(files=[png_upload("report.png")]), format="multipart"
    )
    ticket = Ticket.objects.get()
    make_message(ticket, customer, "More", files=[png_upload("more.png")])
    make_message(ticket, agent, "Log", is_internal=True, files=[png_upload("log.png")])
    gone = make_message(ticket, agent, "Oops", files=[png_upload("gone.png")])
    attachment_remove(attachment=gone.attachments.get(), by=agent)
    return ticket


class TestATicketsFiles:
    def test_the_customer_gets_every_file_but_the_notes(self, api, customer, ticket_with_files):
        client = api.as_(customer)
        response = client.get(files_url(ticket_with_files))
        assert response.status_code == 200
        rows = response.json()["results"]
        assert [row["name"] for row in rows] == ["report.png", "more.png", "gone.png"]
        assert rows[0]["message"] is None
        assert rows[1]["message"] is not None
        assert rows[2]["url"] is None and rows[2]["removed_at"]
        download = client.get(rows[1]["url"])
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == png_bytes()

    def test_staff_get_the_notes_files_too(self, api, agent, ticket_with_files):
        rows = api.as_(agent).get(files_url(ticket_with_files)).json()["results"]
        assert [row["name"] for row in rows] == ["report.png", "more.png", "log.png", "gone.png"]
        assert api.as_(agent).get(rows[2]["url"]).status_code == 200

    def test_someone_elses_tickets_files_are_a_404(self, api, other_customer, ticket_with_files):
        response = api.as_(other_customer).get(files_url(ticket_with_files))
        assert response.status_code == 404
        assert response.json()["type"] == "not_found"

    def test_a_ticket_without_files_costs_no_file_query(
        self, api, customer, ticket, django_assert_max_num_queries
    ):
        client = api.as_(customer)
        client.get("/api/v1/users/me/")  # the token's first use is recorded once
        with django_assert_max_num_queries(2):  # token and user, ticket
            response = client.get(files_url(ticket))
        assert response.json()["results"] == []

    def test_the_list_costs_the_same_whatever_its_length(self, api, customer, ticket, make_message):
        client = api.as_(customer)
        client.get("/api/v1/users/me/")
        make_message(ticket, customer, "one", files=[png_upload()])

        def queries() -> int:
            with CaptureQueriesContext(connection) as captured:
                assert client.get(files_url(ticket) + "?page_size=100").status_code == 200
            return len(captured)

        few = queries()
        for number in range(10):
            make_message(ticket, customer, f"m{number}", files=[png_upload(), pdf_upload()])
        assert queries() == few == 3  # token and user, ticket, files


class TestReadingMarksTheReplySeen:
    """As the ticket page (tickets/tests/test_views_detail.py, TestOpeningMarksTheReplySeen):
    the reporter reading the ticket or its conversation clears the "New reply" marker with one
    UPDATE; a HEAD writes nothing; staff reading it change nothing."""

    @pytest.mark.parametrize("rest", ["", "messages/"])
    def test_a_get_by_the_reporter_marks_it_seen(
        self, api, customer, agent, ticket, make_message, rest
    ):
        make_message(ticket, agent, "Try turning it off and on again.")
        client = api.as_(customer)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"{TICKETS}{ticket.pk}/{rest}").status_code == 200
        updates = [q["sql"] for q in captured if q["sql"].startswith("UPDATE")]
        assert len([sql for sql in updates if "reporter_seen_at" in sql]) == 1
        ticket.refresh_from_db()
        assert not ticket.has_unseen_reply

    @pytest.mark.parametrize("rest", ["", "messages/"])
    def test_a_head_writes_nothing(self, api, customer, agent, ticket, make_message, rest):
        make_message(ticket, agent, "Try turning it off and on again.")
        assert api.as_(customer).head(f"{TICKETS}{ticket.pk}/{rest}").status_code == 200
        ticket.refresh_from_db()
        assert ticket.has_unseen_reply

    def test_staff_reading_it_leave_the_marker(self, api, agent, ticket, make_message):
        make_message(ticket, agent, "Try turning it off and on again.")
        assert api.as_(agent).get(f"{TICKETS}{ticket.pk}/").status_code == 200
        ticket.refresh_from_db()
        assert ticket.has_unseen_reply

    def test_the_list_of_files_does_not_mark_it(self, api, customer, agent, ticket, make_message):
        make_message(ticket, agent, "Try turning it off and on again.")
        assert api.as_(customer).get(files_url(ticket)).status_code == 200
        ticket.refresh_from_db()
        assert ticket.has_unseen_reply

    def test_nothing_to_mark_costs_no_update(
        self, api, customer, ticket, django_assert_max_num_queries
    ):
        client = api.as_(customer)
        client.get("/api/v1/users/me/")
        with django_assert_max_num_queries(2):  # token and user, ticket
            assert client.get(f"{TICKETS}{ticket.pk}/").status_code == 200
