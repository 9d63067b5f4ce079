"""Searching a spool: the lines of one or both streams that hold a literal or a regular
expression, from any cursor, over what is written so far or following the run live.

A :class:`Search` reads the spool through the same one-consistent-state views as pages do
(:mod:`ccstream.spool._view`), in steps of at most 16 blocks each run where
blocking is allowed, and hands out :class:`Match` es as each step finds them. It holds one read
block of :data:`SEARCH_BLOCK` bytes (and its case-folded copy) plus the matches of one step,
whatever the line lengths: a line longer than a block is searched window by window
(:class:`~ccstream.spool._match.LongLine`). Line numbers come from the spool's line checkpoints
at the start (a bisection and a scan of at most one checkpoint's span) and are then counted
along, so a search from a cursor deep in a big spool numbers its matches exactly at once.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import anyio.lowlevel

from .._events import STREAMS, Gap, StreamName
from ..exceptions import InvalidOption
from ._index import count_upto
from ._match import LongLine, Matcher
from ._records import Checkpoint
from ._view import View

if TYPE_CHECKING:
    from ._reader import Spool

__all__ = ["MATCH_BYTES", "SEARCH_BLOCK", "Match", "Search", "SearchCursor"]

SEARCH_BLOCK = 1024 * 1024
"""Bytes per read of a search: lines up to this long are searched whole, one block at a time."""

_STEP_BLOCKS = 16
"""Blocks a search reads per step (one call where blocking is allowed) before it yields."""

_LOOP_BLOCKS = 2
"""Blocks per step when the store runs the step on the event loop (reads from the page cache):
searching is CPU work, and other tasks wait for it meanwhile."""

MATCH_BYTES = 4096
"""Default bound of a match's ``text``, in bytes (:meth:`Spool.search`'s ``max_line_bytes``)."""

_STEP_MATCHES = 1024
"""Matches per step at most (with ``max_line_bytes`` their bound in memory)."""


@dataclass(frozen=True, slots=True)
class Match:
    """A line of ``stream`` that holds the pattern.

    ``line``: its number (0-based, as in :class:`~ccstream.spool.Page`); ``offset``: the byte
    offset where it starts; ``column``: where the first match starts, in bytes from the line's
    start; ``text``: the line's first bytes, its newline excluded, at most the search's
    ``max_line_bytes``; ``omitted``: the bytes of the line (newline excluded) left out of
    ``text`` — a line is cut when that is not 0, and :meth:`Spool.read` from
    ``offset + len(text)`` gives them back. ``column`` may lie in the omitted part.
    """

    stream: StreamName
    line: int
    offset: int
    column: int
    text: bytes
    omitted: int = 0

    @property
    def cut(self) -> bool:
        """True when ``text`` holds only the start of the line."""
        return self.omitted > 0

    @property
    def length(self) -> int:
        """The line's length in bytes, its newline excluded."""
        return len(self.text) + self.omitted


@dataclass(frozen=True, slots=True)
class SearchCursor:
    """Where a search goes on: per stream, the byte offset of the first line not yet searched.

    A search from a cursor it handed out sees every line after it once. Any offsets are
    accepted: one inside a line starts at the next line, one inside a quota gap after the gap.
    """

    stdout: int = 0
    stderr: int = 0

    def offset(self, stream: StreamName) -> int:
        """The offset of ``stream``."""
        return self.stdout if stream == "stdout" else self.stderr


@dataclass(frozen=True, slots=True)
class _Scan:
    """Where the search of one stream is: ``pos`` is the next byte to look at and ``line`` the
    number of the line starting there; with ``skip``, ``pos`` is inside a line, to be passed
    over, and ``line`` is the number of the line after it; ``line`` is ``None`` when not
    counted (past blocks without a match: it is found from the checkpoints when a match needs
    it, so a block without one costs one search and no count); with ``long``, a line longer than a
    block is being searched (it started at ``long.offset``). ``ended``: the stream is searched
    to its end and nothing more will come."""

    sid: int
    pos: int
    line: int | None
    skip: bool = False
    long: LongLine | None = None
    ended: bool = False

    @property
    def resume(self) -> int:
        """The cursor offset: the first line not wholly searched yet."""
        return self.long.offset if self.long is not None else self.pos


