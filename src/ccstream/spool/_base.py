"""The spool's interface: a :class:`Store` makes and finds spools, a run writes through a
:class:`Sink`, readers read a :class:`Source`.

Everything above this module (:class:`~ccstream.Spool`, its view and followers, the CLI, the
WebSocket adapter) uses only what these classes declare; a store is a set of three
implementations next to this module (:mod:`ccstream.spool.local`), and
:mod:`ccstream.spool.testing` is the conformance suite each store must pass.

Units: offsets, sizes and lengths are bytes of one stream (``sid`` 0 is stdout, 1 is stderr);
``records`` count frames in arrival order across both streams; times are seconds.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .._events import Output, StreamName
from ._quota import ReaderMark
from ._records import Checkpoint, Record
from ._state import SpoolState

if TYPE_CHECKING:
    from .._options import SpoolOptions
    from ._reader import Spool

__all__ = ["RangeReader", "Sink", "Source", "Store"]

_T = TypeVar("_T")


class RangeReader(abc.ABC):
    """Byte ranges of a spool's streams for one reader (from :meth:`Source.ranges`).

    A reader that is in the middle of a piece keeps reading it even when the quota drops that
    piece meanwhile (the local store keeps the segment file open), so a drop under a reader's
    feet never cuts a frame it started. May block: call it inside :meth:`Source.run_sync`.
    """

    @abc.abstractmethod
    def read(self, sid: int, start: int, end: int) -> tuple[bytes, int | None]:
        """The bytes of ``[start, end)`` and ``None``; or, where the quota dropped a piece, the
        bytes before it and the offset where it begins."""

    @abc.abstractmethod
    def close(self) -> None:
        """Let go of what the reader holds open."""


class Source(abc.ABC):
    """What readers read: one spool, written now or done, in this process or another.

    The contract, which :mod:`ccstream.spool.testing` checks:

    - :meth:`snapshot` is a consistent :class:`SpoolState`: every record, checkpoint and byte it
      counts is readable; a read bounded by it never sees half of what is appended meanwhile.
      Once ``complete``, snapshots do not change.
    - :meth:`records` and :meth:`checkpoint` give the order log and the line checkpoints
      (a checkpoint at offset 0 and at every multiple of :attr:`segment_size`); bytes are read
      through a :meth:`ranges` reader. Those primitives may block: readers call them only from
      a function passed to :meth:`run_sync`, which a store whose calls block runs in a worker
      thread, so the event loop never waits for them.
    - :meth:`wait` returns once the spool may have grown past a record count (or ended), or
      after at most the poll interval: callers look at :meth:`snapshot` again.
    - The quota drops whole pieces of :attr:`segment_size` bytes, oldest first, so each stream
      has at most one quota gap; :meth:`hold` keeps a reader's bytes from being dropped under
      ``SpoolOptions(on_quota="pause")``.
    """

    path: Path
    """Where the spool lives (its directory, for the local store)."""

    @property
    @abc.abstractmethod
    def segment_size(self) -> int:
        """Bytes per piece the quota drops as a whole (a read never needs to cross one)."""

    @property
    @abc.abstractmethod
    def text(self) -> bool:
        """True when the run decoded its output as text (frames count their invalid bytes)."""

    @abc.abstractmethod
    def snapshot(self) -> SpoolState:
        """The state now (quick: no more than a few small reads)."""

    @abc.abstractmethod
    def records(self, start: int, count: int) -> list[Record]:
        """Up to ``count`` order records from record ``start`` (blocking allowed)."""

    @abc.abstractmethod
    def checkpoint_count(self, sid: int) -> int:
        """Line checkpoints of stream ``sid`` readable now (blocking allowed)."""

    @abc.abstractmethod
    def checkpoint(self, sid: int, i: int) -> Checkpoint:
        """Checkpoint ``i`` of stream ``sid`` (sorted by offset; blocking allowed)."""

    @abc.abstractmethod
    def ranges(self, *, keep_open: int = 2) -> RangeReader:
        """A reader of byte ranges holding at most ``keep_open`` pieces open; close it."""

    def cached(self, record: int) -> tuple[int, Sequence[Output]] | None:
        """``(first record, frames)`` of a batch still in the writer's memory that holds
        ``record``, or ``None`` (the default: read it). Frames from memory are the very objects
        the run made: a reader that keeps up reads nothing back."""
        return None

    @abc.abstractmethod
    async def wait(self, records: int, poll_interval: float) -> None:
        """Return once the spool may hold more than ``records`` records or be complete, or
        after at most ``poll_interval`` seconds."""

    def hold(self, mark: ReaderMark) -> Callable[[], None]:
        """Register a live reader at ``mark`` (its offsets, updated in place by the reader): under
        ``on_quota="pause"`` the writer drops nothing it has not taken. Returns the release.
        The default (a spool no writer in this process writes) holds nothing."""
        return _nothing

    def check(self) -> None:
        """Raise :class:`~ccstream.SpoolNotFound` once the store removed the spool under this
        reader (:meth:`Store.revoke`); readers call it before handing out what they read ahead.
        The default never raises."""
        return None

    def hold_for_reader(self, *, again: bool) -> Callable[[], None]:
        """Keep the quota for a reader to come (see :meth:`Sink.hold_for_reader`); the default
        (no writer in this process) holds nothing."""
        return _nothing

    @abc.abstractmethod
    def reopen(self) -> Source:
        """Another, independent source of the same spool (its own files), for another reader."""

    @abc.abstractmethod
    async def run_sync(self, fn: Callable[[], _T]) -> _T:
        """Run ``fn``, which calls the blocking primitives, where blocking is allowed (a worker
        thread for a store whose calls block) and return what it returns. ``fn`` must have no
        effect until it returns: a store may first try it where it cannot block and, when it
        would, run it again in a worker thread."""

    @abc.abstractmethod
    def close(self) -> None:
        """Let go of the spool's files or connections (the spool itself stays)."""


