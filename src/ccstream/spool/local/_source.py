"""The local store's :class:`~ccstream.spool.Source`: a spool directory, read with ``pread``.

:class:`DirectorySource` reads what the files hold, whoever writes them (this process, another
one, or nobody any more) and polls for growth. :class:`LiveSource` is the same files read in the
process that writes them: its state is the writer's published one, frames still in the writer's
memory come from there, a wait is woken by the writer, and :meth:`~LiveSource.hold` registers a
live reader with the quota.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import anyio
import anyio.to_thread

from ..._events import Output
from ...exceptions import SpoolNotFound
from .._base import RangeReader, Source
from .._quota import ReaderMark
from .._records import Checkpoint, Record
from .._state import SpoolState
from ._files import NO_WAIT, SegmentReader, SpoolFiles, WouldBlock, no_wait
from ._format import Meta, read_meta
from ._state import DiskState

if TYPE_CHECKING:
    from ._writer import SpoolWriter

__all__ = ["DirectorySource", "LiveSource"]

_T = TypeVar("_T")

# While the disk thread is still writing frames a reader waits for: the longest wait before
# looking again. The disk thread wakes the waiter through a pipe once it wrote a hand-off
# (SpoolWriter.wait_disk), so this only bounds a missed wake-up.
_COMMIT_POLL = 0.0005


class _Ranges(RangeReader):
    def __init__(self, segments: SegmentReader, owner: _Files) -> None:
        self._segments = segments
        self._owner = owner

    def read(self, sid: int, start: int, end: int) -> tuple[bytes, int | None]:
        return self._segments.read(sid, start, end)

    def close(self) -> None:
        self._segments.close()
        self._owner._open_ranges.discard(self)


class _Files(Source):
    """The primitives both local sources share: the order log, the indexes, the segments."""

    def __init__(self, path: Path, meta: Meta) -> None:
        self.path = path
        self.meta = meta
        self._files = SpoolFiles(path)
        self._open_ranges: set[_Ranges] = set()
        self.marks: list[ReaderMark] = []
        """The live readers of this source (each ``follow`` in progress), for ``behind``."""
        self._revoked: str | None = None
        self._busy = 0  # run_sync calls in progress: the files stay open until they end

    @property
    def segment_size(self) -> int:
        return self.meta.segment_size

    @property
    def text(self) -> bool:
        return self.meta.mode != "binary"

    def records(self, start: int, count: int) -> list[Record]:
        return self._files.records(start, count)

    def times(self, start: int, count: int) -> list[int] | None:
        return self._files.times(start, count)

    def checkpoint_count(self, sid: int) -> int:
        return self._files.checkpoint_count(sid)

    def checkpoint(self, sid: int, i: int) -> Checkpoint:
        return self._files.checkpoint(sid, i)

    def ranges(self, *, keep_open: int = 2) -> RangeReader:
        self.check()
        ranges = _Ranges(
            SegmentReader(self.path, self.meta.segment_size, keep_open=keep_open), self
        )
        self._open_ranges.add(ranges)
        return ranges

    def check(self) -> None:
        if self._revoked is not None:
            raise SpoolNotFound(self._revoked)

    def revoke(self, reason: str) -> None:
        """Cut this reader off (the store removes the spool): later calls raise
        :class:`~ccstream.SpoolNotFound` with ``reason``; the files close now, or when the call
        in progress ends. Event loop thread only."""
        if self._revoked is None:
            self._revoked = reason
        if not self._busy:
            self._let_go()

    def hold(self, mark: ReaderMark) -> Callable[[], None]:
        self.marks.append(mark)

        def release() -> None:
            for i, known in enumerate(self.marks):
                if known is mark:
                    del self.marks[i]
                    return

        return release

    async def run_sync(self, fn: Callable[[], _T]) -> _T:
        # pread on files: from the page cache it is quick, from a disk it is not, and the loop
        # must not wait for a disk.
        self.check()
        if NO_WAIT:
            # From the page cache, on the loop: no thread hop. Only when a read would wait for
            # the disk is the call run again, in a thread (``fn`` has no effect until it
            # returns: the contract of run_sync).
            try:
                with no_wait():
                    return fn()
            except WouldBlock:
                pass
        self._busy += 1
        try:
            return await anyio.to_thread.run_sync(fn)
        finally:
            self._busy -= 1
            if self._revoked is not None and not self._busy:
                self._let_go()

    def _let_go(self) -> None:
        self._files.close()
        for ranges in list(self._open_ranges):
            ranges.close()

    def close(self) -> None:
        self._let_go()


class DirectorySource(_Files):
    """The spool in directory ``path``; :class:`~ccstream.SpoolNotFound` if it holds none."""

    def __init__(self, path: Path) -> None:
        if not path.is_dir():
            raise SpoolNotFound(f"no spool at {str(path)!r} (not a directory)")
        super().__init__(path, read_meta(path))
        self._disk = DiskState(path, self.meta, self._files)

    def snapshot(self) -> SpoolState:
        self.check()
        return self._disk.snapshot()

    def reopen(self) -> Source:
        return DirectorySource(self.path)

    async def wait(self, records: int, poll_interval: float) -> None:
        await anyio.sleep(poll_interval)


class LiveSource(_Files):
    """The spool ``writer`` writes, read in its own process."""

    def __init__(self, writer: SpoolWriter) -> None:
        super().__init__(writer.path, writer.meta)
        self._writer = writer

    def snapshot(self) -> SpoolState:
        self.check()
        return self._writer.state

    def reopen(self) -> Source:
        return LiveSource(self._writer)

    def cached(self, record: int) -> tuple[int, Sequence[Output]] | None:
        self.check()
        return self._writer.cached(record)

    async def wait(self, records: int, poll_interval: float) -> None:
        writer = self._writer
        if writer.error is not None:
            await anyio.sleep(poll_interval)  # a spool that stopped early: only the end can come
        elif writer.accepting and writer.records <= records:
            await writer.wait_grown(records)
        else:
            # Handed over but not on disk yet (or the writer is closing): look again once the
            # disk thread wrote something, or shortly.
            await writer.wait_disk(_COMMIT_POLL)

    def hold(self, mark: ReaderMark) -> Callable[[], None]:
        writer = self._writer
        forget = super().hold(mark)
        writer.add_reader(mark)

        def release() -> None:
            forget()
            writer.remove_reader(mark)

        return release

    def hold_for_reader(self, *, again: bool) -> Callable[[], None]:
        return self._writer.hold_for_reader(again=again)
