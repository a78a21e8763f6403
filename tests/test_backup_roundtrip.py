"""A backup made on SQLite restores the same help desk on PostgreSQL.

Runs the real commands as separate processes, each against its own throw-away database (never
the pytest test database): a temporary SQLite file is migrated, seeded with 200 tickets and
exported (with the demo's attachments, whose bytes go to a folder beside the file); a temporary
PostgreSQL database is migrated and the file imported into it. Both sides then report their
counts and content digest (tickets.transfer.content_digest: natural fields only, no ids, the
attachments' SHA-256 included), which must be equal. Skipped where PostgreSQL is not reachable at 127.0.0.1:5432.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
SERVER_URL = os.environ.get("ROUNDTRIP_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
DIGEST = (
    "from tickets.transfer import content_digest; import json; print(json.dumps(content_digest()))"
)


@pytest.fixture
def postgres_database():
    """A new, empty PostgreSQL database; dropped afterwards. Skips if the server is not there."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(f"{SERVER_URL}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL is not reachable at {SERVER_URL}: {exc}".strip())
    name = f"helpdesk_roundtrip_{secrets.token_hex(4)}"
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{SERVER_URL}/{name}"
    finally:
        # FORCE: a crashed subprocess may still hold a connection.
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def manage(database_url: str, *args: str, attachments: Path) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "true",
        "LOG_LEVEL": "WARNING",
        # Each side's own private folder, as two installations have.
        "ATTACHMENT_ROOT": str(attachments),
    }
    completed = subprocess.run(  # noqa: S603 (our own manage.py, fixed arguments)
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, (
        f"manage.py {' '.join(args)} failed ({completed.returncode}):\n"
        f"{completed.stdout}\n{completed.stderr}"
    )
    return completed.stdout


def digest(database_url: str, attachments: Path) -> dict:
    out = manage(database_url, "shell", "--no-imports", "-c", DIGEST, attachments=attachments)
    return json.loads(out.strip().splitlines()[-1])


def test_a_sqlite_backup_restores_the_same_help_desk_on_postgresql(postgres_database, tmp_path):
    sqlite_url = f"sqlite:///{tmp_path / 'source.sqlite3'}"
    backup = tmp_path / "backup.jsonl"
    here, there = tmp_path / "sqlite-files", tmp_path / "postgresql-files"

    manage(sqlite_url, "migrate", "--no-input", "-v", "0", attachments=here)
    manage(sqlite_url, "seed_demo", "--tickets", "200", "--quiet-logins", attachments=here)
    exported = manage(
        sqlite_url, "export_tickets", "--format", "jsonl", "--output", str(backup), attachments=here
    )
    source = digest(sqlite_url, here)

    manage(postgres_database, "migrate", "--no-input", "-v", "0", attachments=there)
    imported = manage(postgres_database, "import_tickets", str(backup), attachments=there)
    target = digest(postgres_database, there)
    again = manage(postgres_database, "import_tickets", str(backup), attachments=there)

    assert source["tickets"] == 200
    assert source["messages"] > 200 and source["events"] > 200
    # The demo's picture and PDF: their bytes beside the backup, checked on the way in.
    assert source["attachments"] == 2
    assert len(list(backup.with_name("backup.jsonl.files").iterdir())) == 2
    assert f"Exported 200 tickets ({source['messages']} messages" in exported
    assert f"Imported 200 tickets ({source['messages']} messages" in imported
    assert "2 attachments" in imported
    assert target == source
    assert "Imported 0 tickets" in again and "skipped 200 already present" in again
    assert digest(postgres_database, there) == source
