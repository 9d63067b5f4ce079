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
- :meth:`ExecutionSpool.revoke` takes an ended spool away from its readers at once (the budget
  evicted it): new calls fail, a ``follow`` waiting for its consumer is closed there and fails
  when asked for more, so its files close and the deletion does not wait for a slow client.

The quota (``execute``'s ``on_quota``): every :meth:`~ExecutionSpool.follow` of a running
execution is a live reader of the core spool, so under ``"pause"`` and ``"auto"`` the quota drops
nothing a connected client's reader has not taken and the child waits for it instead. Until the
owner's reader takes over, the output is held from offset 0 for it (its task starts just after
the run), and with ``"auto"`` until the owner left; with ``"pause"``, while nobody follows, the
output is held from where the last reader left off, for the next one to come.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Collection,
    Iterator,
    Mapping,
)
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

from ._budget import segment_size
from ._config import ServerConfig
from ._pages import PAGE_BYTES
from ._params import QuotaChoice

__all__ = ["ExecutionSpool", "spool_options"]

log = logging.getLogger("ccstream_ws")

_STREAMS: tuple[StreamName, ...] = ("stdout", "stderr")
# How long retire() waits for calls inside the run's handle: each is one page or one frame read.
_SPOOL_MEMORY = 2 * 1024 * 1024
_RETIRE_WAIT = 30.0
_RETIRE_POLL = 0.002


