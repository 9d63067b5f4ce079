"""``page``: lines of an execution's spool, as the protocol answers them.

A page holds at most ``max_bytes`` bytes of lines (default the core's
:data:`~ccstream.spool.PAGE_BYTES`, at most
:data:`MAX_PAGE_BYTES`), whatever the line lengths: the core's :meth:`ccstream.Spool.page` cuts a
longer line and reports it, and the result carries that report as ``cuts``. :func:`page_message`
reads the page and encodes the whole JSON-RPC response, the encoding (CPU-bound) in a worker
thread, off the event loop. The result's ``sgr`` is the terminal style the page's first line
starts in (:mod:`ccstream_ws.server._page_style`).
"""

from __future__ import annotations

import base64
from typing import Any, Literal

import anyio.to_thread

from ccstream import CutLine, Page, Spool, StreamName

from ..protocol import _jsonrpc as rpc
from ..protocol._params import MAX_PAGE_BYTES, PAGE_BYTES
from ._page_style import style_at

__all__ = ["MAX_PAGE_BYTES", "PAGE_BYTES", "page_message", "page_result"]


def _complete_utf8(data: bytes) -> int:
    """Length of ``data`` without a UTF-8 sequence its end cuts short (0 to 3 bytes fewer)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return len(data)
        if byte >= 0xC0:
            if not 0xC2 <= byte <= 0xF4:
                return len(data)  # never a lead byte: invalid, left to "replace"
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(data) - back if need > back else len(data)
    return len(data)


def _cut(cut: CutLine, trim: int) -> dict[str, Any]:
    return {
        "line": cut.line,
        "offset": cut.offset,
        "kept_bytes": cut.kept - trim,
        "omitted_bytes": cut.omitted + trim,
        "rest_offset": cut.rest_offset - trim,
    }


def first_offset(page: Page) -> int:
    """The byte offset where the page's first line starts (its end for a page of no lines)."""
    if page.cuts and page.cuts[0].line == page.first_line:
        return page.cuts[0].offset
    return page.next_offset - sum(len(line) for line in page.lines)


def page_result(
    page: Page,
    encoding: Literal["text", "base64"],
    max_bytes: int = PAGE_BYTES,
    style: tuple[str, int, bool] = ("", 0, True),
    *,
    times: bool = False,
) -> dict[str, Any]:
    """The ``page`` method's result for ``page`` (read with the bound ``max_bytes``); lines as
    text (UTF-8, invalid bytes become U+FFFD) or base64. With ``times``, the result's ``times``
    holds each line's arrival time in seconds since the epoch, rounded to the microsecond (a
    JSON number keeps that exactly), or ``null`` when the spool has none.

    In text, a cut line ends at a whole code point: the bytes of one the cut splits go to the
    omitted part, so ``rest_offset`` starts at a code point and no U+FFFD is made up.
    """
    raw = page.lines
    cuts: list[dict[str, Any]] = []
    if page.cuts:
        raw = list(raw)
        for cut in page.cuts:
            i = cut.line - page.first_line
            trim = 0
            if encoding == "text":
                trim = len(raw[i]) - _complete_utf8(raw[i])
                raw[i] = raw[i][: len(raw[i]) - trim]
            cuts.append(_cut(cut, trim))
    if encoding == "text":
        lines = [each.decode("utf-8", "replace") for each in raw]
    else:
        lines = [base64.b64encode(each).decode("ascii") for each in raw]
    result: dict[str, Any] = {
        "lines": lines,
        "first_line": page.first_line,
        "next_line": page.next_line,
        "known_lines": page.known_lines,
        "complete": page.complete,
        "gaps": [
            {"offset": g.offset, "bytes": g.bytes, "lines": g.lines, "reason": g.reason}
            for g in page.gaps
        ],
        "cuts": cuts,
        "max_bytes": max_bytes,
        "next_offset": page.next_offset,
        "stream": page.stream,
        "encoding": encoding,
        "sgr": style[0],
        "sgr_from": style[1],
        "sgr_exact": style[2],
    }
    if times:
        result["times"] = None if page.times is None else [round(t, 6) for t in page.times]
    return result


async def page_message(
    spool: Spool,
    request_id: rpc.Id,
    stream: StreamName,
    line: int,
    count: int,
    encoding: Literal["text", "base64"],
    max_bytes: int,
    *,
    times: bool = False,
) -> str:
    """The JSON-RPC response to a ``page`` request, read (the store reads off the event loop)
    and encoded in a worker thread (CPU-bound). Holds a few times ``max_bytes``: the lines,
    their text and the message."""
    page = await spool.page(line, count, stream, max_bytes=max_bytes, times=times)
    source = spool.source
    sid = 0 if stream == "stdout" else 1
    start = first_offset(page)
    style = (
        await source.run_sync(lambda: style_at(source, sid, start)) if page.lines else ("", 0, True)
    )

    def encode(page: Page) -> str:
        result = page_result(page, encoding, max_bytes, style, times=times)
        # The page's bytes are let go before the message is made: two copies held, not three.
        return rpc.response(request_id, result)

    return await anyio.to_thread.run_sync(encode, page)
