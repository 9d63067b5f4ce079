"""The ``search`` method's params (sans-I/O), checked as every method's are
(:mod:`ccstream_ws.protocol._params`): a bad member is an ``INVALID_PARAMS`` error naming it.
Sizes are in bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ccstream import StreamName

from ._params import _BIG, STREAMS, _bad, _bool, _choice, _int, _str, parse_execution_id

__all__ = [
    "MAX_SEARCH_LIMIT",
    "MAX_SEARCH_LINE_BYTES",
    "SEARCH_ANSWER_BYTES",
    "SEARCH_LINE_BYTES",
    "SEARCH_SCAN_BYTES",
    "SearchParams",
    "parse_search",
]

MAX_SEARCH_LIMIT = 1000
"""The most matches one ``search`` answer holds (``limit``)."""
SEARCH_LINE_BYTES = 1024
"""Bytes of each matching line an answer holds when the client does not say."""
MAX_SEARCH_LINE_BYTES = 64 * 1024
"""The most bytes of each matching line an answer holds (``max_line_bytes``)."""
SEARCH_ANSWER_BYTES = 1024 * 1024
"""Bytes of matching lines one answer holds at most: it ends early (``more``) past them."""
SEARCH_SCAN_BYTES = 256 * 1024 * 1024
"""Bytes of output one answer looks at, at most: it ends early (``more``) past them, so one
request never holds the connection for long."""
_MAX_PATTERN = 4096


@dataclass(frozen=True, slots=True)
class SearchParams:
    """``search``: the lines of ``stream`` (``None``: both) of ``execution_id``'s spool that hold
    ``pattern``, from the byte offsets ``cursor``; at most ``limit`` of them, each cut to
    ``max_line_bytes``; with ``count_only``, only their count."""

    execution_id: str
    pattern: str
    regex: bool
    ignore_case: bool
    stream: StreamName | None
    cursor: dict[StreamName, int]
    limit: int
    max_line_bytes: int
    count_only: bool
    encoding: Literal["text", "base64"]


def parse_search(p: Mapping[str, Any]) -> SearchParams:
    """Parse ``search`` params."""
    eid = parse_execution_id(p)
    assert eid is not None
    pattern = _str(p, "pattern", required=True)
    assert pattern is not None
    if len(pattern) > _MAX_PATTERN:
        raise _bad("pattern", f"at most {_MAX_PATTERN} characters", pattern)
    stream = p.get("stream")
    if stream is not None and stream not in STREAMS:
        raise _bad("stream", '"stdout", "stderr" or null (both)', stream)
    raw = p.get("cursor", {})
    if raw is None:
        raw = {}
    if not isinstance(raw, dict) or any(k not in STREAMS for k in raw):
        raise _bad("cursor", 'an object with "stdout" and "stderr" byte offsets', raw)
    cursor: dict[StreamName, int] = {}
    for name in STREAMS:
        cursor[name] = _int(raw, name, 0, 0, _BIG)
    return SearchParams(
        eid,
        pattern,
        _bool(p, "regex", False),
        _bool(p, "ignore_case", False),
        stream,
        cursor,
        _int(p, "limit", 100, 1, MAX_SEARCH_LIMIT),
        _int(p, "max_line_bytes", SEARCH_LINE_BYTES, 0, MAX_SEARCH_LINE_BYTES),
        _bool(p, "count_only", False),
        _choice(p, "encoding", ("text", "base64"), "text"),  # type: ignore[arg-type]
    )