@dataclass(slots=True)
class _Step:
    scan: _Scan
    matches: list[Match]
    gaps: list[Gap]
    scanned: int
    records: int
    complete: bool


def _checked_count(name: str, value: int | None, minimum: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidOption(f"{name} must be an integer >= {minimum}, got {value!r}")


class Search:
    """The matches of a search, as an async iterable (see :meth:`Spool.search`).

    While and after it is iterated: :attr:`count` (matches handed out), :attr:`cursor` (where a
    search for more goes on), :attr:`scanned` (bytes looked at), :attr:`gaps` (output in the
    searched range the spool does not hold: it was not searched), :attr:`done` (every searched
    stream is searched to its end and the run ended), :attr:`limited` (it stopped at
    ``limit``) and :attr:`more` (it stopped at ``limit`` or after ``max_scan_bytes`` bytes
    looked at, before the end of what is written). Iterate it once.
    ``block_size``: bytes per read (lines up to this long are searched whole); a step reads 16
    blocks at most. The other arguments are
    :meth:`Spool.search`'s.
    """

    def __init__(
        self,
        spool: Spool,
        pattern: bytes | str,
        *,
        regex: bool = False,
        ignore_case: bool = False,
        stream: StreamName | None = None,
        cursor: SearchCursor | None = None,
        follow: bool = False,
        limit: int | None = None,
        max_line_bytes: int = MATCH_BYTES,
        poll_interval: float = 0.05,
        max_scan_bytes: int | None = None,
        block_size: int = SEARCH_BLOCK,
    ) -> None:
        self._matcher = Matcher(pattern, regex=regex, ignore_case=ignore_case)
        if stream is not None and stream not in STREAMS:
            raise InvalidOption(f"stream must be 'stdout', 'stderr' or None, got {stream!r}")
        if cursor is not None and not isinstance(cursor, SearchCursor):
            raise InvalidOption(f"cursor must be a SearchCursor, got {type(cursor).__name__}")
        _checked_count("limit", limit, 1)
        _checked_count("max_line_bytes", max_line_bytes, 0)
        _checked_count("block_size", block_size, 1)
        _checked_count("max_scan_bytes", max_scan_bytes, 1)
        self._max_scan = max_scan_bytes
        self._block = block_size
        if not isinstance(poll_interval, (int, float)) or not poll_interval > 0:
            raise InvalidOption(f"poll_interval must be > 0 seconds, got {poll_interval!r}")
        self._spool = spool
        self._streams: tuple[StreamName, ...] = STREAMS if stream is None else (stream,)
        self._start = cursor or SearchCursor()
        self._follow = follow
        self._limit = limit
        self._keep = max_line_bytes
        self._poll = float(poll_interval)
        self._offsets = {"stdout": self._start.stdout, "stderr": self._start.stderr}
        self._started = False
        self.count = 0
        """Matches handed out so far."""
        self.scanned = 0
        """Bytes of the spool looked at so far."""
        self.gaps: list[Gap] = []
        """Output in the searched range that the spool does not hold (it was not searched)."""
        self.done = False
        """True once every searched stream was searched to its end and the run ended."""
        self.limited = False
        """True when the search stopped at ``limit`` matches."""
        self.more = False
        """True when it stopped early, at ``limit`` or ``max_scan_bytes``: a search from
        :attr:`cursor` goes on."""

    @property
    def cursor(self) -> SearchCursor:
        """Where a search for more goes on (:class:`SearchCursor`)."""
        return SearchCursor(self._offsets["stdout"], self._offsets["stderr"])

    def __aiter__(self) -> AsyncIterator[Match]:
        if self._started:
            raise InvalidOption("a Search is iterated once; start another for more")
        self._started = True
        return self._run()

    async def _run(self) -> AsyncIterator[Match]:
        spool = self._spool
        loop = threading.get_ident()
        scans: dict[StreamName, _Scan] = {}
        for name in self._streams:
            sid = STREAMS.index(name)
            offset = self._start.offset(name)
            scans[name] = await spool._with_view(functools.partial(_start, sid=sid, offset=offset))
        while True:
            # A store may run the steps on the event loop: let other tasks in between.
            await anyio.lowlevel.checkpoint()
            progressed = False
            complete = False
            records = 0
            for name in self._streams:
                scan = scans[name]
                if scan.ended:
                    continue
                room = _STEP_MATCHES
                if self._limit is not None:
                    room = min(room, self._limit - self.count)

                def run(view: View, scan: _Scan = scan, room: int = room) -> _Step:
                    # A store may run this on the event loop (from the page cache): fewer
                    # blocks per step there, so that other tasks wait less.
                    blocks = _LOOP_BLOCKS if threading.get_ident() == loop else _STEP_BLOCKS
                    matcher, keep, block = self._matcher, self._keep, self._block
                    return _step(view, matcher, scan, room, keep, block * blocks, block)

                step = await spool._with_view(run)
                scans[name] = step.scan
                self.scanned += step.scanned
                records, complete = step.records, step.complete
                for gap in step.gaps:
                    if gap not in self.gaps:
                        self.gaps.append(gap)
                progressed = progressed or step.scan != scan or bool(step.matches)
                resume = step.scan.resume
                for match in step.matches:
                    self.count += 1
                    # A consumer that stops here goes on from the line after this one.
                    self._offsets[name] = min(match.offset + match.length + 1, resume)
                    yield match
                self._offsets[name] = resume
                ended = all(s.ended for s in scans.values())
                if self._limit is not None and self.count >= self._limit:
                    self.limited = True
                    self.more = not ended
                    self.done = ended
                    return
                if self._max_scan is not None and self.scanned >= self._max_scan and not ended:
                    self.more = True
                    return
            if all(s.ended for s in scans.values()):
                self.done = True
                return
            if not progressed:
                if not self._follow or complete:
                    return
                await spool.source.wait(records, self._poll)


def _start(view: View, sid: int, offset: int) -> _Scan:
    """The scan of stream ``sid`` from ``offset``: the line there and its number."""
    size = view.state.sizes[sid]
    offset = min(offset, size)
    if offset == 0 or view.in_gap(sid, offset):
        return _Scan(sid, offset, 0)
    newlines = _newlines_before(view, sid, offset)
    if view.read(sid, offset - 1, offset) == b"\n":
        return _Scan(sid, offset, newlines)
    return _Scan(sid, offset, newlines + 1, skip=True)


def _checkpoint_before(view: View, sid: int, offset: int) -> Checkpoint:
    """The last checkpoint at or before ``offset`` (a bisection)."""
    n = count_upto(lambda i: view.checkpoint(sid, i), view.state.checkpoints[sid], offset)
    return view.checkpoint(sid, n - 1)


def _newlines_before(view: View, sid: int, offset: int) -> int:
    """The newlines before ``offset`` (kept bytes): from the checkpoint at or before it, and a
    count of at most one checkpoint's span."""
    cp = _checkpoint_before(view, sid, offset)
    newlines = cp.newlines
    pos = cp.offset
    while pos < offset:
        data = view.read(sid, pos, min(offset, pos + SEARCH_BLOCK))
        newlines += data.count(b"\n")
        pos += len(data)
    return newlines


class _Numbers:
    """Line numbers of the line starts in ``data`` (read at ``pos``; ``line``: the number of
    the line at ``pos``, or ``None`` if not counted): each counted from the previous one when
    it is near, else from the nearest checkpoint, so a block with a few matches is not
    counted through."""

    _NEAR = 64 * 1024

    def __init__(self, view: View, sid: int, pos: int, data: bytes, line: int | None) -> None:
        self.view, self.sid, self.pos, self.data = view, sid, pos, data
        self.known: tuple[int, int] | None = None if line is None else (0, line)

    def at(self, i: int) -> int:
        """The number of the line starting at ``data[i]`` (asked in increasing ``i``)."""
        data, known = self.data, self.known
        if known is not None and i - known[0] <= self._NEAR:
            line = known[1] + data.count(b"\n", known[0], i)
        else:
            cp = _checkpoint_before(self.view, self.sid, self.pos + i)
            start = cp.offset - self.pos
            if start >= 0:
                line = cp.newlines + data.count(b"\n", start, i)
            elif known is not None:
                line = known[1] + data.count(b"\n", known[0], i)
            else:
                # The checkpoint lies before the block: count to the block from there (at
                # most its span, read), then in the block.
                base = _newlines_before(self.view, self.sid, self.pos)
                line = base + data.count(b"\n", 0, i)
        self.known = (i, line)
        return line


def _step(
    view: View, matcher: Matcher, scan: _Scan, room: int, keep: int, budget: int, block: int
) -> _Step:
    """Search on from ``scan`` for about ``budget`` bytes (reads of ``block``) or ``room``
    matches. Has no
    effect but its answer, so a step the spool changed under (:class:`Retry`) can start over."""
    state = view.state
    sid = scan.sid
    stream = STREAMS[sid]
    size = state.sizes[sid]
    gap = view.gap(sid)
    final = state.complete
    failed = state.gap(sid, "disk_error") if final else None
    matches: list[Match] = []
    gaps: list[Gap] = []
    scanned = 0

    def match(line: int, offset: int, column: int, text: bytes, length: int) -> Match:
        return Match(stream, line, offset, column, text, length - len(text))

    def whole(long: LongLine) -> Match:
        return match(long.line, long.offset, long.column, long.head, long.seen)

    while budget > 0 and len(matches) < room:
        pos = scan.pos
        if gap is not None and gap.offset <= pos < gap.offset + gap.bytes:
            # The quota dropped these bytes (and the line they cut): go on after the gap.
            gaps.append(gap)
            line, end = view.after_gap(sid, gap)
            starts = view.checkpoint_at(sid, end).line_start
            scan = replace(scan, pos=end, line=line, skip=not starts, long=None)
            continue
        limit = gap.offset if gap is not None and pos < gap.offset else size
        if pos >= size:
            if final:
                if scan.long is not None and failed is None:
                    long = scan.long.feed(matcher, b"", last=True, keep=keep)
                    if long.column >= 0:
                        matches.append(
                            match(long.line, long.offset, long.column, long.head, long.seen)
                        )
                if failed is not None:
                    gaps.append(failed)
                scan = replace(scan, long=None, ended=True)
            break
        end = min(limit, pos + block)
        data = view.read(sid, pos, end)
        budget -= len(data)
        scanned += len(data)
        at_end = end == size and final and failed is None
        if scan.skip:
            nl = data.find(b"\n")
            scan = replace(scan, pos=end) if nl < 0 else replace(scan, pos=pos + nl + 1, skip=False)
            continue
        if scan.long is not None:
            nl = data.find(b"\n")
            piece = data if nl < 0 else data[:nl]
            last = nl >= 0 or at_end
            long = scan.long.feed(matcher, piece, last=last, keep=keep)
            if not last:
                scan = replace(scan, pos=end, long=long)
                continue
            if long.column >= 0:
                matches.append(whole(long))
            scan = replace(scan, pos=pos + len(piece) + 1, line=long.line + 1, long=None)
            continue
        stop = len(data) if at_end else data.rfind(b"\n") + 1
        if stop == 0:
            if end < limit or (len(data) >= block and limit == size and not final):
                # A line longer than a block: searched window by window.
                line = scan.line if scan.line is not None else _newlines_before(view, sid, pos)
                long = LongLine(pos, line).feed(matcher, data, last=False, keep=keep)
                scan = replace(scan, pos=end, long=long)
                continue
            if limit == size and not final:
                scanned -= len(data)  # it is read again once it grew
                break  # the last line may still grow: it is searched once it ends
            # The line runs into the quota gap or the disk error: it is not searched.
            scan = replace(scan, pos=end)
            continue
        hits = matcher.lines(matcher.fold(data), stop)
        if not hits:
            scan = replace(scan, pos=pos + stop, line=None)
            scanned -= len(data) - stop
            continue
        numbers = _Numbers(view, sid, pos, data, scan.line)
        taken = hits[: room - len(matches)]
        for hit in taken:
            text = data[hit.start : min(hit.end, hit.start + keep)]
            line = numbers.at(hit.start)
            matches.append(
                match(line, pos + hit.start, hit.column - hit.start, text, hit.end - hit.start)
            )
        if len(taken) < len(hits):
            last_hit = taken[-1]
            after = min(last_hit.end + 1, stop)
            scan = replace(scan, pos=pos + after, line=numbers.at(last_hit.start) + 1)
            scanned -= len(data) - after
            break
        scan = replace(scan, pos=pos + stop, line=None)
        scanned -= len(data) - stop
    return _Step(scan, matches, gaps, scanned, state.records, final)