def spool_options(
    config: ServerConfig,
    execution_id: str,
    chunk_size: int = 64 * 1024,
    on_quota: QuotaChoice = "auto",
) -> SpoolOptions:
    """The spool of one execution: in ``config.spool_directory/<execution_id>`` (or a fresh
    temporary directory), kept after the run (this module removes it), with the server's quota
    per execution (:attr:`ServerConfig.execution_quota`). ``on_quota``: ``execute``'s choice; the
    core pauses for live readers unless it is ``"drop"``.

    The segment size is the quota's sixteenth, at most the core's 64 MiB: the quota must hold
    four segments, and smaller ones waste less of it when it drops the middle of the output.
    ``chunk_size`` is the execution's frame size in bytes.
    """
    directory = (
        Path(config.spool_directory) / execution_id if config.spool_directory is not None else None
    )
    quota = config.execution_quota
    segment = segment_size(quota)
    # A server runs many spooled executions at once: 2 MiB of output in memory per spool (the
    # core's default is 16 MiB) keeps 64 busy executions near 128 MiB in all. A client that
    # asked for big frames gets room for four: the cache of recent frames (a quarter) then holds
    # one, and its reader takes it from memory instead of reading it back from the file.
    memory = max(_SPOOL_MEMORY, 4 * chunk_size)
    return SpoolOptions(
        directory=directory,
        keep=True,
        quota=quota,
        segment_size=segment,
        memory=memory,
        on_quota="drop" if on_quota == "drop" else "pause",
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


class _Following:
    """One :meth:`ExecutionSpool.follow` on the kept directory: ``rest`` is its generator, and
    ``handed`` is true while its consumer holds a frame (the generator is then suspended and can
    be closed from another task)."""

    __slots__ = ("handed", "rest")

    def __init__(self, rest: AsyncGenerator[Output | Gap, None]) -> None:
        self.rest = rest
        self.handed = False


class ExecutionSpool:
    """The spool of one execution (see the module docstring); thread-safe for the synchronous
    reads (:meth:`page`, :meth:`read`...), which callers may run in worker threads.

    It answers what :class:`ccstream.Spool` answers and has the same signatures, so code that
    reads a spool (the HTTP downloads) takes either. ``on_quota``: the execution's choice, for
    the holds kept while no client follows (see the module docstring); ``None`` keeps none.
    """

    def __init__(self, live: Spool, on_quota: QuotaChoice | None = None) -> None:
        self.path = live.path
        """The spool's directory."""
        self._lock = threading.Lock()
        self._live: Spool | None = live
        self._live_users = 0
        self._kept: Spool | None = None
        self._kept_users = 0
        self._removed = False
        self._revoked: str | None = None
        self._deleted = threading.Event()
        self._following: set[_Following] = set()
        self._on_quota = on_quota
        self._followers = 0  # follow() calls on the run's handle
        # Keeps the output for a reader to come, released when one follows (event loop only).
        self._hold: Callable[[], None] | None = (
            live.hold() if on_quota in ("auto", "pause") else None
        )
        self._positions: set[_Follower] = set()
        """Each :meth:`follow` in progress, for :meth:`behind`."""

    # -- handles ------------------------------------------------------------------------------

    def _acquire(self) -> Spool:
        with self._lock:
            if self._live is not None:
                self._live_users += 1
                return self._live
            if self._revoked is not None:
                raise SpoolNotFound(self._revoked)
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

    # -- the quota's holds ---------------------------------------------------------------------

    def _let_go(self) -> None:
        hold, self._hold = self._hold, None
        if hold is not None:
            hold()

    def owner_left(self) -> None:
        """The owner's connection closed: with ``"auto"``, nobody is waited for any more unless
        a client follows."""
        if self._on_quota == "auto":
            self._let_go()

    def _joined(self) -> None:
        # The follower registers with the core at its first step, with no await before it, so
        # the output stays covered.
        self._followers += 1
        self._let_go()

    def _left(self, live: Spool, pos: Mapping[StreamName, int]) -> None:
        # Called before the follower lets go, so the output stays covered.
        self._followers -= 1
        if self._followers == 0 and self._on_quota == "pause" and self._live is live:
            self._let_go()
            self._hold = live.hold(pos)

    async def retire(self) -> None:
        """The run ended: from now on read the kept directory. Returns once no call is inside
        the run's handle, so the core may close it. Safe to call in a cancelled scope."""
        self._let_go()
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
        self._deleted.set()
        log.debug("spool %s removed", self.path)

    @property
    def deleted(self) -> bool:
        """True once the spool's directory is deleted."""
        return self._deleted.is_set()

    async def revoke(self, reason: str) -> None:
        """Take the spool from its readers: every later call raises
        :class:`~ccstream.SpoolNotFound` with ``reason``, and each ``follow`` whose consumer holds
        a frame is closed now (its files with it), failing when asked for the next one; a call in
        progress (one page, one frame) finishes first. Only for a retired spool: the run's handle
        is the core's. :meth:`remove` still deletes the directory."""
        with self._lock:
            self._revoked = reason
            idle = [f for f in self._following if f.handed]
        for following in idle:
            # Suspended at its yield: closing it releases the kept handle from this task.
            await following.rest.aclose()

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

    async def known_lines(self, stream: StreamName = "stdout") -> int:
        """Lines of ``stream`` known so far."""
        with self._use() as spool:
            return await spool.known_lines(stream)

    async def page(
        self,
        line: int = 0,
        count: int = 1000,
        stream: StreamName = "stdout",
        *,
        max_bytes: int = PAGE_BYTES,
    ) -> Page:
        """Up to ``count`` lines of ``stream`` from line ``line``, at most ``max_bytes`` bytes
        of them: :meth:`ccstream.Spool.page`."""
        with self._use() as spool:
            return await spool.page(line, count, stream, max_bytes=max_bytes)

    async def tail(
        self, count: int = 100, stream: StreamName = "stdout", *, max_bytes: int = PAGE_BYTES
    ) -> Page:
        """The last ``count`` lines of ``stream``: :meth:`ccstream.Spool.tail`."""
        with self._use() as spool:
            return await spool.tail(count, stream, max_bytes=max_bytes)

    async def read(self, stream: StreamName, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes of ``stream`` from ``offset``: :meth:`ccstream.Spool.read`."""
        with self._use() as spool:
            return await spool.read(stream, offset, length)

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
        position = _Follower(pos, streams)
        self._positions.add(position)
        try:
            live = self._live
            if live is not None:
                events = _generator(
                    live.follow(dict(pos), streams=streams, poll_interval=poll_interval)
                )
                self._joined()
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
                    self._left(live, pos)
                    await events.aclose()
            # The run's handle retired (or had before we began): the rest from the kept directory,
            # from the offsets reached, so no byte comes twice and none is missed.
            if self._revoked is not None:
                raise SpoolNotFound(self._revoked)
            following = _Following(self._follow_kept(pos, streams, poll_interval))
            self._following.add(following)
            try:
                while True:
                    try:
                        event = await following.rest.__anext__()
                    except StopAsyncIteration:
                        break
                    if self._revoked is not None:
                        raise SpoolNotFound(self._revoked)
                    _advance(pos, event)
                    following.handed = True
                    try:
                        yield event
                    finally:
                        following.handed = False
                    if self._revoked is not None:
                        raise SpoolNotFound(self._revoked)
            finally:
                self._following.discard(following)
                await following.rest.aclose()
            if self._revoked is not None:
                raise SpoolNotFound(self._revoked)
        finally:
            self._positions.discard(position)

    def behind(self) -> list[int]:
        """For each :meth:`follow` in progress, the bytes of the streams it follows written to
        the spool (quota drops included) beyond the last frame or gap it was handed."""
        if not self._positions:
            return []
        try:
            sizes = self.sizes
        except (SpoolError, OSError):
            return []
        return [
            sum(max(sizes[name] - f.pos[name], 0) for name in f.streams)
            for f in list(self._positions)
        ]

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
