"""What the log says about a request: no secret from its path, and nothing a client sent that
can start a line of its own.

`logged_path` is the path as the request log (and Django's own records about a request) write
it: a password-reset link's token is as good as a password to whoever reads the log.

Then, one line per record. A path, a user name or a header is text a client chose. Written
as it is, a line break in it starts what looks like a new record (`GET /nope%0A2026-12-04 ...
INFO helpdesk.auth login user=6`), a carriage return or an escape sequence rewrites a line on a
terminal, and a right-to-left override shows a line other than the one written. So every
record's message is escaped here, once, for every logger (ours, Django's, the libraries'): each
character that is not printable (C0 and C1 controls, DEL, line and paragraph separators,
bidirectional and other format characters, spaces other than " ") is written as a Python escape
(\\n, \\x1b, \\u202e), and a backslash as two, so the line can be read back exactly. A
traceback keeps its lines, each indented under the record it belongs to and escaped the same
way: no line of it starts a record.
"""

from __future__ import annotations

import logging
import re

# A parameter in a route: <name>, <converter:name> or a regular expression's (?P<name>...).
_ROUTE_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)")
# Where a link carries a secret in its path (a password reset, an email confirmation). A link
# that a mail program mangled matches no route, and is logged without the rest.
SECRET_PATH_PREFIXES = ("/accounts/reset/", "/accounts/verify/")


def logged_path(request) -> str:
    """The path to log: never its query string, and no part of it that could be a secret.

    A path a route answers keeps the values of its numeric parameters (`/tickets/17/reply/`);
    any other parameter is logged by its name (`/accounts/reset/<uidb64>/<token>/`), since a
    link's token is as good as a password to whoever reads the log. A path no route answers is
    logged as sent, except under SECRET_PATH_PREFIXES.
    """
    match = getattr(request, "resolver_match", None)
    if match is None:
        for prefix in SECRET_PATH_PREFIXES:
            if request.path.startswith(prefix):
                return f"{prefix}…"
        return request.path
    values = {name: str(value) for name, value in match.kwargs.items()}
    if all(
        value.isascii() and value.isdigit() for value in [*values.values(), *map(str, match.args)]
    ):
        return request.path

    def shown(parameter: re.Match) -> str:
        name = parameter.group(1) or parameter.group(2)
        value = values.get(name, "")
        return value if value.isascii() and value.isdigit() else f"<{name}>"

    route = match.route.replace("^", "").replace("$", "")
    return "/" + _ROUTE_PARAMETER.sub(shown, route)


def escape_for_log(text: str) -> str:
    """`text` on one line of printable characters, reversibly (backslash escapes)."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(
        char if char.isprintable() and char != "\\" else char.encode("unicode_escape").decode()
        for char in text
    )


def _indented(text: str) -> str:
    return "\n".join(f"    {escape_for_log(line)}" for line in text.split("\n"))


class OneLineFormatter(logging.Formatter):
    """logging.Formatter, with the message escaped and tracebacks indented (module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        # logging keeps the first formatter's traceback text on the record (exc_text) for the
        # others; this one always writes its own, and leaves the record as it found it.
        cached = record.exc_text
        record.exc_text = None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached

    def formatMessage(self, record: logging.LogRecord) -> str:
        # format() sets record.message anew for each formatter, so this changes no other output.
        message = record.message
        # Django's own records about a request ("Forbidden (CSRF cookie not set.): /path",
        # "Internal Server Error: /path") carry it: its path is written as the request log's.
        request = getattr(record, "request", None)
        path = getattr(request, "path", None)
        if isinstance(path, str) and path and path in message:
            message = message.replace(path, logged_path(request))
        record.message = escape_for_log(message)
        return super().formatMessage(record)

    def formatException(self, ei) -> str:
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _indented(super().formatStack(stack_info))