class Sink(abc.ABC):
    """What a run writes through: one spool being written (today's pump calls these names).

    ``append`` never waits; the pump waits only on :meth:`wait_backlog` (the store is more than
    :attr:`backlog_limit` bytes behind) and while :attr:`held` (the quota waits for a live reader,
    :meth:`retry_held`). A failure of the store ends :attr:`accepting` and sets :attr:`error`
    (:meth:`wait_failed` returns then); the run then goes on without it, and what never reached
    the store becomes a ``"disk_error"`` gap at :meth:`aclose`.
    """

    path: Path
    """Where the spool lives (for a directory store; the key's location otherwise)."""

    records: int
    """Frames handed over so far (what readers can see may be behind: see :attr:`state`)."""

    held: bool
    """True while the quota is spent on bytes a live reader has not taken."""

    backlog_limit: int
    """Bytes handed over and not yet stored before the pump waits (:meth:`wait_backlog`)."""

    @property
    @abc.abstractmethod
    def state(self) -> SpoolState:
        """The published state: everything in it is readable."""

    @property
    @abc.abstractmethod
    def error(self) -> str | None:
        """Why spooling stopped early, once it did."""

    @property
    @abc.abstractmethod
    def accepting(self) -> bool:
        """True while :meth:`append` takes frames (not closed, no failure)."""

    @property
    @abc.abstractmethod
    def backlog(self) -> int:
        """Bytes handed over and not stored yet."""

    @abc.abstractmethod
    def append(self, stream: StreamName, frames: Sequence[Output]) -> int | None:
        """Spool ``frames`` of ``stream`` (in stream order, tiling it, none empty); the newlines
        they hold, or ``None`` when the sink takes no more. Never waits."""

    @abc.abstractmethod
    def flush(self) -> None:
        """Make what was appended readable soon (before the pump waits for the pipe)."""

    @abc.abstractmethod
    def cached(self, record: int) -> tuple[int, Sequence[Output]] | None:
        """``(first record, frames)`` of the batch in memory holding ``record``, or ``None``."""

    @abc.abstractmethod
    async def wait_grown(self, records: int) -> None:
        """Wait until more than ``records`` frames were handed over, or no more will be."""

    @abc.abstractmethod
    async def wait_backlog(self) -> None:
        """Wait while the store is more than :attr:`backlog_limit` bytes behind."""

    @abc.abstractmethod
    async def wait_failed(self) -> None:
        """Return once the store failed (see :attr:`error`); wait forever otherwise."""

    @abc.abstractmethod
    def add_reader(self, mark: ReaderMark) -> None:
        """Register a live reader (a reader to come holds one too: :meth:`Spool.hold`)."""

    @abc.abstractmethod
    def remove_reader(self, mark: ReaderMark) -> None:
        """Unregister a reader; the quota may drop behind it again."""

    @abc.abstractmethod
    def hold_for_reader(self, *, again: bool) -> Callable[[], None]:
        """Keep the quota for a reader to come, under ``on_quota="pause"``: while no live reader
        is registered, the offsets where the last one left (0 before the first) hold it as a
        reader there would. ``again`` false: until the first reader registers; true: each time
        the last one leaves, too. Returns the release."""

    @abc.abstractmethod
    def retry_held(self) -> bool:
        """While :attr:`held`: drop what every reader passed; whether it is still held."""

    @abc.abstractmethod
    def release_held(self) -> None:
        """Stop waiting for readers for good (the run is being killed)."""

    @abc.abstractmethod
    async def aclose(
        self,
        totals: Sequence[tuple[int, int]] = (),
        *,
        returncode: int | None = None,
        reason: str | None = None,
    ) -> SpoolState:
        """Finish writing (never blocking the loop) and record how the run ended; ``totals`` are
        ``(bytes, newlines)`` per stream the run read. Returns the final state."""

    @abc.abstractmethod
    def close(
        self,
        totals: Sequence[tuple[int, int]] = (),
        *,
        returncode: int | None = None,
        reason: str | None = None,
    ) -> SpoolState:
        """As :meth:`aclose`, blocking (for a run that never started)."""

    @abc.abstractmethod
    def remove(self) -> None:
        """Delete the spool (quickly: a store may finish deleting in the background)."""

    @abc.abstractmethod
    def source(self) -> Source:
        """A :class:`Source` of this spool for readers in this process: it sees frames still in
        the sink's memory and wakes at once when frames come."""


