"""One consistent look at a spool for a single read call: line arithmetic over a source.

Everything a call reads is bounded by the :class:`SpoolState` it started from, so bytes the
writer appends meanwhile are never half-seen. A segment the quota drops while we read it raises
:class:`Retry`, and the call starts over from a newer state.
"""

from __future__ import annotations

from .._events import Gap
from ..exceptions import SpoolError
from ._base import Source
from ._index import count_upto, find_line, find_offset, nth_newline
from ._records import Checkpoint
from ._state import SpoolState

__all__ = ["BLOCK", "Retry", "View"]

BLOCK = 64 * 1024
"""Bytes per read when scanning or paging; a call holds at most one block besides its page."""


class Retry(Exception):
    """The spool changed under a read (a segment was dropped); start over with a new state."""


class View:
    """``state`` plus the primitives of ``source``; close it when done. Its calls block (they
    run inside :meth:`Source.run_sync <ccstream.spool.Source.run_sync>`)."""

    def __init__(self, source: Source, state: SpoolState) -> None:
        self.state = state
        self.source = source
        self.segment_size = source.segment_size
        self.segments = source.ranges(keep_open=2)
        self._newlines: dict[int, int] = {}

    def close(self) -> None:
        self.segments.close()

    def read(self, sid: int, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``, all of which must be kept; :class:`Retry` if one was dropped."""
        data, missing = self.segments.read(sid, start, end)
        if missing is not None:
            raise Retry
        return data

    def block(self, sid: int, pos: int, end: int) -> bytes:
        """The next read block from ``pos``: at most :data:`BLOCK` bytes, before ``end``, and
        never past the end of ``pos``'s segment (the next one may be a gap)."""
        size = self.segment_size
        return self.read(sid, pos, min(end, pos + BLOCK, (pos // size + 1) * size))

    def gap(self, sid: int) -> Gap | None:
        return self.state.gap(sid, "quota")

    def in_gap(self, sid: int, offset: int) -> bool:
        gap = self.gap(sid)
        return gap is not None and gap.offset <= offset < gap.offset + gap.bytes

    def checkpoint(self, sid: int, i: int) -> Checkpoint:
        return self.source.checkpoint(sid, i)

    def checkpoint_at(self, sid: int, offset: int) -> Checkpoint:
        """The checkpoint at ``offset`` (a segment boundary always has one)."""
        cp = find_offset(
            lambda i: self.source.checkpoint(sid, i), self.source.checkpoint_count(sid), offset
        )
        if cp is None:
            raise SpoolError(f"the spool's index has no checkpoint at offset {offset}")
        return cp

    def newlines(self, sid: int) -> int:
        """Newlines in the bytes written (counted from the last checkpoint when not recorded)."""
        known = self.state.newlines
        if known is not None:
            return known[sid]
        if sid not in self._newlines:
            size = self.state.sizes[sid]
            count = self.source.checkpoint_count(sid)
            # The last checkpoint at or before the end of what this state covers.
            n = count_upto(lambda i: self.checkpoint(sid, i), count, size)
            cp = self.checkpoint(sid, n - 1)
            total = cp.newlines
            pos = cp.offset
            while pos < size:
                block = self.block(sid, pos, size)
                total += block.count(b"\n")
                pos += len(block)
            self._newlines[sid] = total
        return self._newlines[sid]

    def open_line(self, sid: int) -> bool:
        """True when the last byte written is not a newline (a line is still open)."""
        known = self.state.open_line
        if known is not None:
            return known[sid]
        size = self.state.sizes[sid]
        return size > 0 and self.read(sid, size - 1, size) != b"\n"

    def known_lines(self, sid: int) -> int:
        """Lines known: complete ones, plus the last unterminated one once nothing can follow."""
        extra = self.state.complete and self.open_line(sid)
        return self.newlines(sid) + extra

    def locate(self, sid: int, line: int) -> int | None:
        """Offset where line ``line`` starts, or ``None`` when it starts inside the quota gap.

        ``line`` must be at most :meth:`newlines` (the last, open line starts after the last
        newline). A bisection over the checkpoints, then a scan of at most one checkpoint's span,
        which never leaves its segment.
        """
        if line == 0:
            return 0
        cp = find_line(lambda i: self.checkpoint(sid, i), self.state.checkpoints[sid], line)
        if cp.newlines == line and cp.line_start:
            return None if self.in_gap(sid, cp.offset) else cp.offset
        if self.in_gap(sid, cp.offset):
            return None
        need = line - cp.newlines
        pos = cp.offset
        size = self.state.sizes[sid]
        while pos < size:
            block = self.block(sid, pos, size)
            count = block.count(b"\n")
            if count >= need:
                return pos + nth_newline(block, need) + 1
            need -= count
            pos += len(block)
        raise SpoolError(f"line {line} is not where the spool's index says")

    def after_gap(self, sid: int, gap: Gap) -> tuple[int, int]:
        """``(first line wholly after the quota gap, the gap's end offset)``."""
        end = gap.offset + gap.bytes
        cp = self.checkpoint_at(sid, end)
        return (cp.newlines if cp.line_start else cp.newlines + 1), end

    def lines(
        self, sid: int, start: int, limit: int, count: int, budget: int
    ) -> tuple[list[bytes], int, bool]:
        """Up to ``count`` whole lines from offset ``start``, ``budget`` bytes of them in all,
        reading no further than ``limit``.

        Returns the lines, the offset just past the last of them, and whether the line that
        starts there is longer than what is left of ``budget`` (it is not read to its end: a
        line's bytes are kept only while they fit, so this holds at most ``budget`` bytes of
        lines plus one read block, whatever the line lengths). When that is false and fewer
        than ``count`` lines came, the line at the returned offset does not end before ``limit``.
        """
        lines: list[bytes] = []
        carry = bytearray()
        room = budget
        pos = start
        while pos < limit and len(lines) < count:
            block = self.block(sid, pos, limit)
            i = 0
            while True:
                j = block.find(b"\n", i)
                if j < 0:
                    break
                size = len(carry) + j + 1 - i
                if size > room:
                    return lines, pos + i - len(carry), True
                if carry:
                    carry += memoryview(block)[i : j + 1]
                    lines.append(bytes(carry))
                    carry.clear()
                else:
                    lines.append(block[i : j + 1])
                room -= size
                i = j + 1
                if len(lines) >= count:
                    return lines, pos + i, False
            if len(carry) + len(block) - i > room:
                return lines, pos + i - len(carry), True
            carry += memoryview(block)[i:]
            pos += len(block)
        return lines, pos - len(carry), False
