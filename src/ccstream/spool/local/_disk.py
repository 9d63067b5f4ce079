"""The spool's disk thread: appends planned batches to the files, off the event loop.

Copying into the page cache costs about as much as reading the pipe, and much more while the file
system is busy (figures in benchmarks/README.md), so doing it on the event loop would slow the
pumps by a quarter or more. ``os.writev`` releases the GIL, so here it overlaps with the
loop reading the next batch. The loop side (:mod:`ccstream.spool._writer`) decides everything —
segments, drops, records, checkpoints — and this thread only executes, in order, and publishes
the resulting :class:`SpoolState` once a batch is on disk.

Per hand-off: index records first (a checkpoint is only used for lines already written, so writing
it early is safe, and a reader resolving a gap can always find the checkpoint at its end), then
the data, then the order records, then the new state (with any new gap) and ``gaps.json``, and
only then are dropped segments deleted: a reader that finds a segment missing always finds the gap
that explains it, and never a gap reaching past the bytes the state says are written. So the
budget holds once each hand-off is done; while one is written the disk may hold up to that
hand-off more (the writer sends a hand-off that drops something at once, so one batch).
On any ``OSError`` the files are rolled back to the last published state (best effort), the error
is published, and the thread stops writing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

from .._state import SpoolState
from ._format import (
    CHECKPOINT,
    FRAME,
    GAPS,
    ORDER,
    STREAMS,
    TIME,
    TIMES,
    gap_to_json,
    index_name,
    segment_name,
    write_json,
)
from ._trim import CacheTrim

__all__ = ["DiskWriter", "Drop", "Job", "Write"]

log = logging.getLogger("ccstream")

# Linux refuses writev with more buffers than IOV_MAX (1024).
_IOV_MAX = 1024
_APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC


class Write(NamedTuple):
    """Append ``pieces`` to segment ``segment`` of stream ``sid``."""

    sid: int
    segment: int
    pieces: list[bytes | memoryview]


class Drop(NamedTuple):
    """Delete segment ``segment`` of stream ``sid`` (its gap is in the job's state)."""

    sid: int
    segment: int


@dataclass(slots=True)
class Job:
    """One planned hand-off: what to write, the state to publish once written, and the segments
    to delete after that. ``index`` holds the new checkpoints of each stream."""

    ops: list[Write]
    index: tuple[bytes, bytes]
    order: bytes
    nbytes: int
    state: SpoolState
    drops: list[Drop]
    times: bytes = b""
    """One :data:`TIME` per record of ``order``."""


def _write_all(fd: int, pieces: list[bytes | memoryview]) -> None:
    """Write every piece, in order; a short write (rare for files) continues where it stopped."""
    for start in range(0, len(pieces), _IOV_MAX):
        todo = pieces[start : start + _IOV_MAX]
        while todo:
            written = os.writev(fd, todo)
            while todo and written >= len(todo[0]):
                written -= len(todo[0])
                todo.pop(0)
            if todo and written:
                todo[0] = memoryview(todo[0])[written:]


class DiskWriter:
    """Runs the disk thread of the spool at ``path``. ``state`` is the published state.
    ``page_cache``: bytes at the end of each stream left in the page cache (see
    :mod:`ccstream.spool._trim`); ``None`` leaves the cache to the kernel."""

    def __init__(
        self, path: Path, segment_size: int, state: SpoolState, *, page_cache: int | None = None
    ) -> None:
        self.path = path
        self.segment_size = segment_size
        self.state = state
        """The last state whose bytes are all on disk (replaced whole, never mutated)."""
        self.error: str | None = None
        """Set (once) when writing failed; nothing is written after that."""
        self.committed_bytes = 0
        """Bytes of data written so far (only this thread adds to it)."""
        # The thread cannot wake an event loop: on failure it writes a byte here, which the
        # run's supervisor awaits with wait_readable (any backend).
        self.error_fd, self._error_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        # Likewise, after each hand-off written while ``wake_wanted`` is set (a task of the loop
        # waits for the disk: the pump for its backlog, a follower for a frame), it writes a byte
        # to ``progress_fd``. The loop side closes ``progress_fd`` (see ``close_progress``).
        self.progress_fd, self._progress_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.wake_wanted = False
        self.handoffs = 0
        """Hand-offs written so far, plus one on failure (only this thread adds to it)."""
        self._jobs: deque[Job] = deque()
        self._cv = threading.Condition()
        self._stopping = False
        self._fds: list[int] = []
        self._order = self._open(path / ORDER)
        self._times = self._open(path / TIMES)
        self._index = [self._open(path / index_name(s)) for s in STREAMS]
        self._segment: list[tuple[int, int] | None] = [None, None]  # (index, fd) per stream
        self._touched: list[set[int]] = [set(), set()]  # segments written since the last publish
        self._trims = [
            None if page_cache is None else CacheTrim(page_cache, segment_size, opener)
            for opener in (self._opener(0), self._opener(1))
        ]
        self._thread = threading.Thread(target=self._run, name="ccstream-spool", daemon=True)
        self._thread.start()

    def _open(self, path: Path) -> int:
        fd = os.open(path, _APPEND, 0o600)
        self._fds.append(fd)
        return fd

    def submit(self, jobs: list[Job]) -> None:
        """Queue ``jobs`` (never blocks on the disk)."""
        with self._cv:
            self._jobs.extend(jobs)
            self._cv.notify()

    def finish(self) -> None:
        """Write what is queued, close the files and wait for the thread (blocking)."""
        with self._cv:
            self._stopping = True
            self._cv.notify()
        self._thread.join()
        # The end of progress_fd's pipe: a task still waiting on it wakes (and closes it).
        for fd in (self.error_fd, self._error_w, self._progress_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def close_progress(self) -> None:
        """Close ``progress_fd`` (after :meth:`finish`, when no task waits on it)."""
        fd, self.progress_fd = self.progress_fd, -1
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)

    def drain_progress(self) -> None:
        """Take the wake-up bytes out of ``progress_fd``."""
        with contextlib.suppress(OSError):
            while os.read(self.progress_fd, 4096):
                pass

    def _woken(self) -> None:
        self.handoffs += 1
        if self.wake_wanted:
            self.wake_wanted = False
            with contextlib.suppress(OSError):  # full: a byte is already there
                os.write(self._progress_w, b".")

    # -- the thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                with self._cv:
                    while not self._jobs and not self._stopping:
                        self._cv.wait()
                    if not self._jobs:
                        return
                    jobs = list(self._jobs)
                    self._jobs.clear()
                if self.error is not None:
                    continue  # failed: drop what comes, keep answering finish()
                try:
                    # A job that drops segments ends a group, so its drops happen promptly.
                    start = 0
                    for i, job in enumerate(jobs):
                        if job.drops or i == len(jobs) - 1:
                            self._do(jobs[start : i + 1])
                            start = i + 1
                except Exception as exc:
                    # Anything, not only OSError: a thread that died quietly would leave the
                    # pump waiting for a backlog that never drains.
                    self._fail(exc)
        finally:
            for sid in (0, 1):
                self._close_segment(sid)
            for fd in self._fds:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _do(self, jobs: list[Job]) -> None:
        """Execute ``jobs`` as one: their writes to one segment in one ``writev``."""
        index = [bytearray(), bytearray()]
        order = bytearray()
        times = bytearray()
        ops: list[Write] = []
        drops: list[Drop] = []
        nbytes = 0
        for job in jobs:
            index[0] += job.index[0]
            index[1] += job.index[1]
            order += job.order
            times += job.times
            nbytes += job.nbytes
            drops += job.drops
            for op in job.ops:
                last = ops[-1] if ops else None
                if last is not None and last.sid == op.sid and last.segment == op.segment:
                    last.pieces.extend(op.pieces)
                else:
                    ops.append(Write(op.sid, op.segment, list(op.pieces)))
        for sid in (0, 1):
            if index[sid]:
                _write_all(self._index[sid], [bytes(index[sid])])
        for op in ops:
            _write_all(self._segment_fd(op.sid, op.segment), op.pieces)
        if times:
            # Before the order records: a record a reader sees has its time already.
            _write_all(self._times, [bytes(times)])
        if order:
            _write_all(self._order, [bytes(order)])
        state = jobs[-1].state
        for sid, trim in enumerate(self._trims):
            if trim is not None:
                trim.advance(state.sizes[sid], self._segment[sid])
        self.state = state
        self.committed_bytes += nbytes
        self._touched = [set(), set()]
        if drops:
            write_json(self.path / GAPS, [gap_to_json(g) for g in state.gaps])
            for drop in drops:
                self._drop(drop)
        self._woken()

    def _segment_fd(self, sid: int, index: int) -> int:
        current = self._segment[sid]
        if current is not None and current[0] == index:
            return current[1]
        self._close_segment(sid)
        fd = os.open(self.path / segment_name(STREAMS[sid], index), _APPEND, 0o600)
        self._segment[sid] = (index, fd)
        self._touched[sid].add(index)
        return fd

    def _opener(self, sid: int) -> Callable[[int], int | None]:
        """Opens an earlier segment of stream ``sid`` again (``None`` when it is gone)."""

        def reopen(index: int) -> int | None:
            path = self.path / segment_name(STREAMS[sid], index)
            try:
                return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return None

        return reopen

    def _close_segment(self, sid: int) -> None:
        current = self._segment[sid]
        if current is not None:
            self._segment[sid] = None
            with contextlib.suppress(OSError):
                os.close(current[1])

    def _drop(self, op: Drop) -> None:
        current = self._segment[op.sid]
        if current is not None and current[0] == op.segment:
            self._close_segment(op.sid)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path / segment_name(STREAMS[op.sid], op.segment))

    def _fail(self, exc: Exception) -> None:
        """Roll the files back to the published state, then stop writing for good."""
        state = self.state
        size = self.segment_size
        with contextlib.suppress(OSError):
            os.ftruncate(self._order, state.records * FRAME.size)
        with contextlib.suppress(OSError):
            os.ftruncate(self._times, state.records * TIME.size)
        for sid in (0, 1):
            with contextlib.suppress(OSError):
                os.ftruncate(self._index[sid], state.checkpoints[sid] * CHECKPOINT.size)
            touched = set(self._touched[sid])
            current = self._segment[sid]
            if current is not None:
                touched.add(current[0])
            self._close_segment(sid)
            committed = state.sizes[sid]
            for index in touched:
                keep = min(max(committed - index * size, 0), size)
                path = self.path / segment_name(STREAMS[sid], index)
                with contextlib.suppress(OSError):
                    if keep:
                        os.truncate(path, keep)
                    else:
                        os.unlink(path)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else repr(exc)
        message = f"cannot write the spool at {str(self.path)!r}: {reason}"
        log.error("%s; %d bytes were spooled before", message, sum(state.sizes))
        self.error = message
        self.state = replace(state, error=message)
        with contextlib.suppress(OSError):
            os.write(self._error_w, b"!")
        self.wake_wanted = True
        self._woken()
