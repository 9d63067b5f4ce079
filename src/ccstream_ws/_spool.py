"""An execution's spool for as long as the registry keeps the execution.

Every execution the server starts is spooled to disk, and every client reads it from there: the
connection that started it, ``subscribe``rs, ``page`` and the HTTP downloads. The core removes a
run's spool when the run's ``async with`` block closes, and that block must close when the run
ends (it holds one of the process-wide run slots), while the adapter keeps the output for
``retention`` seconds more. So the spool is made with ``keep=True`` and this module owns it:

- While the run's block is open, calls go to the run's own handle (``run.spool``): followers are
  woken at once by new output and take recent frames from the writer's memory.
- When the run ended, :meth:`ExecutionSpool.retire` switches to the kept directory before the
  block closes the run's handle, waiting for calls still inside it (a page read in a worker
  thread must not see its descriptors closed under it). A :meth:`~ExecutionSpool.follow` in
  progress goes on from the offsets it reached, on the kept directory, between two frames.
- After the run, the kept directory is opened while someone reads it and closed after, so an
  idle retained execution holds no file descriptors.
- :meth:`ExecutionSpool.remove` deletes the directory when the registry drops the execution.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Collection, Iterator, Mapping
from pathlib import Path
from typing import cast

import anyio

from ccstream import (
    Gap,
    Output,
    Page,
    Spool,
    SpoolError,
    SpoolNotFound,
    SpoolOptions,
    StreamName,
)

from ._config import ServerConfig

__all__ = ["ExecutionSpool", "spool_options"]

log = logging.getLogger("ccstream_ws")

MiB = 1024 * 1024
_STREAMS: tuple[StreamName, ...] = ("stdout", "stderr")
_SEGMENT_MAX = 64 * MiB
# A quota is spent in whole segments; sixteen per quota keep the loss to one sixteenth of it.
_SEGMENTS_PER_QUOTA = 16
# How long retire() waits for calls inside the run's handle: each is one page or one frame read.
_SPOOL_MEMORY = 2 * 1024 * 1024
_RETIRE_WAIT = 30.0
_RETIRE_POLL = 0.002


def spool_options(
    config: ServerConfig, execution_id: str, chunk_size: int = 64 * 1024
) -> SpoolOptions:
    """The spool of one execution: in ``config.spool_directory/<execution_id>`` (or a fresh
    temporary directory), kept after the run (this module removes it), with the server's quota.

    The segment size is the quota's sixteenth, at most the core's 64 MiB: the quota must hold
    four segments, and smaller ones waste less of it when it drops the middle of the output.
    ``chunk_size`` is the execution's frame size in bytes.
    """
    directory = (
        Path(config.spool_directory) / execution_id if config.spool_directory is not None else None
    )
    quota = config.spool_quota
    segment = _SEGMENT_MAX if quota is None else min(_SEGMENT_MAX, quota // _SEGMENTS_PER_QUOTA)
    # A server runs many spooled executions at once: 2 MiB of output in memory per spool (the
    # core's default is 16 MiB) keeps 64 busy executions near 128 MiB in all. A client that
    # asked for big frames gets room for four: the cache of recent frames (a quarter) then holds
    # one, and its reader takes it from memory instead of reading it back from the file.
    memory = max(_SPOOL_MEMORY, 4 * chunk_size)
    return SpoolOptions(
        directory=directory, keep=True, quota=quota, segment_size=segment, memory=memory
    )


def _advance(pos: dict[StreamName, int], event: Output | Gap) -> None:
    if isinstance(event, Output):
        pos[event.stream] = event.offset + len(event.data)
    else:
        pos[event.stream] = max(pos[event.stream], event.offset + event.bytes)


def _generator(events: AsyncIterator[Output | Gap]) -> AsyncGenerator[Output | Gap, None]:
    """``Spool.follow`` is an async generator typed as an iterator; it has ``aclose``."""
    return cast("AsyncGenerator[Output | Gap, None]", events)


class _Follower:
    """Where one :meth:`ExecutionSpool.follow` is (the end of the last frame or gap it handed
    out, per stream) and which streams it follows; compared by identity."""

    __slots__ = ("pos", "streams")

    def __init__(self, pos: dict[StreamName, int], streams: Collection[StreamName]) -> None:
        self.pos = pos
        self.streams = streams


class ExecutionSpool:
    """The spool of one execution (see the module docstring); thread-safe for the synchronous
    reads (:meth:`page`, :meth:`read`...), which callers may run in worker threads.

    It answers what :class:`ccstream.Spool` answers and has the same signatures, so code that
    reads a spool (the HTTP downloads) takes either.
    """

    def __init__(self, live: Spool) -> None:
        self.path = live.path
        """The spool's directory."""
        self._lock = threading.Lock()
        self._live: Spool | None = live
        self._live_users = 0
        self._kept: Spool | None = None
        self._kept_users = 0
        self._removed = False
        self._followers: set[_Follower] = set()
        """Each :meth:`follow` in progress."""

    # -- handles ------------------------------------------------------------------------------

    def _acquire(self) -> Spool:
        with self._lock:
            if self._live is not None:
                self._live_users += 1
                return self._live
            if self._removed:
                raise SpoolNotFound(f"the spool at {str(self.path)!r} was removed")
            if self._kept is None:
                self._kept = Spool.open(self.path)
            self._kept_users += 1
            return self._kept

    def _release(self, spool: Spool) -> None:
        with self._lock:
            if spool is self._kept:
                self._kept_users -= 1
                if self._kept_users == 0:
                    # Closed when idle, so a retained execution holds no descriptors.
                    self._kept = None
                    spool.close()
                    if self._removed:
                        self._delete()
            else:
                self._live_users -= 1

    @contextlib.contextmanager
    def _use(self) -> Iterator[Spool]:
        spool = self._acquire()
        try:
            yield spool
        finally:
            self._release(spool)

    async def retire(self) -> None:
        """The run ended: from now on read the kept directory. Returns once no call is inside
        the run's handle, so the core may close it. Safe to call in a cancelled scope."""
        with self._lock:
            self._live = None
        with anyio.CancelScope(shield=True), anyio.move_on_after(_RETIRE_WAIT) as waited:
            while self._live_users:  # noqa: ASYNC110 - threads cannot set an anyio Event
                await anyio.sleep(_RETIRE_POLL)
        if waited.cancelled_caught:
            log.error("spool %s: calls still inside the run's handle as it closes", self.path)

    def remove(self) -> None:
        """Delete the spool's directory (now, or when the last reader of it lets go)."""
        with self._lock:
            self._removed = True
            self._live = None
            if self._kept_users == 0:
                self._delete()

    def _delete(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        log.debug("spool %s removed", self.path)

    # -- what ccstream.Spool answers ----------------------------------------------------------

    @property
    def complete(self) -> bool:
        """True once nothing more will be written."""
        with self._use() as spool:
            return spool.complete

    @property
    def sizes(self) -> dict[StreamName, int]:
        """Bytes of each stream written so far (including any the quota dropped since)."""
        with self._use() as spool:
            return spool.sizes

    @property
    def gaps(self) -> list[Gap]:
        """Output the spool does not hold (quota gaps; once complete, ``"disk_error"`` ones)."""
        with self._use() as spool:
            return spool.gaps

    def known_lines(self, stream: StreamName = "stdout") -> int:
        """Lines of ``stream`` known so far."""
        with self._use() as spool:
            return spool.known_lines(stream)

    def page(self, line: int = 0, count: int = 1000, stream: StreamName = "stdout") -> Page:
        """Up to ``count`` lines of ``stream`` from line ``line``: :meth:`ccstream.Spool.page`."""
        with self._use() as spool:
            return spool.page(line, count, stream)

    def tail(self, count: int = 100, stream: StreamName = "stdout") -> Page:
        """The last ``count`` lines of ``stream``: :meth:`ccstream.Spool.tail`."""
        with self._use() as spool:
            return spool.tail(count, stream)

    def read(self, stream: StreamName, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes of ``stream`` from ``offset``: :meth:`ccstream.Spool.read`."""
        with self._use() as spool:
            return spool.read(stream, offset, length)

    async def follow(
        self,
        offsets: Mapping[StreamName, int] | None = None,
        *,
        streams: Collection[StreamName] = _STREAMS,
        poll_interval: float = 0.05,
    ) -> AsyncGenerator[Output | Gap, None]:
        """The frames of ``streams`` in arrival order from byte ``offsets``, replayed then live,
        until the run ended: :meth:`ccstream.Spool.follow`, across the switch to the kept
        directory (see the module docstring). Holds one frame."""
        pos: dict[StreamName, int] = {name: 0 for name in _STREAMS}
        pos.update(offsets or {})
        follower = _Follower(pos, streams)
        self._followers.add(follower)
        try:
            async with contextlib.aclosing(self._follow(pos, streams, poll_interval)) as events:
                async for event in events:
                    yield event
        finally:
            self._followers.discard(follower)

    def behind(self) -> list[int]:
        """For each :meth:`follow` in progress, the bytes of the streams it follows written to
        the spool (quota drops included) beyond the last frame or gap it was handed."""
        if not self._followers:
            return []
        try:
            sizes = self.sizes
        except (SpoolError, OSError):
            return []
        return [
            sum(max(sizes[name] - f.pos[name], 0) for name in f.streams)
            for f in list(self._followers)
        ]

    async def _follow(
        self, pos: dict[StreamName, int], streams: Collection[StreamName], poll_interval: float
    ) -> AsyncGenerator[Output | Gap, None]:
        live = self._live
        if live is not None:
            events = _generator(
                live.follow(dict(pos), streams=streams, poll_interval=poll_interval)
            )
            try:
                # Inside the run's handle only while taking a frame, never while the consumer
                # holds one (a slow client would hold up retire() for its whole read).
                while self._enter(live):
                    try:
                        event = await events.__anext__()
                    except StopAsyncIteration:
                        return
                    except SpoolError:
                        if self._live is live:
                            raise
                        break  # closed under us (retire() gave up waiting): go on below
                    finally:
                        self._leave()
                    _advance(pos, event)
                    yield event
            finally:
                await events.aclose()
        # The run's handle retired (or had before we began): the rest from the kept directory,
        # from the offsets reached, so no byte comes twice and none is missed.
        async with contextlib.aclosing(self._follow_kept(pos, streams, poll_interval)) as rest:
            async for event in rest:
                _advance(pos, event)
                yield event

    def _enter(self, live: Spool) -> bool:
        with self._lock:
            if self._live is not live:
                return False
            self._live_users += 1
            return True

    def _leave(self) -> None:
        with self._lock:
            self._live_users -= 1

    async def _follow_kept(
        self,
        pos: Mapping[StreamName, int],
        streams: Collection[StreamName],
        poll_interval: float,
    ) -> AsyncGenerator[Output | Gap, None]:
        with self._use() as spool:
            events = _generator(
                spool.follow(dict(pos), streams=streams, poll_interval=poll_interval)
            )
            async with contextlib.aclosing(events):
                async for event in events:
                    yield event

    def __repr__(self) -> str:
        return f"<ExecutionSpool {str(self.path)!r}>"
