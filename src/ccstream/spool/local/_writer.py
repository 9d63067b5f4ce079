"""The spool writer, event-loop side: plans each batch of frames and hands it to the disk thread.

The pumps call :meth:`SpoolWriter.append` with each batch they read; it never waits. Per frame it
costs one ``bytes.count`` (the newlines, which the run's statistics need anyway), one ``struct``
record and a few integer comparisons; the bytes themselves are not copied here. The disk thread
(:mod:`ccstream.spool._disk`) writes them with ``writev`` off the loop.

Batches go to the disk thread in groups of about a quarter of ``SpoolOptions.memory``, after
at most ``FLUSH_AFTER`` seconds, and whenever the pump is about to wait for the pipe
(:meth:`SpoolWriter.flush`): fewer hand-offs mean fewer GIL round trips between the loop and the
thread, and larger ``writev`` calls.

The newest frames also stay in a small in-memory cache (a quarter of the memory budget, and never
a frame that is not yet on disk is dropped from it), so a consumer that keeps up takes the very
frame objects the pump made, without reading them back; one that falls behind reads the files
(from the page cache) and catches up. If the disk thread falls more than half the budget behind,
the pump waits for the disk: never for a consumer.

Quota: the first segment of each stream is the head and is kept; when the next piece would take
the output over the quota, the oldest finished middle segment (of either stream) is dropped and
the stream's gap grows by it. Drops go oldest first, so each stream has at most one gap. Under
``on_quota="pause"`` a segment that a live reader (a registered :class:`ReaderMark`) has not taken
yet is not dropped (:func:`~ccstream.spool._quota.next_drop` decides): the writer then marks
itself :attr:`~SpoolWriter.held` and the pump waits (:meth:`SpoolWriter.retry_held`) instead of
reading more.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from ..._events import Gap, Output, StreamName
from ...exceptions import SpoolError

if TYPE_CHECKING:
    from ..._options import SpoolOptions
from .._base import Sink, Source
from .._index import Indexer
from .._quota import ReaderMark, next_drop, slowest
from .._state import SpoolState
from ._cache import RecentBatches
from ._disk import DiskWriter, Drop, Job, Write
from ._format import (
    CHECKPOINT,
    FRAME,
    META,
    ORDER,
    STREAMS,
    Meta,
    gap_to_json,
    index_name,
    write_json,
)
from ._remove import remove_entries, remove_tree
from ._source import LiveSource

__all__ = ["SpoolWriter"]

log = logging.getLogger("ccstream")

_CACHE_FRAMES = 8192
FLUSH_AFTER = 0.02
"""Seconds a planned batch may wait for more before it goes to the disk thread anyway (a child
that trickles output never lets the pump go idle, and readers of the files must see it)."""
_BACKLOG_POLL = 0.002

_pack_frame = FRAME.pack


def _make_directory(directory: str | os.PathLike[str] | None) -> tuple[Path, bool]:
    """The spool directory and whether we created it; a given one must be empty."""
    if directory is None:
        try:
            return Path(tempfile.mkdtemp(prefix="ccstream-spool-")), True
        except OSError as exc:
            raise SpoolError(f"cannot make a temporary spool directory: {exc}") from exc
    path = Path(directory)
    try:
        path.mkdir(parents=True, mode=0o700)
        return path, True
    except FileExistsError:
        pass
    except OSError as exc:
        raise SpoolError(f"cannot make the spool directory {str(path)!r}: {exc}") from exc
    if not path.is_dir():
        raise SpoolError(f"spool directory {str(path)!r} exists and is not a directory")
    if any(path.iterdir()):
        raise SpoolError(f"spool directory {str(path)!r} is not empty")
    return path, False


class SpoolWriter(Sink):
    """Spools one run's output into a new spool directory (see :class:`SpoolOptions`).

    ``argv`` and ``mode`` are recorded in ``spool.json`` for readers. Raises
    :class:`~ccstream.SpoolError` when the directory cannot be made or written.
    """

    def __init__(
        self, options: SpoolOptions, *, argv: Sequence[str] = (), mode: str = "binary"
    ) -> None:
        self.options = options
        # The memory budget: a quarter for the cache of recent frames (consumers that keep up
        # read from it), a quarter gathered for the disk thread, half in flight to it.
        self.cache_bytes = options.memory // 4
        self.flush_bytes = options.memory // 4
        self.backlog_limit = options.memory // 2
        """Bytes handed to the disk thread and not yet written before the pump waits."""
        self.mode = mode
        size = options.segment_size
        self._segment_size = size
        self._start(options, argv, mode)
        self.records = 0
        """Frames handed over so far (the disk may be behind: see :attr:`state`)."""
        self._sizes = [0, 0]
        self._newlines = [0, 0]
        self._open_line = [False, False]
        self._checkpoints = [1, 1]
        self._indexers = [
            Indexer(
                every_lines=options.index_every, every_bytes=options.index_bytes, segment_size=size
            )
            for _ in STREAMS
        ]
        self._submitted = 0
        self._quota = options.quota
        self._kept = 0
        self._segment_newlines = [0, 0]  # newlines before the current segment of each stream
        # Each stream's last finished segment (index, its newlines): it is the stream's tail
        # until the next one gets its first byte, and only then becomes a middle segment.
        self._finished: list[tuple[int, int] | None] = [None, None]
        self._middle: deque[tuple[int, int, int]] = deque()  # (sid, segment, its newlines)
        self._gaps: list[Gap | None] = [None, None]
        self._pause = options.on_quota == "pause"
        self._marks: list[ReaderMark] = []
        # The hold for a reader to come: its mark, and whether it comes back each time the
        # last reader leaves (hold_for_reader).
        self._vacancy: tuple[ReaderMark, bool] | None = None
        self.held = False
        """True while the quota is spent on bytes a live reader has not taken: the pump must
        stop reading until :meth:`retry_held` clears it."""
        self._cache = RecentBatches(max_bytes=self.cache_bytes, max_frames=_CACHE_FRAMES)
        # Planned and not yet handed to the disk thread (one Job per hand-off).
        self._ops: list[Write] = []
        self._drops: list[Drop] = []
        self._index_out = [bytearray(), bytearray()]
        self._order_out = bytearray()
        self._unsent_bytes = 0
        self._unsent_since = 0.0
        self._grown: anyio.Event | None = None
        self._watching: anyio.Event | None = None  # set by the task watching the disk's pipe
        self._sealed_disk = False  # the disk thread finished
        self._closed = False
        self._final: SpoolState | None = None

    def _start(self, options: SpoolOptions, argv: Sequence[str], mode: str) -> None:
        """Make the spool's place and start what stores its batches (``self._disk``): here a
        directory and its disk thread; a store of its own overrides this."""
        self.path, self._created = _make_directory(options.directory)
        size = options.segment_size
        try:
            self.meta = Meta(
                segment_size=size,
                index_every=options.index_every,
                index_bytes=options.index_bytes,
                mode=mode,
                argv=list(argv),
                writer_pid=os.getpid(),
                writer_host=socket.gethostname(),
                started_at=time.time(),
            )
            write_json(self.path / META, self.meta.to_json())
            (self.path / ORDER).touch(mode=0o600)
            first = CHECKPOINT.pack(0, 0 << 1 | 1)
            for stream in STREAMS:
                # touch first: write_bytes alone would create the file 0644 (umask permitting).
                (self.path / index_name(stream)).touch(mode=0o600)
                (self.path / index_name(stream)).write_bytes(first)
            self._disk = DiskWriter(self.path, size, SpoolState(), page_cache=options.page_cache)
        except OSError as exc:
            self.remove()
            raise SpoolError(f"cannot start the spool at {str(self.path)!r}: {exc}") from exc

    # -- what readers see -----------------------------------------------------------------------

    @property
    def state(self) -> SpoolState:
        """The published state: everything in it is on disk."""
        return self._final if self._final is not None else self._disk.state

    @property
    def error(self) -> str | None:
        """Why spooling stopped early, once it did."""
        return self._disk.error

    @property
    def accepting(self) -> bool:
        """True while :meth:`append` takes frames (not closed, no disk error)."""
        return not self._closed and self._disk.error is None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def backlog(self) -> int:
        """Bytes handed to the disk thread and not written yet."""
        return self._submitted - self._disk.committed_bytes

    def source(self) -> Source:
        """The files of this spool for readers in this process: frames from memory, woken at
        once (a :class:`~ccstream.spool.local._source.LiveSource`)."""
        return LiveSource(self)

    def cached(self, record: int) -> tuple[int, Sequence[Output]] | None:
        """``(first record, frames)`` of the batch in memory that holds order record ``record``,
        or ``None`` when it is no longer (or not) in memory."""
        return self._cache.get(record)

    async def wait_grown(self, records: int) -> None:
        """Wait until more than ``records`` frames were handed over, or no more will be."""
        while self.records <= records and self.accepting:
            if self._grown is None:
                self._grown = anyio.Event()
            await self._grown.wait()

    async def wait_backlog(self) -> None:
        """Wait while the disk thread is more than ``backlog_limit`` bytes behind."""
        while self.backlog > self.backlog_limit and self._disk.error is None:
            await self.wait_disk(_BACKLOG_POLL)

    async def wait_disk(self, at_most: float) -> None:
        """Return once the disk thread wrote a hand-off after this call began (or failed), or
        after ``at_most`` seconds; callers look again at what they wait for.

        The disk thread writes a byte to a pipe for this (it cannot wake the event loop itself),
        only while someone waits. One task watches the pipe; the others wait for its word.
        """
        disk = self._disk
        watching = self._watching
        if watching is not None:
            with anyio.move_on_after(at_most):
                await watching.wait()
            return
        if disk.progress_fd < 0:  # finished: nothing more will be written
            await anyio.sleep(at_most)
            return
        self._watching = event = anyio.Event()
        try:
            seen = disk.handoffs
            disk.wake_wanted = True
            if disk.handoffs == seen and disk.error is None and not self._sealed_disk:
                with anyio.move_on_after(at_most):
                    await anyio.wait_readable(disk.progress_fd)
            disk.drain_progress()
        finally:
            self._watching = None
            event.set()
            if self._sealed_disk:
                disk.close_progress()

    async def wait_failed(self) -> None:
        """Return once writing to disk failed (see :attr:`error`); wait forever otherwise."""
        while self._disk.error is None:
            await anyio.wait_readable(self._disk.error_fd)

    def _wake(self) -> None:
        if self._grown is not None:
            self._grown.set()
            self._grown = None

    # -- writing --------------------------------------------------------------------------------

    def append(self, stream: StreamName, frames: Sequence[Output]) -> int | None:
        """Spool ``frames`` of ``stream`` (in stream order, tiling it, none empty); return the
        newlines they hold, or ``None`` when the spool takes no more frames (closed, or the disk
        failed). The frames must not change afterwards (the cache keeps the sequence)."""
        if not self.accepting:
            self._wake()
            return None
        if not frames:
            return 0
        sid = 0 if stream == "stdout" else 1
        size = self._segment_size
        quota = self._quota
        pos = self._sizes[sid]
        other = self._sizes[1 - sid]
        newlines = self._newlines[sid]
        indexer = self._indexers[sid]
        due_offset, due_end = indexer.due_offset, indexer.due_end
        due_newlines = indexer.due_newlines
        line_start = not self._open_line[sid]
        index = self._index_out[sid]
        index_before = len(index)
        order = self._order_out
        ops = self._ops
        last = ops[-1] if ops else None
        if last is not None and last.sid == sid:
            segment, pieces = last.segment, last.pieces
        else:
            segment, pieces = -1, []
        start_pos = pos
        start_newlines = newlines
        for frame in frames:
            data = frame.data
            n = len(data)
            count = data.count(b"\n")
            flags = frame.invalid_bytes << 1 | sid
            if sid:
                order += _pack_frame(other, pos, newlines, frame.seq, n, flags)
            else:
                order += _pack_frame(pos, other, newlines, frame.seq, n, flags)
            if pos >= due_offset or pos + n > due_end or newlines >= due_newlines:
                indexer.feed(data, pos, newlines, line_start, index)
                due_offset, due_end = indexer.due_offset, indexer.due_end
                due_newlines = indexer.due_newlines
            if quota is None and n < size - pos % size:
                # The common case: the frame fits in the current segment.
                if pos // size != segment:
                    segment = pos // size
                    pieces = []
                    ops.append(Write(sid, segment, pieces))
                pieces.append(data)
                pos += n
            else:
                pos, segment, pieces = self._place(
                    sid, data, count, pos, newlines, ops, self._drops, segment, pieces
                )
            newlines += count
            line_start = data[-1] == 10
        total = pos - start_pos
        self._sizes[sid] = pos
        self._newlines[sid] = newlines
        self._open_line[sid] = not line_start
        self._checkpoints[sid] += (len(index) - index_before) // CHECKPOINT.size
        self._cache.add(self.records, frames, total)
        self.records += len(frames)
        if not self._unsent_bytes:
            self._unsent_since = time.monotonic()
        self._unsent_bytes += total
        if (
            self._drops
            or self._unsent_bytes >= self.flush_bytes
            or time.monotonic() - self._unsent_since >= FLUSH_AFTER
        ):
            # A drop goes out at once: until it is done the disk holds more than the quota.
            self.flush()
        self._cache.evict(self._disk.state.records)
        self._wake()
        return newlines - start_newlines

    def flush(self) -> None:
        """Hand what was planned to the disk thread now (the pump calls this before it waits
        for the pipe, so a quiet child's last output reaches the disk at once)."""
        if not self._ops and not self._drops:
            return
        state = SpoolState(
            records=self.records,
            sizes=(self._sizes[0], self._sizes[1]),
            newlines=(self._newlines[0], self._newlines[1]),
            open_line=(self._open_line[0], self._open_line[1]),
            checkpoints=(self._checkpoints[0], self._checkpoints[1]),
            gaps=self._gap_tuple(),
        )
        index = (bytes(self._index_out[0]), bytes(self._index_out[1]))
        job = Job(self._ops, index, bytes(self._order_out), self._unsent_bytes, state, self._drops)
        self._disk.submit([job])
        self._submitted += self._unsent_bytes
        self._ops = []
        self._drops = []
        self._index_out = [bytearray(), bytearray()]
        self._order_out = bytearray()
        self._unsent_bytes = 0

    def _place(
        self,
        sid: int,
        data: bytes,
        count: int,
        pos: int,
        newlines: int,
        ops: list[Write],
        drops: list[Drop],
        segment: int,
        pieces: list[bytes | memoryview],
    ) -> tuple[int, int, list[bytes | memoryview]]:
        """Plan one frame piece by piece across segment boundaries, under the quota."""
        size = self._segment_size
        quota = self._quota
        n = len(data)
        done = 0
        while done < n:
            index = pos // size
            room = (index + 1) * size - pos
            take = min(room, n - done)
            finished = self._finished[sid]
            if finished is not None and quota is not None and room == size:
                # A new segment starts: the one before it is now in the middle (unless head).
                self._finished[sid] = None
                if finished[0] >= 1:
                    self._middle.append((sid, finished[0], finished[1]))
            if quota is not None and self._kept + take > quota:
                self._shed(take, drops)
            if index != segment:
                segment = index
                pieces = []
                ops.append(Write(sid, segment, pieces))
            pieces.append(data if take == n else memoryview(data)[done : done + take])
            self._kept += take
            pos += take
            done += take
            if take == room:
                at_end = newlines + (data.count(b"\n", 0, done) if done < n else count)
                self._finished[sid] = (index, at_end - self._segment_newlines[sid])
                self._segment_newlines[sid] = at_end
        return pos, segment, pieces

    def _shed(self, need: int, drops: list[Drop]) -> None:
        """Drop the oldest middle segments until ``need`` more bytes fit in the quota; under
        ``"pause"`` only segments every live reader has taken (else :attr:`held` is set)."""
        assert self._quota is not None
        size = self._segment_size
        middle = self._middle
        # Readers do not move during this call: one look at them serves every drop in it.
        low = slowest(self._marks) if self._pause and self._marks else None
        while self._kept + need > self._quota and middle:
            i = 0 if low is None else next_drop(middle, size, low)
            if i is None:
                self.held = True
                return
            sid, index, lines = middle[i]
            del middle[i]
            self._kept -= size
            gap = self._gaps[sid]
            if gap is None:
                gap = Gap(STREAMS[sid], index * size, size, lines, "quota")
            else:
                gap = Gap(gap.stream, gap.offset, gap.bytes + size, gap.lines + lines, "quota")
            self._gaps[sid] = gap
            drops.append(Drop(sid, index))

    # -- live readers and the pause ------------------------------------------------------------

    def add_reader(self, mark: ReaderMark) -> None:
        """Register a live reader: under ``"pause"`` the quota keeps what it has not taken."""
        vacancy = self._vacancy
        if vacancy is not None:
            self._drop_mark(vacancy[0])
            if not vacancy[1]:
                self._vacancy = None
        self._marks.append(mark)

    def remove_reader(self, mark: ReaderMark) -> None:
        """Unregister a reader (closed, cancelled, done); the writer may drop behind it again."""
        if not self._drop_mark(mark):
            return
        vacancy = self._vacancy
        if vacancy is not None and not self._marks:
            # The last reader left: its offsets hold the quota for the next one to come.
            vacancy[0].pos[:] = mark.pos
            self._marks.append(vacancy[0])

    def hold_for_reader(self, *, again: bool) -> Callable[[], None]:
        """Keep the quota for a reader to come (see :meth:`Sink.hold_for_reader
        <ccstream.spool.Sink.hold_for_reader>`); returns the release."""
        mark = ReaderMark([0, 0], [True, True])
        self._vacancy = (mark, again)
        if not self._marks:
            self._marks.append(mark)

        def release() -> None:
            if self._vacancy is not None and self._vacancy[0] is mark:
                self._vacancy = None
            self._drop_mark(mark)

        return release

    def _drop_mark(self, mark: ReaderMark) -> bool:
        for i, known in enumerate(self._marks):
            if known is mark:
                del self._marks[i]
                return True
        return False

    def retry_held(self) -> bool:
        """While :attr:`held`: look at the readers again, drop what they have all passed and
        hand the drops to the disk thread; return whether the writer is still held."""
        if not self.held:
            return False
        self.held = False
        if self.accepting:  # else nothing more is written: nothing to make room for
            self._shed(0, self._drops)
            self.flush()
        return self.held

    def release_held(self) -> None:
        """Stop waiting for readers for good (the run is being killed): drop what the quota
        needs now, counted, and never hold again."""
        self._pause = False
        self.retry_held()

    def _gap_tuple(self) -> tuple[Gap, ...]:
        return tuple(g for g in self._gaps if g is not None)

    # -- the end --------------------------------------------------------------------------------

    def _finish_state(
        self, totals: Sequence[tuple[int, int]], returncode: int | None, reason: str | None
    ) -> SpoolState:
        """The final state: the last one on disk, plus the output that never reached it."""
        state = self._disk.state
        gaps = list(state.gaps)
        for sid, (nbytes, nlines) in enumerate(totals):
            missing = nbytes - state.sizes[sid]
            if missing > 0:
                lines = nlines - state.newlines[sid] if state.newlines is not None else 0
                gaps.append(Gap(STREAMS[sid], state.sizes[sid], missing, lines, "disk_error"))
        return replace(
            state,
            gaps=tuple(gaps),
            complete=True,
            error=self._disk.error,
            returncode=returncode,
            reason=reason,
        )

    def _write_final_meta(self, state: SpoolState) -> None:
        assert state.newlines is not None
        assert state.open_line is not None
        meta = replace(
            self.meta,
            complete=True,
            ended_at=time.time(),
            records=state.records,
            sizes=list(state.sizes),
            newlines=list(state.newlines),
            open_line=list(state.open_line),
            checkpoints=list(state.checkpoints),
            gaps=[gap_to_json(g) for g in state.gaps],
            returncode=state.returncode,
            reason=state.reason,
            error=state.error,
        )
        try:
            write_json(self.path / META, meta.to_json())
        except OSError as exc:
            log.error("cannot write the final %s of the spool at %s: %s", META, self.path, exc)
        self.meta = meta

    async def aclose(
        self,
        totals: Sequence[tuple[int, int]] = (),
        *,
        returncode: int | None = None,
        reason: str | None = None,
    ) -> SpoolState:
        """Finish writing (in a worker thread, so the loop never waits for the disk) and record
        how the run ended. ``totals`` are ``(bytes, newlines)`` per stream that the run read;
        what of them is not on disk becomes a ``"disk_error"`` gap. Returns the final state."""
        self.flush()
        self._closed = True
        await anyio.to_thread.run_sync(self._disk.finish)
        return self._seal(totals, returncode, reason)

    def close(
        self,
        totals: Sequence[tuple[int, int]] = (),
        *,
        returncode: int | None = None,
        reason: str | None = None,
    ) -> SpoolState:
        """As :meth:`aclose`, blocking."""
        self.flush()
        self._closed = True
        self._disk.finish()
        return self._seal(totals, returncode, reason)

    def _seal(
        self, totals: Sequence[tuple[int, int]], returncode: int | None, reason: str | None
    ) -> SpoolState:
        self._sealed_disk = True
        if self._watching is None:
            self._disk.close_progress()  # else the task watching it closes it
        if self._final is None:
            state = self._finish_state(totals, returncode, reason)
            self._write_final_meta(state)
            self._final = state
        self._wake()
        return self._final

    def remove(self) -> None:
        """Delete the spool's files (and its directory when the writer made it)."""
        if self._created:
            remove_tree(self.path)
            return
        entries = list(self.path.iterdir()) if self.path.is_dir() else []
        remove_entries(
            self.path, [e for e in entries if e.suffix in (".seg", ".idx", ".log", ".json", ".tmp")]
        )
