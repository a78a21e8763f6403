"""A 10 MB upload or download does not grow the server's memory by more than a few MB: the
upload goes to a temporary file and is read in chunks, the download is streamed from storage.
The figures are printed (pytest -s)."""

from __future__ import annotations

from messaging.models import Attachment

from .memory import MB, SIZE, measure_download, measure_upload

LIMIT = 4 * MB


def test_a_10_mb_upload_and_download_stay_within_a_few_mb(tmp_path, login, customer, ticket):
    session = login(customer).session.session_key

    status, upload_peak = measure_upload(tmp_path, ticket.pk, session)

    assert status == 302
    file = Attachment.objects.get()
    assert (file.size, file.sniffed_type) == (SIZE, "text/plain")
    status, received, download_peak = measure_download(
        f"/tickets/{ticket.pk}/files/{file.pk}/{file.name}", session
    )
    assert (status, received) == (200, SIZE)
    print(
        f"\n10 MB through the file system storage: upload peak {upload_peak / MB:.2f} MB, "
        f"download peak {download_peak / MB:.2f} MB (Python allocations, tracemalloc)"
    )
    assert upload_peak < LIMIT
    assert download_peak < LIMIT
