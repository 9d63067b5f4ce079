"""``search``: the lines of an execution's spool that hold a pattern, as the protocol answers.

One answer is bounded three ways: at most ``limit`` matches, about
:data:`~ccstream_ws.protocol._search.SEARCH_ANSWER_BYTES` bytes of their lines, and
:data:`~ccstream_ws.protocol._search.SEARCH_SCAN_BYTES` bytes of output looked at; past any of
them it ends early with ``more`` and a ``cursor`` to go on from. The core's
:meth:`ccstream.Spool.search` does the reading, a few MiB per step, off the event loop where a
read would wait for the disk and in short steps where it runs on it; the answer is encoded in a
worker thread.
"""

from __future__ import annotations

import base64
from typing import Any

import anyio.to_thread

import ccstream
from ccstream.spool import Match, Search, SearchCursor

from ..exceptions import RPCError
from ..protocol import _jsonrpc as rpc
from ..protocol._codes import ErrorCode
from ..protocol._search import SEARCH_ANSWER_BYTES, SEARCH_SCAN_BYTES, SearchParams, parse_search
from ._pages import _complete_utf8
from ._registry import Registry

__all__ = ["search_message", "search_result"]


def _match(match: Match, encoding: str) -> dict[str, Any]:
    text = match.text
    trim = 0
    if encoding == "text":
        # A cut line ends at a whole code point: the bytes of one the cut splits are omitted.
        trim = len(text) - _complete_utf8(text) if match.cut else 0
        shown = text[: len(text) - trim].decode("utf-8", "replace")
    else:
        shown = base64.b64encode(text).decode("ascii")
    return {
        "stream": match.stream,
        "line": match.line,
        "offset": match.offset,
        "column": match.column,
        "text": shown,
        "omitted_bytes": match.omitted + trim,
    }


def search_result(p: SearchParams, search: Search, matches: list[Match]) -> dict[str, Any]:
    """The ``search`` method's result, once ``search`` handed out ``matches``."""
    cursor = search.cursor
    return {
        "matches": [_match(m, p.encoding) for m in matches],
        "count": search.count,
        "cursor": {"stdout": cursor.stdout, "stderr": cursor.stderr},
        "more": search.more,
        "complete": search.done,
        "scanned_bytes": search.scanned,
        "gaps": [
            {
                "stream": g.stream,
                "offset": g.offset,
                "bytes": g.bytes,
                "lines": g.lines,
                "reason": g.reason,
            }
            for g in search.gaps
        ],
        "limit": p.limit,
        "max_line_bytes": p.max_line_bytes,
        "encoding": p.encoding,
    }


async def search_message(registry: Registry, request: rpc.Request) -> str:
    """The JSON-RPC response to a ``search`` request; an :class:`RPCError` for a bad one."""
    p = parse_search(request.params)
    execution = registry.get(p.execution_id)
    if not execution.spooled:
        raise RPCError(ErrorCode.OUTPUT_UNAVAILABLE, f"execution {execution.id} keeps no spool")
    # A reader keeps the execution (and its spool) from expiring under the search.
    execution.reader_joined()
    try:
        with execution.open_spool() as spool:
            try:
                search = spool.search(
                    p.pattern.encode(),
                    regex=p.regex,
                    ignore_case=p.ignore_case,
                    stream=p.stream,
                    cursor=SearchCursor(p.cursor["stdout"], p.cursor["stderr"]),
                    limit=None if p.count_only else p.limit,
                    max_line_bytes=0 if p.count_only else p.max_line_bytes,
                    max_scan_bytes=SEARCH_SCAN_BYTES,
                )
            except ccstream.InvalidOption as exc:
                raise RPCError(ErrorCode.INVALID_PARAMS, str(exc)) from None
            matches: list[Match] = []
            size = 0
            async for match in search:
                if p.count_only:
                    continue
                matches.append(match)
                size += len(match.text)
                if size >= SEARCH_ANSWER_BYTES:
                    search.more = True  # the cursor is just past this match
                    break
    except ccstream.SpoolError as exc:
        raise RPCError(ErrorCode.OUTPUT_UNAVAILABLE, f"cannot read the spool: {exc}") from None
    finally:
        execution.reader_left()
    return await anyio.to_thread.run_sync(
        lambda: rpc.response(request.id, search_result(p, search, matches))
    )
