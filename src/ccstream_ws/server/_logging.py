"""One log format for ``ccstream-ws serve``: ccstream's own lines and uvicorn's alike.

``text``: ``TIME LEVEL LOGGER: MESSAGE``, one line each (a traceback follows on its own lines).
``json``: one JSON object per line with ``time`` (UTC, ISO 8601), ``level``, ``logger`` and
``message``; an access line adds ``client``, ``method``, ``path``, ``http_version`` and
``status``; a traceback is in ``exception``.

Secrets never reach the stream: every line passes the ``token=`` redaction of
:mod:`ccstream_ws.server._redact` and has every literal secret given (the server's token)
replaced with ``[redacted]``, whatever logged it and in either format.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from typing import Any, Literal

from ._redact import redact

__all__ = ["JSONFormatter", "LogFormat", "TextFormatter", "logging_config"]

LogFormat = Literal["text", "json"]
_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_REDACTED = "[redacted]"
# uvicorn's access record: '%s - "%s %s HTTP/%s" %d' % (client, method, path, version, status)
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class _Secrets:
    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = tuple(s for s in secrets if s)

    def clean(self, text: str) -> str:
        if "token=" in text.lower():
            text = redact(text)
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, _REDACTED)
        return text


class TextFormatter(logging.Formatter):
    """The text format; ``secrets`` are replaced wherever they appear in a line."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__(_TEXT)
        self._secrets = _Secrets(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self._secrets.clean(super().format(record))


class JSONFormatter(logging.Formatter):
    """The JSON format (one object per line); ``secrets`` are replaced in every field."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = _Secrets(secrets)

    def format(self, record: logging.LogRecord) -> str:
        clean = self._secrets.clean
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": clean(record.getMessage()),
        }
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            for name, value in zip(_ACCESS_FIELDS, args, strict=True):
                out[name] = clean(value) if isinstance(value, str) else value
        if record.exc_info:
            out["exception"] = clean(self.formatException(record.exc_info))
        elif record.exc_text:
            out["exception"] = clean(record.exc_text)
        return json.dumps(out, ensure_ascii=False, default=str)


def logging_config(
    level: str, fmt: LogFormat = "text", secrets: Iterable[str] = ()
) -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` for the root logger (ccstream's lines) and
    uvicorn's loggers, all through one handler on stderr in format ``fmt``; pass it to uvicorn
    as ``log_config``. ``level`` is a level name (``info``)."""
    formatter = JSONFormatter if fmt == "json" else TextFormatter
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"ccstream": {"()": formatter, "secrets": tuple(secrets)}},
        "handlers": {
            "ccstream": {
                "class": "logging.StreamHandler",
                "formatter": "ccstream",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["ccstream"], "level": level},
        "loggers": {
            # uvicorn's own handlers are replaced by ours; they do not propagate to the root.
            "uvicorn": {"handlers": ["ccstream"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["ccstream"], "level": level, "propagate": False},
        },
    }
