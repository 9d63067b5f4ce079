"""Followers: replay a spool's frames in arrival order from any byte offsets, then go live.

A cursor over the order log of a :class:`~ccstream.spool.Source`. Each record names a frame
(stream, offset, length, seq, newlines before it); the cursor yields the frame's bytes from the
writer's memory when the source still has it there (the very object the pump made: no copy, no
read), else from the source's byte ranges. Where a piece is gone (the quota dropped it) it yields
one :class:`Gap` for the whole dropped stretch, with the exact newline count from the checkpoints
at its ends, and skips past it.

Reads that may block run in :meth:`Source.run_sync <ccstream.spool.Source.run_sync>`, a batch of
at most about :data:`READ_AHEAD` bytes of frames at a time; frames from memory cost no hop.
Memory: that batch, one block of order records and a few open pieces. A cursor in the middle of
a piece keeps it open, so a drop under its feet does not cut a frame.

Two cursors: a :class:`Follower` reads what the source holds, like any reader of the spool, and
ends with the spool, reporting its ``"disk_error"`` gaps. A :class:`RunFollower` is the run's own
event stream: it reads what was handed to the :class:`~ccstream.spool.Sink`, even before the
store has it (the sink's memory keeps such frames), and it ends when the sink stops taking
frames (the run then delivers the rest itself). Both are live readers once registered: their
offsets are a :class:`~ccstream.spool._quota.ReaderMark` the quota looks at when it is spent, so
under ``on_quota="pause"`` nothing they have not taken is dropped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence

from .._chunker import _count_invalid
from .._events import STREAMS, Gap, Output, StreamName
from ..exceptions import InvalidOption, SpoolError
from ._base import Sink, Source
from ._index import find_offset
from ._quota import ReaderMark
from ._records import Record
from ._state import SpoolState

__all__ = ["READ_AHEAD", "Follower", "RunFollower"]

READ_AHEAD = 256 * 1024
"""Bytes of frames a cursor reads in one blocking batch before it yields them."""

_RECORD_BLOCK = 256
_MEMORY_BATCH = 64  # frames taken from the writer's memory per look


def _dropped(frame: Output, gaps: tuple[Gap, ...]) -> bool:
    end = frame.offset + len(frame.data)
    return any(
        g.stream == frame.stream and g.offset < end and frame.offset < g.offset + g.bytes
        for g in gaps
    )


class _Cursor:
    """What both followers share: the position, the records, memory and the read batches."""

    def __init__(
        self,
        source: Source,
        offsets: Mapping[StreamName, int] | None,
        streams: Collection[StreamName],
        poll_interval: float,
    ) -> None:
        offsets = dict(offsets or {})
        for name, value in offsets.items():
            if name not in STREAMS:
                raise InvalidOption(f"offsets: unknown stream {name!r}")
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidOption(f"offsets[{name!r}] must be an integer >= 0, got {value!r}")
        if isinstance(streams, str):
            # A lone name is a Collection of characters: take it as the one stream meant.
            streams = (streams,)  # type: ignore[assignment]
        for name in streams:
            if name not in STREAMS:
                raise InvalidOption(f"streams: unknown stream {name!r}")
        if not (isinstance(poll_interval, (int, float)) and poll_interval > 0):
            raise InvalidOption(f"poll_interval must be positive, got {poll_interval!r}")
        self._source = source
        self._size = source.segment_size
        self._text = source.text
        self._want = [name in streams for name in STREAMS]
        self._pos = [offsets.get(name, 0) for name in STREAMS]
        self._poll = poll_interval
        self._r: int | None = None
        self._block: list[Record] = []
        self._block_start = 0
        self._pending: deque[Output | Gap] = deque()
        self._pending_bytes = 0
        self._ranges = source.ranges(keep_open=4)
        self._done = False
        self._hint: tuple[int, Sequence[Output]] | None = None  # the cached batch we are in
        self._mark = ReaderMark(self._pos, self._want)
        self._release: Callable[[], None] | None = None

    # -- what the two cursors decide differently ------------------------------------------------

    def _memory_bounds(self) -> tuple[int, tuple[Gap, ...]]:
        """Records this cursor may take from memory, and the gaps a frame from memory must not
        overlap (such a frame is read as the store has it)."""
        raise NotImplementedError

    def _idle(self) -> bool:
        """True when, known without I/O, there is nothing to read yet and more will come."""
        raise NotImplementedError

    def _ended(self, state: SpoolState) -> bool:
        raise NotImplementedError

    def _finish(self, state: SpoolState) -> None:
        """At the end: queue what the end reports."""

    async def _wait(self) -> None:
        raise NotImplementedError

    # -- registration ---------------------------------------------------------------------------

    def register(self) -> None:
        """Become a live reader (of a writer in this process), until :meth:`close` or
        :meth:`unregister`."""
        if self._release is None:
            self._release = self._source.hold(self._mark)

    def unregister(self) -> None:
        """Stop being a live reader: the quota may drop what this cursor has not taken."""
        release, self._release = self._release, None
        if release is not None:
            release()

    def close(self) -> None:
        self.unregister()
        self._ranges.close()

    # -- the loop -------------------------------------------------------------------------------

    async def next(self) -> Output | Gap | None:
        """The next frame or gap; ``None`` at the end."""
        while True:
            if self._pending:
                self._source.check()  # read ahead, but not handed out past a revoke
                event = self._pending.popleft()
                if not self._pending:
                    self._pending_bytes = 0
                return event
            if self._done:
                return None
            if self._from_cache():
                continue
            if self._idle() or not await self._source.run_sync(self._advance):
                await self._wait()

    async def batch(self, max_bytes: int, max_events: int) -> list[Output | Gap]:
        """The next events in order, at least one (none at the end): the first as :meth:`next`
        waits for it, then what is ready without I/O (read ahead, or in the writer's memory),
        up to ``max_events`` events or ``max_bytes`` bytes of frames."""
        first = await self.next()
        if first is None:
            return []
        out: list[Output | Gap] = [first]
        size = len(first.data) if isinstance(first, Output) else 0
        pending = self._pending
        while size < max_bytes and len(out) < max_events:
            if not pending and (self._done or not self._from_cache()):
                break
            self._source.check()
            event = pending.popleft()
            if isinstance(event, Output):
                size += len(event.data)
            out.append(event)
        if not pending:
            self._pending_bytes = 0
        return out

    def _from_cache(self) -> bool:
        """Take frames from the writer's memory, without I/O; whether any event came."""
        r = self._r
        if r is None:
            return False
        bounds: tuple[int, tuple[Gap, ...]] | None = None
        # A few frames at a time: they are the writer's own objects, so holding them costs
        # nothing, and the loop in next() then only pops.
        while len(self._pending) < _MEMORY_BATCH:
            frame = self._cached(r)
            if frame is None:
                break
            if bounds is None:
                bounds = self._memory_bounds()
            if r >= bounds[0] or (bounds[1] and _dropped(frame, bounds[1])):
                break
            r += 1
            self._r = r
            sid = 0 if frame.stream == "stdout" else 1
            if not self._want[sid] or frame.offset + len(frame.data) <= self._pos[sid]:
                continue
            self._take(sid, frame)
        return bool(self._pending)

    def _advance(self) -> bool:
        """One blocking step (in :meth:`Source.run_sync`): read a batch of records and their
        bytes, or see the end; whether anything happened. A step that raises changes nothing
        (run_sync may run it again)."""
        saved = (self._r, len(self._pending), list(self._pos), self._pending_bytes, self._done)
        try:
            return self._step()
        except BaseException:
            self._r, count, pos, self._pending_bytes, self._done = saved
            while len(self._pending) > count:
                self._pending.pop()
            self._pos[:] = pos  # in place: the quota reads the reader's mark from this list
            raise

    def _step(self) -> bool:
        state = self._source.snapshot()
        if self._r is None:
            self._r = self._first_record(state)
        limit = state.records
        if self._r < limit:
            self._read_batch(limit)
            return True
        if self._ended(state):
            self._done = True
            self._finish(state)
            return True
        return False

    # -- where to start -------------------------------------------------------------------------

    def _first_record(self, state: SpoolState) -> int:
        """The first record to look at: for each wanted stream, the frame holding its start
        offset is found by bisection, since every record carries both streams' offsets."""
        count = state.records
        first = count
        source = self._source
        for sid in (0, 1):
            if not self._want[sid]:
                continue
            start = self._pos[sid]
            if start == 0:
                return 0
            lo, hi = 0, count
            while lo < hi:
                mid = (lo + hi) // 2
                found = source.records(mid, 1)
                if not found:
                    raise SpoolError(f"order record {mid} is missing")
                rec = found[0]
                before = rec.stderr_before if sid else rec.stdout_before
                if before > start:
                    hi = mid
                else:
                    lo = mid + 1
            first = min(first, max(lo - 1, 0))
        return first

    # -- records to events ----------------------------------------------------------------------

    def _cached(self, r: int) -> Output | None:
        """Frame of record ``r`` from the writer's memory, if it is still there."""
        hint = self._hint
        if hint is not None:
            i = r - hint[0]
            if 0 <= i < len(hint[1]):
                return hint[1][i]
        self._hint = hint = self._source.cached(r)
        return None if hint is None else hint[1][r - hint[0]]

    def _record(self, r: int, limit: int) -> Record:
        i = r - self._block_start
        if not 0 <= i < len(self._block):
            self._block = self._source.records(r, min(_RECORD_BLOCK, limit - r))
            self._block_start = r
            i = 0
            if not self._block:
                raise SpoolError(f"order record {r} is missing")
        return self._block[i]

    def _read_batch(self, limit: int) -> None:
        """Read records and their bytes until about :data:`READ_AHEAD` bytes are ready or the
        records run out (the writer's memory is not looked at here: this runs in a thread)."""
        while self._pending_bytes < READ_AHEAD and self._r is not None and self._r < limit:
            r = self._r
            self._r = r + 1
            rec = self._record(r, limit)
            sid = rec.stream_id
            if not self._want[sid] or rec.offset + rec.length <= self._pos[sid]:
                continue
            self._from_store(sid, rec)

    def _take(self, sid: int, frame: Output) -> None:
        start = self._pos[sid]
        if start <= frame.offset:
            self._pending.append(frame)
        else:
            data = frame.data[start - frame.offset :]
            invalid = _count_invalid(data) if self._text else 0
            self._pending.append(Output(frame.stream, frame.seq, start, data, invalid))
        self._pos[sid] = frame.offset + len(frame.data)

    def _from_store(self, sid: int, rec: Record) -> None:
        off = rec.offset
        end = off + rec.length
        start = max(off, self._pos[sid])
        stream = STREAMS[sid]
        while start < end:
            data, missing = self._ranges.read(sid, start, end)
            if data:
                whole = start == off and len(data) == rec.length
                invalid = (
                    rec.invalid_bytes if whole else (_count_invalid(data) if self._text else 0)
                )
                self._pending.append(Output(stream, rec.seq, start, data, invalid))
                self._pending_bytes += len(data)
            if missing is None:
                break
            start = self._gap(sid, rec, start, missing)
        self._pos[sid] = max(self._pos[sid], end)

    def _gap(self, sid: int, rec: Record, start: int, missing: int) -> int:
        """Queue the dropped stretch that begins at ``missing``; return where data resumes."""
        gap = self._source.snapshot().gap(sid)
        if gap is None or not gap.offset <= missing < gap.offset + gap.bytes:
            raise SpoolError(f"{STREAMS[sid]} data at offset {missing} is missing from the spool")
        if missing % self._size == 0 and missing > rec.offset:
            begin, before = missing, self._newlines_at(sid, missing)
        else:
            # The frame's own start: exact counts, even when the caller started inside it.
            begin, before = rec.offset, rec.newlines_before
        end = gap.offset + gap.bytes
        lines = self._newlines_at(sid, end) - before
        self._pending.append(Gap(STREAMS[sid], begin, end - begin, lines, "quota"))
        self._pos[sid] = end
        return end

    def _newlines_at(self, sid: int, offset: int) -> int:
        source = self._source
        cp = find_offset(lambda i: source.checkpoint(sid, i), source.checkpoint_count(sid), offset)
        if cp is None:
            raise SpoolError(f"the spool's index has no checkpoint at offset {offset}")
        return cp.newlines


class Follower(_Cursor):
    """A reader of ``source`` (see :meth:`ccstream.Spool.follow`): what the source holds, in
    arrival order from ``offsets``, live until the spool is complete, then its
    ``"disk_error"`` gaps."""

    def __init__(
        self,
        source: Source,
        offsets: Mapping[StreamName, int] | None,
        streams: Collection[StreamName],
        *,
        poll_interval: float,
    ) -> None:
        super().__init__(source, offsets, streams, poll_interval)

    def _memory_bounds(self) -> tuple[int, tuple[Gap, ...]]:
        # Only what the store holds: every reader of the spool sees the same frames and gaps.
        state = self._source.snapshot()
        return state.records, state.gaps

    def _idle(self) -> bool:
        r = self._r
        if r is None:
            return False
        state = self._source.snapshot()
        return r >= state.records and not state.complete

    def _ended(self, state: SpoolState) -> bool:
        assert self._r is not None
        return state.complete and self._r >= state.records

    def _finish(self, state: SpoolState) -> None:
        for sid in (0, 1):
            gap = state.gap(sid, "disk_error")
            if gap is not None and self._want[sid] and self._pos[sid] < gap.offset + gap.bytes:
                self._pending.append(gap)

    async def _wait(self) -> None:
        assert self._r is not None
        await self._source.wait(self._r, self._poll)


class RunFollower(_Cursor):
    """The run's own events: every frame handed to ``sink``, both streams from offset 0, from
    its memory while it has them, else from ``source`` (the same spool); it ends when ``sink``
    takes no more frames."""

    def __init__(self, sink: Sink, source: Source) -> None:
        super().__init__(source, None, STREAMS, 0.05)
        self._sink = sink
        self._r = 0

    def _memory_bounds(self) -> tuple[int, tuple[Gap, ...]]:
        return self._sink.records, ()

    def _idle(self) -> bool:
        sink = self._sink
        return self._r is not None and self._r >= sink.records and sink.accepting

    def _ended(self, state: SpoolState) -> bool:
        assert self._r is not None
        return not self._sink.accepting and self._r >= self._sink.records

    async def _wait(self) -> None:
        assert self._r is not None
        await self._sink.wait_grown(self._r)
