"""One line, not a traceback, for what an ASGI server logs about a client's own mistake.

uvicorn's default WebSocket implementation (``websockets-sansio``) decodes each text message
itself; on invalid UTF-8 it closes the connection with 1007, as it should, and logs the
``UnicodeDecodeError`` with its traceback at ERROR, once per such message. Its ``wsproto``
implementation drops the connection without a close frame instead, so the adapter keeps the
default and shortens that record. The application never sees the message, only the disconnect.
"""

from __future__ import annotations

import logging

__all__ = ["install_log_filters"]

_UVICORN_INVALID_UTF8 = "Invalid UTF-8 sequence received from client."


class _InvalidUTF8Filter(logging.Filter):
    """Turns uvicorn's invalid-UTF-8 traceback into one WARNING line; passes every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == _UVICORN_INVALID_UTF8 and record.exc_info:
            error = record.exc_info[1]
            record.msg = "closed a WebSocket with 1007: a text message was not UTF-8 (%s)"
            record.args = (error,)
            record.exc_info = None
            record.exc_text = None
            record.levelno = logging.WARNING
            record.levelname = logging.getLevelName(logging.WARNING)
        return True


def install_log_filters() -> None:
    """Add the filter to uvicorn's error logger (once; logging config keeps a logger's filters)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _InvalidUTF8Filter) for f in logger.filters):
        logger.addFilter(_InvalidUTF8Filter())
