"""A real IMAP server on loopback for the inbound mail tests: Debian's Dovecot (dovecot-imapd),
started by the test as an unprivileged process, with a configuration, a passwd file and
Maildirs of its own in a temporary folder, on a free port of 127.0.0.1, plain IMAP (loopback
only). Mail goes in by IMAP APPEND, as a mail server's delivery would put it there.

Run as root (CI), Dovecot runs as `nobody`; otherwise as the user running the tests. Tests skip,
saying why, where Dovecot is not installed (`apt-get install dovecot-imapd`; .ci/run does it).
Not a test module itself.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from .servers import free_port, port_answers, stop

STARTUP_SECONDS = 30
USER = "support"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = helpdesk-test-{token}
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    user = {user}
  }}
  unix_listener stats-writer {{
    user = {user}
  }}
}}
"""


def dovecot_binary() -> str | None:
    found = shutil.which("dovecot")
    if found:
        return found
    return "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None


class Dovecot:
    """One Dovecot with one mailbox (USER, `password`). `start()` and `stop()` may be called
    again: the mail stays, the port is the same (a server that goes down and comes back)."""

    def __init__(self):
        binary = dovecot_binary()
        if binary is None:
            pytest.skip("needs Dovecot (apt-get install dovecot-imapd; .ci/run installs it)")
        self.binary = binary
        self.port = free_port()
        self.password = secrets.token_hex(8)
        # A short path of its own (its sockets' paths must stay short), readable by the
        # unprivileged user Dovecot runs as.
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-"))
        if os.geteuid() == 0:
            self.user, self.group = "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
        else:
            self.user = pwd.getpwuid(os.getuid()).pw_name
            self.group = grp.getgrgid(os.getgid()).gr_name
        for folder in ("run", "state", "mail"):
            (self.root / folder).mkdir()
        self.config = self.root / "dovecot.conf"
        self.config.write_text(
            CONFIG.format(
                root=self.root,
                token=secrets.token_hex(4),
                user=self.user,
                group=self.group,
                port=self.port,
            )
        )
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{self.password}\n")
        if os.geteuid() == 0:
            self.root.chmod(0o755)
            for path in [self.root, *self.root.rglob("*")]:
                shutil.chown(path, self.user, self.group)
        self.process: subprocess.Popen | None = None

    def start(self) -> Dovecot:
        as_root = os.geteuid() == 0
        self.process = subprocess.Popen(  # noqa: S603 (a fixed argument list, no shell)
            [self.binary, "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=(self.root / "stderr.log").open("ab"),
            start_new_session=True,
            user=self.user if as_root else None,
            group=self.group if as_root else None,
            extra_groups=[] if as_root else None,
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while not port_answers("127.0.0.1", self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Dovecot did not start:\n{self.log()[-3000:]}")
            time.sleep(0.05)  # polling for start-up, not waiting for a result
        return self

    def stop(self) -> None:
        """Stop the server and every process of it (the master and the sessions it started, in
        their own process group): open connections die with it, as in a crash or a restart."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            stop(self.process)
            self.process = None
        deadline = time.monotonic() + STARTUP_SECONDS
        while port_answers("127.0.0.1", self.port) and time.monotonic() < deadline:
            time.sleep(0.05)  # its children let go of the port

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        parts = []
        for name in ("dovecot.log", "stderr.log"):
            path = self.root / name
            if path.exists():
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def settings(self) -> dict[str, object]:
        """The help desk's settings for this mailbox."""
        return {
            "IMAP_HOST": "127.0.0.1",
            "IMAP_PORT": self.port,
            "IMAP_SECURITY": "none",
            "IMAP_USER": USER,
            "IMAP_PASSWORD": self.password,
            "IMAP_FOLDER": "INBOX",
        }

    def mailbox(self):
        from imap_tools import MailBoxUnencrypted

        box = MailBoxUnencrypted("127.0.0.1", self.port, timeout=10)
        box.login(USER, self.password)
        return box

    def deliver(self, *mails: bytes, folder: str = "INBOX") -> None:
        """Put mails in a folder (IMAP APPEND), unread, as a mail server delivers them."""
        with self.mailbox() as box:
            if not box.folder.exists(folder):
                box.folder.create(folder)
            for raw in mails:
                box.append(raw, folder, flag_set=[])

    def flags(self, folder: str = "INBOX") -> list[tuple[str, ...]]:
        """The flags of each mail in a folder, oldest first."""
        with self.mailbox() as box:
            if not box.folder.exists(folder):
                return []
            box.folder.set(folder)
            return [m.flags for m in box.fetch(headers_only=True, mark_seen=False)]
