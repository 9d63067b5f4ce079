"""``page``: lines of an execution's spool, as the protocol answers them.

:func:`read_page` reads in steps that grow while the lines stay short, so a page of long lines
stops after about :data:`PAGE_BYTES` instead of holding ``count`` of them in memory at once (the
core's ``Spool.page`` has no byte limit). It does blocking file reads: run it in a worker thread.
"""

from __future__ import annotations

import base64
from typing import Any, Literal, Protocol

from ccstream import Gap, Page, StreamName

__all__ = ["PAGE_BYTES", "page_result", "read_page"]

PAGE_BYTES = 1024 * 1024
"""A page stops after about this many bytes of lines; it always holds at least one line."""
_FIRST_STEP = 8
_GROWTH = 8


class _Pages(Protocol):
    def page(self, line: int = 0, count: int = 1000, stream: StreamName = "stdout") -> Page: ...


def read_page(
    spool: _Pages, stream: StreamName, line: int, count: int, budget: int = PAGE_BYTES
) -> Page:
    """Up to ``count`` lines of ``stream`` from ``line``, stopping after about ``budget`` bytes;
    the fields mean what :class:`ccstream.Page`'s mean (a page at a quota gap has no lines)."""
    lines: list[bytes] = []
    gaps: list[Gap] = []
    size = 0
    longest = 0
    step = min(count, _FIRST_STEP)
    cursor = line
    last: Page | None = None
    while True:
        page = spool.page(cursor, step, stream)
        if not page.lines:
            if last is None:
                return page  # at the end so far, or at a gap: the core's answer as it is
            break  # the next lines are not there yet, or a gap is next: the next page says
        last = page
        lines += page.lines
        gaps += page.gaps
        for each in page.lines:
            size += len(each)
            longest = max(longest, len(each))
        cursor = page.next_line
        if len(page.lines) < step or len(lines) >= count or size >= budget or page.gaps:
            break
        # Grow while lines are short; aim at what is left of the budget at the longest length.
        fits = (budget - size) // longest + 1
        step = max(1, min(count - len(lines), step * _GROWTH, fits))
    return Page(
        lines,
        line,
        last.next_line,
        last.known_lines,
        last.complete,
        gaps,
        stream,
        last.next_offset,
    )


def page_result(page: Page, encoding: Literal["text", "base64"]) -> dict[str, Any]:
    """The ``page`` method's result for ``page``; lines as text (UTF-8, invalid bytes become
    U+FFFD) or base64."""
    if encoding == "text":
        lines = [each.decode("utf-8", "replace") for each in page.lines]
    else:
        lines = [base64.b64encode(each).decode("ascii") for each in page.lines]
    return {
        "lines": lines,
        "first_line": page.first_line,
        "next_line": page.next_line,
        "known_lines": page.known_lines,
        "complete": page.complete,
        "gaps": [
            {"offset": g.offset, "bytes": g.bytes, "lines": g.lines, "reason": g.reason}
            for g in page.gaps
        ],
        "next_offset": page.next_offset,
        "stream": page.stream,
        "encoding": encoding,
    }
