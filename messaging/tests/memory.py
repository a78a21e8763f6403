"""How much memory a 10 MB upload and download take in the server (not a test module itself).

The request goes through the whole stack (middleware, the form, the service, the storage) as a
server hands it over: the body is read from a file, as from a socket, never built in memory by
the test. tracemalloc counts what Python allocates while the request is handled (and, for the
download, while its body is read to the end, chunk by chunk).
"""

from __future__ import annotations

import io
import tracemalloc
import uuid
from pathlib import Path

from django.conf import settings
from django.test.client import ClientHandler

MB = 1024 * 1024
SIZE = 10_000_000  # "10 MB", under the 10 MiB limit
BOUNDARY = "memory-boundary"


def log_file(path: Path, size: int = SIZE) -> Path:
    """A plain-text log of `size` bytes, written in pieces."""
    line = b"2026-12-04 23:59:59.123 ERROR worker-7 request failed: timeout after 30s\n"
    with path.open("wb") as out:
        written = 0
        while written < size:
            piece = line[: size - written]
            out.write(piece)
            written += len(piece)
    return path


def multipart_body(path: Path, upload: Path, fields: dict[str, str]) -> Path:
    """The body a browser sends for the reply form with `upload` in its file field, on disk."""
    with path.open("wb") as body:
        for name, value in fields.items():
            body.write(
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        body.write(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{upload.name}"\r\nContent-Type: text/plain\r\n\r\n'.encode()
        )
        with upload.open("rb") as source:
            while chunk := source.read(MB):
                body.write(chunk)
        body.write(f"\r\n--{BOUNDARY}--\r\n".encode())
    return path


def _environ(method: str, path: str, session: str, **extra) -> dict:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "testserver",
        "HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}={session}",
        "wsgi.url_scheme": "http",
        "wsgi.errors": None,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **extra,
    }


def measure_upload(tmp_path: Path, ticket_id: int, session: str) -> tuple[int, int]:
    """(status, peak bytes allocated) for a reply carrying a 10 MB log."""
    upload = log_file(tmp_path / "big.log")
    body = multipart_body(
        tmp_path / "body", upload, {"content": "The log", "client_token": str(uuid.uuid4())}
    )
    handler = ClientHandler(enforce_csrf_checks=False)
    with body.open("rb") as stream:
        environ = _environ(
            "POST",
            f"/tickets/{ticket_id}/reply/",
            session,
            CONTENT_TYPE=f"multipart/form-data; boundary={BOUNDARY}",
            CONTENT_LENGTH=str(body.stat().st_size),
            **{"wsgi.input": stream},
        )
        tracemalloc.start()
        try:
            response = handler(environ)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return response.status_code, peak


def measure_download(path: str, session: str) -> tuple[int, int, int]:
    """(status, bytes received, peak bytes allocated) for reading a file to its end."""
    handler = ClientHandler(enforce_csrf_checks=False)
    received = 0
    tracemalloc.start()
    try:
        response = handler(_environ("GET", path, session, **{"wsgi.input": io.BytesIO()}))
        # Read to the end, which closes the response (as a server does, with the test
        # client's care for the test's database connection).
        for chunk in response.streaming_content:
            received += len(chunk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return response.status_code, received, peak
