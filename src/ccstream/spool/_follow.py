"""``follow``: replay a spool's frames in arrival order from any byte offsets, then go live.

A cursor over the order log. Each record names a frame (stream, offset, length, seq, newlines
before it); the follower yields the frame's bytes from the writer's in-memory cache when it is
still there (the very object the pump made: no copy, no read), else from the segment files. When
a segment is gone (the quota dropped it) it yields one :class:`Gap` for the whole dropped stretch
ahead of it, with the exact newline count from the checkpoints at its ends, and skips past it.

Memory: one frame, one block of order records and a few open segment files. A follower in the
middle of a segment keeps the file open, so a drop under its feet does not cut a frame.

In the writing process a registered follower (:meth:`Follower.register`) is a live reader: its
offsets are a :class:`~ccstream.spool._quota.ReaderMark` the writer looks at when the quota is
spent, so under ``on_quota="pause"`` nothing it has not taken is dropped. The mark is the list of
offsets the follower keeps anyway: registering costs nothing per frame.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

import anyio

from .._chunker import _count_invalid
from .._events import Gap, Output, StreamName
from ..exceptions import InvalidOption, SpoolError
from ._index import find_offset
from ._quota import ReaderMark
from ._records import STREAMS, Record
from ._state import SpoolState

if TYPE_CHECKING:
    from ._reader import Spool

__all__ = ["Follower"]

_RECORD_BLOCK = 256
# In the writing process: the longest wait before looking again while the disk thread is still
# writing frames this follower is waiting for. The disk thread wakes the waiter through a pipe
# once it wrote a hand-off (SpoolWriter.wait_disk), so this only bounds a missed wake-up.
_COMMIT_POLL = 0.0005


def _dropped(frame: Output, gaps: tuple[Gap, ...]) -> bool:
    end = frame.offset + len(frame.data)
    return any(
        g.stream == frame.stream and g.offset < end and frame.offset < g.offset + g.bytes
        for g in gaps
    )


class Follower:
    """A cursor over ``spool`` (see :meth:`ccstream.Spool.follow`).

    ``handed``: the run's own event stream. It delivers every frame handed to the spool, even
    before the disk has it (from the cache, which keeps such frames), and it ends when the spool
    stops taking frames (closed, or failed: the run then delivers the rest itself), without the
    ``"disk_error"`` gaps.
    """

    def __init__(
        self,
        spool: Spool,
        offsets: Mapping[StreamName, int] | None,
        streams: Collection[StreamName],
        *,
        poll_interval: float,
        handed: bool = False,
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
        self._spool = spool
        self._writer = spool._writer
        self._files = spool._files
        self._size = spool.meta.segment_size
        self._text = spool.meta.mode != "binary"
        self._want = [name in streams for name in STREAMS]
        self._pos = [offsets.get(name, 0) for name in STREAMS]
        self._poll = poll_interval
        self._handed = handed
        self._r: int | None = None
        self._block: list[Record] = []
        self._block_start = 0
        self._pending: deque[Output | Gap] = deque()
        self._segments = spool._segments()
        self._done = False
        self._hint: tuple[int, Sequence[Output]] | None = None  # the cached batch we are in
        self._mark = ReaderMark(self._pos, self._want)
        self._registered = False

    def register(self) -> None:
        """Become a live reader of the writer (if the spool has one in this process), until
        :meth:`close` or :meth:`unregister`."""
        if self._writer is not None and not self._registered:
            self._registered = True
            self._writer.add_reader(self._mark)

    def unregister(self) -> None:
        """Stop being a live reader: the quota may drop what this follower has not taken."""
        if self._registered:
            self._registered = False
            assert self._writer is not None
            self._writer.remove_reader(self._mark)

    def close(self) -> None:
        self.unregister()
        self._segments.close()

    def _cached(self, r: int) -> Output | None:
        """Frame of record ``r`` from the writer's memory, if it is still there."""
        hint = self._hint
        if hint is not None:
            i = r - hint[0]
            if 0 <= i < len(hint[1]):
                return hint[1][i]
        if self._writer is None:
            return None
        self._hint = hint = self._writer.cached(r)
        return None if hint is None else hint[1][r - hint[0]]

    async def next(self) -> Output | Gap | None:
        """The next frame or gap; ``None`` at the end."""
        r = self._r
        if self._handed and r is not None and not self._pending:
            # The run's live path: a frame still in memory and wanted whole.
            hint = self._hint
            if hint is not None and 0 <= r - hint[0] < len(hint[1]):
                frame: Output | None = hint[1][r - hint[0]]
            else:
                frame = self._cached(r)
            if frame is not None:
                sid = 0 if frame.stream == "stdout" else 1
                if self._pos[sid] == frame.offset and self._want[sid]:
                    self._r = r + 1
                    self._pos[sid] = frame.offset + len(frame.data)
                    return frame
        while True:
            if self._pending:
                return self._pending.popleft()
            if self._done:
                return None
            state = self._spool._snapshot()
            if self._r is None:
                self._r = self._first_record(state)
            limit = self._limit(state)
            if self._r < limit:
                self._step(limit, () if self._handed else state.gaps)
                continue
            if self._ended(state):
                self._done = True
                if not self._handed:
                    self._tail_gaps(state)
                continue
            await self._wait()

    # -- where to start, how far to go ----------------------------------------------------------

    def _limit(self, state: SpoolState) -> int:
        if self._handed and self._writer is not None:
            return self._writer.records
        return state.records

    def _ended(self, state: SpoolState) -> bool:
        assert self._r is not None
        writer = self._writer
        if self._handed and writer is not None:
            return not writer.accepting and self._r >= writer.records
        return state.complete and self._r >= state.records

    async def _wait(self) -> None:
        assert self._r is not None
        writer = self._writer
        if writer is None or writer.error is not None:
            # Another process's spool, or a spool that stopped early: only the end can come.
            await anyio.sleep(self._poll)
        elif self._handed or (writer.accepting and writer.records <= self._r):
            await writer.wait_grown(self._r)
        else:
            # Handed over but not on disk yet (or the writer is closing): look again once the
            # disk thread wrote something, or shortly.
            await writer.wait_disk(_COMMIT_POLL)

    def _first_record(self, state: SpoolState) -> int:
        """The first record to look at: for each wanted stream, the frame holding its start
        offset is found by bisection, since every record carries both streams' offsets."""
        count = state.records
        first = count
        for sid in (0, 1):
            if not self._want[sid]:
                continue
            start = self._pos[sid]
            if start == 0:
                return 0
            lo, hi = 0, count
            while lo < hi:
                mid = (lo + hi) // 2
                rec = self._files.record(mid)
                before = rec.stderr_before if sid else rec.stdout_before
                if before > start:
                    hi = mid
                else:
                    lo = mid + 1
            first = min(first, max(lo - 1, 0))
        return first

    # -- records to events ----------------------------------------------------------------------

    def _record(self, r: int, limit: int) -> Record:
        i = r - self._block_start
        if not 0 <= i < len(self._block):
            self._block = self._files.records(r, min(_RECORD_BLOCK, limit - r))
            self._block_start = r
            i = 0
            if not self._block:
                raise SpoolError(f"order record {r} is missing")
        return self._block[i]

    def _step(self, limit: int, gaps: tuple[Gap, ...]) -> None:
        """Turn records into events until one is ready or the records run out. A frame still
        in memory whose bytes the quota dropped on disk (``gaps``) is read as the disk has it,
        so that every reader of the spool sees the same gaps."""
        while not self._pending and self._r is not None and self._r < limit:
            r = self._r
            self._r = r + 1
            frame = self._cached(r)
            if frame is not None and gaps and _dropped(frame, gaps):
                frame = None
            if frame is not None:
                sid = 0 if frame.stream == "stdout" else 1
                if not self._want[sid] or frame.offset + len(frame.data) <= self._pos[sid]:
                    continue
                self._from_memory(sid, frame)
            else:
                rec = self._record(r, limit)
                sid = rec.stream_id
                if not self._want[sid] or rec.offset + rec.length <= self._pos[sid]:
                    continue
                self._from_disk(sid, rec)

    def _from_memory(self, sid: int, frame: Output) -> None:
        start = self._pos[sid]
        if start <= frame.offset:
            self._pending.append(frame)
        else:
            data = frame.data[start - frame.offset :]
            invalid = _count_invalid(data) if self._text else 0
            self._pending.append(Output(frame.stream, frame.seq, start, data, invalid))
        self._pos[sid] = frame.offset + len(frame.data)

    def _from_disk(self, sid: int, rec: Record) -> None:
        off = rec.offset
        end = off + rec.length
        start = max(off, self._pos[sid])
        stream = STREAMS[sid]
        while start < end:
            data, missing = self._segments.read(sid, start, end)
            if data:
                whole = start == off and len(data) == rec.length
                invalid = (
                    rec.invalid_bytes if whole else (_count_invalid(data) if self._text else 0)
                )
                self._pending.append(Output(stream, rec.seq, start, data, invalid))
            if missing is None:
                break
            start = self._gap(sid, rec, start, missing)
        self._pos[sid] = max(self._pos[sid], end)

    def _gap(self, sid: int, rec: Record, start: int, missing: int) -> int:
        """Yield the dropped stretch that begins at ``missing``; return where data resumes."""
        gap = self._spool._snapshot().gap(sid)
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
        files = self._files
        cp = find_offset(lambda i: files.checkpoint(sid, i), files.checkpoint_count(sid), offset)
        if cp is None:
            raise SpoolError(f"the spool's index has no checkpoint at offset {offset}")
        return cp.newlines

    def _tail_gaps(self, state: SpoolState) -> None:
        for sid in (0, 1):
            gap = state.gap(sid, "disk_error")
            if gap is not None and self._want[sid] and self._pos[sid] < gap.offset + gap.bytes:
                self._pending.append(gap)
