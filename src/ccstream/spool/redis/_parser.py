"""A bound on the memory of coredis' reply parser, whatever the replies stream through it.

coredis (6.x) keeps the bytes a connection receives in one ``BytesIO`` per connection and
empties it only when a reply ends exactly where the received bytes end. One multiplexed
connection that is never idle — a node's followers fetching windows of many spools at once —
almost never ends a socket read on a reply's last byte, so the buffer kept every byte the
connection ever received: measured, a node's RSS grew by about the output its followers read.

:class:`CompactingParser` moves the unread rest to a fresh buffer once the part already parsed
is at least :data:`COMPACT_AT` bytes and at least as large as that rest: each byte is copied at
most once more on average, and a buffer holds at most about twice the larger of
:data:`COMPACT_AT` and the reply being received. :func:`install` makes it the parser of every
coredis connection made afterwards in this process (importing :mod:`ccstream.spool.redis` calls
it); with a coredis that parses in another way it changes nothing.
"""

from __future__ import annotations

import io
import logging
from typing import Any

__all__ = ["COMPACT_AT", "CompactingParser", "install"]

log = logging.getLogger("ccstream")

COMPACT_AT = 1024 * 1024
"""Bytes already parsed from a connection's buffer before it may be compacted."""

try:
    from coredis.connection import _base as _connection
    from coredis.parser import Parser as _Parser
except ImportError:  # pragma: no cover - another coredis layout: nothing to bound here
    _connection = None  # type: ignore[assignment]
    _Parser = None  # type: ignore[assignment,misc]


class CompactingParser:
    """coredis' parser (compiled: it cannot be subclassed), its buffer compacted before each
    feed (see the module docstring); everything else is the wrapped parser's."""

    __slots__ = ("_parser",)

    def __init__(self) -> None:
        assert _Parser is not None
        self._parser = _Parser()

    def feed(self, data: bytes) -> None:
        parser = self._parser
        read: int = parser.bytes_read
        written: int = parser.bytes_written
        if read >= COMPACT_AT and read >= written - read:
            # Positions are the parser's bytes_read/bytes_written (it seeks to them on each
            # feed); a reply parsed halfway keeps its nodes, which hold no buffer positions.
            with parser.localbuffer.getbuffer() as view:
                rest = bytes(view[read:written])
            parser.localbuffer = io.BytesIO(rest)
            parser.bytes_read = 0
            parser.bytes_written = len(rest)
        parser.feed(data)

    def parse(self, decode: bool = False, encoding: str | None = None) -> Any:
        return self._parser.parse(decode=decode, encoding=encoding)

    def on_disconnect(self) -> None:
        self._parser.on_disconnect()

    def can_read(self) -> bool:
        return bool(self._parser.can_read())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)

    @property
    def buffered(self) -> int:
        """Bytes the buffer holds now (parsed or not), for tests and measurements."""
        return len(self._parser.localbuffer.getbuffer())


def install() -> bool:
    """Make :class:`CompactingParser` coredis' connection parser; whether it could be."""
    if _connection is None or _Parser is None:
        return False  # pragma: no cover - another coredis layout
    current = getattr(_connection, "Parser", None)
    if current is CompactingParser:
        return True
    probe = _Parser()
    if current is not _Parser or not all(
        hasattr(probe, name)
        for name in ("localbuffer", "bytes_read", "bytes_written", "feed", "parse")
    ):
        log.warning("coredis parses replies in an unknown way: its buffers are not bounded")
        return False
    setattr(_connection, "Parser", CompactingParser)  # noqa: B010  (coredis types it its own)
    return True
