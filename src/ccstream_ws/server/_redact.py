"""Keep the token out of the ASGI server's own logs.

Access logs print each request's path with its query string, and a client may still send the
token as ``?token=`` (the viewer does not: it logs in for a cookie). A filter on the access and
error loggers of uvicorn and hypercorn rewrites any ``token=...`` in a record to
``token=[redacted]`` before it is formatted.
"""

from __future__ import annotations

import logging
import re

__all__ = ["LOGGERS", "RedactTokens", "install", "redact"]

LOGGERS = ("uvicorn.access", "uvicorn.error", "hypercorn.access", "hypercorn.error")
"""The loggers that print request paths."""

# After ?, & or ; (query separators), or a space or quote (a path at the start of a field).
_TOKEN = re.compile(r"(?i)((?:^|[?&;\s\"'])token=)[^&;\s\"']*")


def redact(text: str) -> str:
    """``text`` with every ``token=VALUE`` query parameter's value replaced."""
    return _TOKEN.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    """Rewrites a record's message and string arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "token=" in record.msg.lower():
            record.msg = redact(record.msg)
        args = record.args
        if isinstance(args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        elif isinstance(args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in args.items()}
        return True


def install() -> None:
    """Add the filter to each of :data:`LOGGERS` once (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
