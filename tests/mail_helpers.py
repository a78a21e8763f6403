"""What the notification tests look at in django.core.mail.outbox."""

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
