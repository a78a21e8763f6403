"""What the mail tests look at: django.core.mail.outbox, and a real SMTP server."""

from __future__ import annotations

import socket
from contextlib import closing
from email import message_from_bytes, policy
from email.message import EmailMessage

from django.core import mail


def recipients() -> list[str]:
    """Every address mailed, sorted; each email must go to exactly one person."""
    for email in mail.outbox:
        assert len(email.to) == 1, email.to
        assert not email.cc
        assert not email.bcc
    return sorted(email.to[0] for email in mail.outbox)


def html_of(email) -> str:
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    return html


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (now)."""
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    """A real SMTP server (aiosmtpd) on a loopback port, started and stopped by the test: before
    `start()` and after `stop()` nothing listens there (a mail server that is down). What it
    received is in `messages`: (envelope recipients, the parsed message), in order."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self._controller = None

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        # Parsed as a mail client would (headers unfolded, parts decoded).
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def start(self) -> SmtpServer:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received_by(self, address: str) -> list[EmailMessage]:
        return [message for to, message in self.messages if address in to]


def send_over(settings, server: SmtpServer) -> SmtpServer:
    """Django sends over SMTP to `server` (a real one on a loopback port, started or not: a
    mail server that is down); a failed try is tried again at once (no back-off wait)."""
    from datetime import timedelta

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.POST_OFFICE = {**settings.POST_OFFICE, "RETRY_INTERVAL": timedelta(0)}
    return server
