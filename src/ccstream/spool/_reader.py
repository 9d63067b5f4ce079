"""Reading a spool: pages of lines, byte ranges, the tail, and ``follow``.

A :class:`Spool` is either the live handle of a spooled run (``run.spool``) or one opened on a
directory with :meth:`Spool.open`, also from another process while the run is still writing it.
Every call looks at one consistent state of the spool and holds at most one page (plus one 64 KiB
read block) in memory.

Lines are numbered from 0 per stream. A page never holds a line that may still grow: the last,
unterminated line appears once the run ended. A page holds at most ``max_bytes`` bytes of lines
(default :data:`PAGE_BYTES`) whatever the line lengths: a line longer than that is cut, and the
page says so in :attr:`Page.cuts` (see :class:`CutLine`). Lines the quota dropped are not
returned: a page stops before the first line the gap cuts, and the page at such a line holds no
lines, reports the gap and moves the cursor past it, so a loop that follows ``next_line`` sees
every kept line once, in order, and every gap.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncGenerator, Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .._check import check_int
from .._events import STREAMS, Gap, Output, StreamName
from ..exceptions import InvalidOption, SpoolError
from ._base import Source
from ._follow import Follower
from ._quota import ReaderMark
from ._search import MATCH_BYTES, Search, SearchCursor
from ._state import SpoolState
from ._times import line_times
from ._view import Retry, View

if TYPE_CHECKING:
    import os

__all__ = ["PAGE_BYTES", "READ_LIMIT", "CutLine", "Page", "Spool"]

READ_LIMIT = 16 * 1024 * 1024
"""Largest byte range :meth:`Spool.read` returns at once, in bytes."""

PAGE_BYTES = 1024 * 1024
"""Default bound of a page, in bytes of lines (:meth:`Spool.page`'s ``max_bytes``)."""

_T = TypeVar("_T")
_RETRIES = 5


@dataclass(frozen=True, slots=True)
class CutLine:
    """A line longer than its page's ``max_bytes``: the page holds only its first ``kept`` bytes.

    ``line``: its number; ``offset``: the byte offset where it starts; ``omitted``: the bytes of
    it the page left out (its newline included, if it has one); ``rest_offset``: the byte offset
    where they begin (``offset + kept``), from which :meth:`Spool.read` gives them back. The
    line's length is ``kept + omitted``.
    """

    line: int
    offset: int
    kept: int
    omitted: int
    rest_offset: int


@dataclass(frozen=True, slots=True)
class Page:
    """Lines ``first_line`` to ``next_line - 1`` of ``stream``.

    ``lines`` each end with ``b"\\n"``, except the last line of a complete stream that has none.
    ``next_line`` is the cursor for the next page; ``known_lines`` counts the lines known so far
    in the stream (the last one only once it is complete); ``complete``: the run ended and this
    page reaches the end. ``gaps``: output the spool does not hold in this page's range — a page
    at a line the quota dropped has no lines and one gap, and its ``next_line`` is the first
    line after the gap; the last page of a stream whose spooling failed reports the
    ``"disk_error"`` gap. ``next_offset`` is the byte offset just past this page (for a gap page,
    just past the gap), where a :meth:`Spool.follow` can go on from.

    ``cuts``: the lines of this page that are longer than the page's bound, each cut to it (a
    line of at most the bound is never cut). Such a line is always the only line of its page.

    ``times``: asked for with ``times=True``, the arrival time of each line (of the frame that
    holds its first byte), in seconds since the epoch, one per line of ``lines``; ``None`` when
    not asked for or the spool has no times (one written without them).
    """

    lines: list[bytes]
    first_line: int
    next_line: int
    known_lines: int
    complete: bool
    gaps: list[Gap]
    stream: StreamName = "stdout"
    next_offset: int = 0
    cuts: list[CutLine] = field(default_factory=list)
    times: list[float] | None = None


def _sid(stream: StreamName) -> int:
    if stream == "stdout":
        return 0
    if stream == "stderr":
        return 1
    raise InvalidOption(f"stream must be 'stdout' or 'stderr', got {stream!r}")


def _count(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidOption(f"{name} must be an integer >= {minimum}, got {value!r}")


class Spool:
    """The reader of one spool (see the module docstring), over a :class:`~ccstream.spool.Source`.

    :meth:`open` reads a spool directory; a spooled run's reader is ``run.spool``; a store's
    :meth:`~ccstream.spool.Store.open` gives one by key. The reads are async: a store whose
    calls block runs them in a worker thread, so the event loop never waits for a disk.
    Closing the reader releases its files; ``on_close`` (the run's own reader: remove the
    spool unless it was kept) runs then.
    """

    def __init__(self, source: Source, *, on_close: Callable[[], None] | None = None) -> None:
        self.source = source
        """What this reader reads."""
        self.path = source.path
        """Where the spool lives (its directory, for the local store)."""
        self._on_close = on_close
        self._closed = False

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Spool:
        """Open the spool in directory ``path`` for reading, whether its run still writes it (in
        this or another process) or ended. :class:`~ccstream.SpoolNotFound` if it holds none."""
        from .local._source import DirectorySource

        return cls(DirectorySource(Path(path)))

    # -- state ----------------------------------------------------------------------------------

    def _snapshot(self) -> SpoolState:
        if self._closed:
            raise SpoolError(f"the spool at {str(self.path)!r} was closed")
        return self.source.snapshot()

    async def state(self) -> SpoolState:
        """The state now, read where blocking is allowed (the properties below read it too,
        quickly: a few small reads for a spool another process writes)."""
        if self._closed:
            raise SpoolError(f"the spool at {str(self.path)!r} was closed")
        return await self.source.run_sync(self.source.snapshot)

    @property
    def complete(self) -> bool:
        """True once nothing more will be written (the run ended, or its writer is gone)."""
        return self._snapshot().complete

    @property
    def sizes(self) -> dict[StreamName, int]:
        """Bytes of each stream written so far (including any the quota dropped since)."""
        sizes = self._snapshot().sizes
        return {"stdout": sizes[0], "stderr": sizes[1]}

    @property
    def gaps(self) -> list[Gap]:
        """Output the spool does not hold: quota gaps, and once complete, ``"disk_error"`` ones."""
        return list(self._snapshot().gaps)

    @property
    def error(self) -> str | None:
        """Why spooling stopped early, if it did."""
        return self._snapshot().error

    @property
    def returncode(self) -> int | None:
        """The run's return code once it ended (as in :class:`~ccstream.Result`), else ``None``."""
        return self._snapshot().returncode

    @property
    def reason(self) -> str | None:
        """Why the run ended (a :class:`~ccstream.Reason` value) once it did, else ``None``."""
        return self._snapshot().reason

    async def known_lines(self, stream: StreamName = "stdout") -> int:
        """Lines of ``stream`` known so far (the unterminated last one once complete)."""
        sid = _sid(stream)
        return await self._with_view(lambda view: view.known_lines(sid))

    async def _with_view(self, fn: Callable[[View], _T]) -> _T:
        if self._closed:
            raise SpoolError(f"the spool at {str(self.path)!r} was closed")
        source = self.source

        def call() -> _T:
            for _ in range(_RETRIES):
                view = View(source, source.snapshot())
                try:
                    return fn(view)
                except Retry:
                    continue
                finally:
                    view.close()
            raise SpoolError("the spool kept changing under a read; a segment file is missing")

        return await source.run_sync(call)

    # -- pages ----------------------------------------------------------------------------------

    async def page(
        self,
        line: int = 0,
        count: int = 1000,
        stream: StreamName = "stdout",
        *,
        max_bytes: int = PAGE_BYTES,
        times: bool = False,
    ) -> Page:
        """Up to ``count`` lines of ``stream`` from line ``line`` (0-based), at most
        ``max_bytes`` bytes of them in all; see :class:`Page`.

        Whichever bound is reached first ends the page. A line that does not fit in what is left
        of ``max_bytes`` starts the next page instead; a page holds at least one line when one
        is there, so a line longer than ``max_bytes`` comes alone, cut to its first
        ``max_bytes`` bytes, and is reported in :attr:`Page.cuts`. The call holds about
        ``max_bytes`` bytes (plus one 64 KiB read block), however long the lines are: it finds
        the line with a bisection of the index and a short scan, never from the start, and finds
        the end of a cut line the same way, without reading the line. With ``times``, the page
        carries each line's arrival time (:attr:`Page.times`).
        """
        _count("line", line, 0)
        _count("count", count, 1)
        _count("max_bytes", max_bytes, 1)
        sid = _sid(stream)
        return await self._with_view(
            lambda view: self._timed(view, self._page(view, sid, line, count, max_bytes, []), times)
        )

    async def tail(
        self,
        count: int = 100,
        stream: StreamName = "stdout",
        *,
        max_bytes: int = PAGE_BYTES,
        times: bool = False,
    ) -> Page:
        """The last ``count`` lines of ``stream`` known so far, as a :meth:`page` from the first
        of them, bounded by ``max_bytes`` the same way: when they do not fit, the page ends
        early (``next_line < known_lines``) and :meth:`page` at ``next_line`` goes on. When the
        quota dropped some of them, the page starts after the gap and reports it."""
        _count("count", count, 1)
        _count("max_bytes", max_bytes, 1)
        sid = _sid(stream)

        def tail(view: View) -> Page:
            known = view.known_lines(sid)
            first = max(0, known - count)
            gaps: list[Gap] = []
            gap = view.gap(sid)
            if gap is not None:
                after, _ = view.after_gap(sid, gap)
                if first < after:
                    first = min(after, known)
                    gaps.append(gap)
            page = self._page(view, sid, first, max(1, known - first), max_bytes, gaps)
            return self._timed(view, page, times)

        return await self._with_view(tail)

    @staticmethod
    def _timed(view: View, page: Page, times: bool) -> Page:
        """``page`` with its lines' arrival times, when asked for and the spool has them."""
        if not times or not page.lines:
            has = times and view.source.times(0, 1) is not None
            return dataclasses.replace(page, times=[]) if has else page
        if page.cuts:
            offsets = [page.cuts[0].offset]
        else:
            offsets = []
            pos = page.next_offset - sum(len(each) for each in page.lines)
            for each in page.lines:
                offsets.append(pos)
                pos += len(each)
        found = line_times(view.source, view.state.records, _sid(page.stream), offsets)
        return page if found is None else dataclasses.replace(page, times=found)

    def _page(
        self, view: View, sid: int, line: int, count: int, budget: int, gaps: list[Gap]
    ) -> Page:
        state = view.state
        stream = STREAMS[sid]
        size = state.sizes[sid]
        known = view.known_lines(sid)
        failed = state.gap(sid, "disk_error") if state.complete else None

        def page(
            lines: list[bytes], next_line: int, next_offset: int, cuts: list[CutLine] | None = None
        ) -> Page:
            done = state.complete and next_line >= known
            if done and failed is not None and failed not in gaps:
                gaps.append(failed)
            return Page(lines, line, next_line, known, done, gaps, stream, next_offset, cuts or [])

        def at_gap(gap: Gap) -> Page:
            gaps.append(gap)
            after, end = view.after_gap(sid, gap)
            return page([], after, end)

        def cut(start: int, end: int) -> Page:
            # The only line of its page: its first ``budget`` bytes, and where the rest is.
            kept = view.read(sid, start, start + budget)
            rest = start + budget
            return page([kept], line + 1, end, [CutLine(line, start, budget, end - rest, rest)])

        newlines = view.newlines(sid)
        if line >= known:
            start = view.locate(sid, newlines) if line == newlines else None
            return page([], line, size if start is None else start)
        start = view.locate(sid, line)
        gap = view.gap(sid)
        if start is None:
            assert gap is not None
            return at_gap(gap)
        limit = gap.offset if gap is not None and start < gap.offset else size
        lines, end, full = view.lines(sid, start, limit, count, budget)
        if lines and (full or len(lines) >= count or end >= limit):
            return page(lines, line + len(lines), end)
        if lines:
            # The next line does not end before ``limit``: a page stops before a line the quota
            # cut, the disk error cut, or that may still grow; the last one of a complete stream
            # comes if it fits.
            room = budget - sum(len(each) for each in lines)
            if limit == size and state.complete and failed is None and size - end <= room:
                lines.append(view.read(sid, end, size))
                end = size
            return page(lines, line + len(lines), end)
        # The line at ``start`` is longer than the page, or does not end before ``limit``.
        if line < newlines:
            # It ends: where the next line starts, from the index (the line is not read).
            stop = view.locate(sid, line + 1)
            # The next line starts in the gap: this one is whole if its newline is the last byte
            # before the gap (there is no newline earlier, or the next line would start there).
            if (
                stop is None
                and gap is not None
                and start < gap.offset == limit
                and view.read(sid, limit - 1, limit) == b"\n"
            ):
                stop = limit
            if stop is None or stop > limit:
                assert gap is not None
                return at_gap(gap)  # the quota cut the line: it is not returned
            return cut(start, stop)
        # The last line, without a newline.
        if limit < size:
            assert gap is not None
            return at_gap(gap)
        if not state.complete:
            return page([], line, start)  # it may still grow
        if failed is not None:
            # Cut by the disk error: spooled only in part.
            gaps.append(failed)
            return page([], line + 1, size)
        if size - start <= budget:
            return page([view.read(sid, start, size)], line + 1, size)
        return cut(start, size)

    # -- bytes ----------------------------------------------------------------------------------

    async def read(self, stream: StreamName, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes (at most :data:`READ_LIMIT`) of ``stream`` from byte
        ``offset``. Fewer at the end of what was written so far or where a gap begins, and
        ``b""`` at the end or inside a gap (see :attr:`gaps`)."""
        sid = _sid(stream)
        _count("offset", offset, 0)
        _count("length", length, 0)
        if length > READ_LIMIT:
            raise InvalidOption(f"length must be at most {READ_LIMIT} bytes, got {length}")

        def read(view: View) -> bytes:
            end = min(offset + length, view.state.sizes[sid])
            gap = view.gap(sid)
            if gap is not None:
                if gap.offset <= offset < gap.offset + gap.bytes:
                    return b""
                if offset < gap.offset < end:
                    end = gap.offset
            if offset >= end:
                return b""
            data, _ = view.segments.read(sid, offset, end)
            return data

        return await self._with_view(read)

    # -- search ---------------------------------------------------------------------------------

    def search(
        self,
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
    ) -> Search:
        """The lines of ``stream`` (``None``: both) that hold ``pattern``, as an async iterable
        of :class:`~ccstream.spool.Match` (see :class:`~ccstream.spool.Search` for its counts
        and cursor, and ``docs/core.md``, Searching a spool).

        ``regex``: ``pattern`` is a Python regular expression (on bytes, one line at a time,
        its newline excluded), else a literal; ``ignore_case``: ASCII case folding; ``cursor``:
        where to start (default: the start of each stream); ``follow``: after what is written,
        wait for more and go on until the run ended (else stop at what is there now; a last
        line that may still grow is left for the next search); ``limit``: stop after this many
        matches; ``max_line_bytes``: bound of each match's ``text`` (longer lines are cut and
        say so); ``max_scan_bytes``: stop after looking at about this many bytes (the
        search's ``more`` says so and its ``cursor`` goes on). Both streams are searched in
        turn, a step of at most 16 MiB at a time. Memory stays bounded by one 1 MiB block, its
        case-folded copy and one step's matches, whatever the line lengths.
        """
        return Search(
            self,
            pattern,
            regex=regex,
            ignore_case=ignore_case,
            stream=stream,
            cursor=cursor,
            follow=follow,
            limit=limit,
            max_line_bytes=max_line_bytes,
            poll_interval=poll_interval,
            max_scan_bytes=max_scan_bytes,
        )

    # -- follow ---------------------------------------------------------------------------------

    async def follow(
        self,
        offsets: Mapping[StreamName, int] | None = None,
        *,
        streams: Collection[StreamName] = STREAMS,
        poll_interval: float = 0.05,
    ) -> AsyncGenerator[Output | Gap, None]:
        """The frames of ``streams`` in arrival order from byte ``offsets`` (default 0 each):
        what is written so far, then live, until the run ended and all was delivered.

        Frames are the ones the pump recorded (same ``stream``, ``seq``, ``offset``, ``data``),
        except that a start offset inside a frame yields the rest of that frame first. Where the
        quota dropped output a :class:`~ccstream.Gap` comes instead (starting at the missing frame
        when a start offset falls inside one); at the end, any ``"disk_error"`` gap. Another
        process's spool is polled every ``poll_interval`` seconds; in the writing process new
        frames wake the reader at once.

        On a run's own handle (``run.spool``) the follower is a live reader from its first step
        until it ends or is closed (``aclose``, or a cancelled ``async for``): under
        ``SpoolOptions(on_quota="pause")`` the quota drops nothing it has not taken, and the
        child waits for it instead.
        """
        if self._closed:
            raise SpoolError(f"the spool at {str(self.path)!r} was closed")
        follower = Follower(self.source, offsets, streams, poll_interval=poll_interval)
        follower.register()
        try:
            while (event := await follower.next()) is not None:
                yield event
        finally:
            follower.close()

    async def follow_batches(
        self,
        offsets: Mapping[StreamName, int] | None = None,
        *,
        streams: Collection[StreamName] = STREAMS,
        poll_interval: float = 0.05,
        max_bytes: int = 1024 * 1024,
        max_events: int = 256,
    ) -> AsyncGenerator[list[Output | Gap], None]:
        """As :meth:`follow`, in batches: each holds at least one event, and then everything
        that was ready without waiting, up to ``max_events`` events or ``max_bytes`` bytes of
        frames (a batch may pass ``max_bytes`` by its last frame). For a consumer whose cost is
        per wake-up (a socket sender): it takes what is ready in one turn of the event loop.
        """
        if self._closed:
            raise SpoolError(f"the spool at {str(self.path)!r} was closed")
        check_int("max_bytes", max_bytes, minimum=1)
        check_int("max_events", max_events, minimum=1)
        follower = Follower(self.source, offsets, streams, poll_interval=poll_interval)
        follower.register()
        try:
            while batch := await follower.batch(max_bytes, max_events):
                yield batch
        finally:
            follower.close()

    def hold(self, offsets: Mapping[StreamName, int] | None = None) -> Callable[[], None]:
        """Keep the quota from dropping bytes from ``offsets`` (default 0 each) on, as a live
        reader there would, under ``SpoolOptions(on_quota="pause")``; call the returned function
        to let go. For a reader about to come (a client that will subscribe). Holds nothing on a
        spool no writer in this process writes.
        """
        offsets = offsets or {}
        mark = ReaderMark([offsets.get(name, 0) for name in STREAMS], [True, True])
        return self.source.hold(mark)

    # -- lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the files, then run ``on_close`` (a run's own reader: remove the spool unless
        it was kept)."""
        if self._closed:
            return
        self._closed = True
        self.source.close()
        if self._on_close is not None:
            with contextlib.suppress(OSError):
                self._on_close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Spool {str(self.path)!r}>"