class Store(abc.ABC):
    """Makes and finds spools by key (for the local store, a key is a directory name under its
    root, or a path).

    :meth:`remove` cuts off the spool's readers: their next read raises
    :class:`~ccstream.SpoolNotFound`; it never waits for a reader that holds what it read.
    Blocking work (deleting, measuring) runs in worker threads inside the store.
    """

    @abc.abstractmethod
    def create(
        self, key: str, options: SpoolOptions, *, argv: Sequence[str] = (), mode: str = "binary"
    ) -> Sink:
        """A new spool for ``key``; :class:`~ccstream.SpoolError` when it cannot be made."""

    @abc.abstractmethod
    def open(self, key: str) -> Spool:
        """The reader of ``key``'s spool, written now or done; :class:`~ccstream.SpoolNotFound`
        when there is none. A spool this store is writing in this process is read live (frames
        from the writer's memory, woken at once)."""

    async def aopen(self, key: str) -> Spool:
        """As :meth:`open`, asking the store where it must: a network store's :meth:`open`
        knows only the spools this process writes or opened before, this finds any. The
        default is :meth:`open`."""
        return self.open(key)

    async def astate(self, key: str) -> SpoolState:
        """As :meth:`state`, asking the store where it must (the default is :meth:`state`)."""
        return self.state(key)

    @abc.abstractmethod
    def revoke(self, key: str, reason: str) -> None:
        """Cut off ``key``'s readers now (quick; the spool stays until :meth:`remove`): their
        next call raises :class:`~ccstream.SpoolNotFound` with ``reason``, and what they hold
        open is let go as soon as no call of theirs is in progress."""

    @abc.abstractmethod
    async def remove(self, key: str, reason: str | None = None) -> bool:
        """Delete ``key``'s spool, cutting off its readers first (:meth:`revoke`); whether there
        was one. Returns once the spool is gone."""

    @abc.abstractmethod
    def removed(self, key: str) -> bool:
        """True once :meth:`remove` of ``key`` finished."""

    @abc.abstractmethod
    def state(self, key: str) -> SpoolState:
        """The state of ``key``'s spool now (quick); :class:`~ccstream.SpoolNotFound` if none."""

    @abc.abstractmethod
    def behind(self, key: str) -> list[int]:
        """For each ``follow`` of ``key``'s spool in progress (opened through this store), the
        bytes of the streams it follows written beyond what it has taken (quota drops
        included)."""

    @abc.abstractmethod
    def keys(self) -> list[str]:
        """The keys of the spools this store knows, sorted."""

    @abc.abstractmethod
    async def usage(self, key: str) -> int:
        """Bytes ``key``'s spool takes in the store now (0 when it is gone)."""

    @abc.abstractmethod
    async def prune(self, older_than: float) -> list[str]:
        """Remove the spools whose run ended more than ``older_than`` seconds ago (or whose
        writer died that long ago); never one still being written. Returns their keys."""


def _nothing() -> None:
    return None
