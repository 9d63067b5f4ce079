"""The Redis store's sink: the local writer's planning, with each hand-off stored by one script.

:class:`RedisSink` is the local :class:`~ccstream.spool.local._writer.SpoolWriter` — the same
frames, order records, line checkpoints, quota plan (head and newest tail kept, the middle
dropped whole segments at a time, the ``"pause"`` policy for live readers) and memory budget —
with its disk thread replaced by a :class:`_Flusher`: a task in the store's task group that
sends each hand-off to Redis as one :data:`~ccstream.spool.redis._scripts.FLUSH` script and
then publishes its state. Nothing here blocks the event loop, so there is no thread.

A failed script (Redis out of memory, the writer fenced off, the spool lost, the connection
gone after coredis' retries) is a failed disk: :attr:`~RedisSink.error` is set, the run applies
``SpoolOptions.on_disk_error``, and what never reached Redis is a counted ``"disk_error"`` gap
in the final state, which :data:`~ccstream.spool.redis._scripts.SEAL` still records (it may run
out of memory).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import anyio

from ...exceptions import SpoolError
from .._records import CHECKPOINT
from .._state import SpoolState
from ..local._disk import DiskWriter, Job, Write
from ..local._writer import SpoolWriter
from ._errors import SpoolFenced, SpoolLost
from ._layout import MAX_ENTRY, Keys, state_to_json
from ._scripts import EXISTS, FENCED, LOST

if TYPE_CHECKING:
    from ..._options import SpoolOptions
    from .._base import Source
    from ._store import RedisStore

__all__ = ["RedisSink"]

log = logging.getLogger("ccstream")

_GROUP_BYTES = 4 * 1024 * 1024
"""Most bytes of data one flush script carries: Redis runs a script alone, so a bound on it is
a bound on how long other clients wait."""


SEAL_TIMEOUT = 10.0
"""Seconds the end of a run waits at most for Redis to record it."""


def _translate(exc: Exception, where: str) -> SpoolError:
    """The spool error a failed script means (its reply's first word says why)."""
    text = str(exc)
    if text.startswith(FENCED):
        return SpoolFenced(f"{where}: {text[len(FENCED) + 1 :]}")
    if text.startswith(LOST):
        return SpoolLost(f"{where}: {text[len(LOST) + 1 :]}")
    if text.startswith(EXISTS):
        return SpoolError(f"{where}: {text[len(EXISTS) + 1 :]}")
    return SpoolError(f"{where}: {type(exc).__name__}: {text}")


class _Flusher:
    """Stores the hand-offs of one :class:`RedisSink`, in order, from a task of the store.

    Has what the writer's loop side reads of a disk thread: ``state`` (the last stored state,
    replaced whole), ``error``, ``committed_bytes`` and :meth:`submit`.
    """

    def __init__(
        self, store: RedisStore, keys: Keys, segment_size: int, create: list[bytes | str]
    ) -> None:
        self.state = SpoolState()
        self.error: str | None = None
        self.failure: SpoolError | None = None
        self.committed_bytes = 0
        self.epoch = 1
        self.failed = anyio.Event()
        self.created = anyio.Event()
        """Set once the spool exists in Redis (or its making failed)."""
        self.removed = False
        """Set when the store removes the spool: nothing of this writer lands after that."""
        self._store = store
        self._keys = keys
        self._size = segment_size
        self._create = create
        self._seq = 0
        self._unstored = 0
        self._jobs: deque[Job] = deque()
        self._wake = anyio.Event()
        self._progress = anyio.Event()
        self._stopping = False
        self._done = anyio.Event()

    # -- the loop side --------------------------------------------------------------------------

    def submit(self, jobs: list[Job]) -> None:
        if self._done.is_set():
            return  # stopped (failed): nothing more is stored, nor counted as waiting
        nbytes = sum(job.nbytes for job in jobs)
        self._unstored += nbytes
        self._store.flights.unstored += nbytes
        self._jobs.extend(jobs)
        self._wake.set()

    def _stored(self, nbytes: int) -> None:
        """``nbytes`` submitted are stored, or will never be: no longer the store's backlog."""
        self._unstored -= nbytes
        self._store.flights.unstored -= nbytes

    async def progress(self, at_most: float) -> None:
        """Return once a hand-off was stored (or failed) after this call began, or after
        ``at_most`` seconds."""
        with anyio.move_on_after(at_most):
            await self._progress.wait()

    async def finish(self) -> None:
        """Store what is queued, then stop."""
        self._stopping = True
        self._wake.set()
        await self._done.wait()

    def _advanced(self) -> None:
        event, self._progress = self._progress, anyio.Event()
        event.set()

    # -- the task -------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._script(self._store._create, self._create)
            self.created.set()
            while True:
                while not self._jobs and not self._stopping:
                    self._wake = anyio.Event()
                    await self._wake.wait()
                if not self._jobs:
                    return
                group = self._take()
                if self.error is None:
                    async with self._store.flights.hold(sum(job.nbytes for job in group)):
                        await self._flush(group)
                else:
                    self._stored(sum(job.nbytes for job in group))
        except Exception as exc:
            self._fail(exc)
        finally:
            self._jobs.clear()
            self._stored(self._unstored)
            self._done.set()

    def _take(self) -> list[Job]:
        """The next jobs to store as one: up to :data:`_GROUP_BYTES`, ending at a job that drops
        segments (its drops then happen at once)."""
        group: list[Job] = []
        nbytes = 0
        while self._jobs and (not group or nbytes + self._jobs[0].nbytes <= _GROUP_BYTES):
            job = self._jobs.popleft()
            group.append(job)
            nbytes += job.nbytes
            if job.drops:
                break
        return group

    async def _script(
        self, script: Callable[..., Awaitable[Any]], args: Sequence[bytes | str]
    ) -> int:
        try:
            return int(await script(keys=self._keys.all(), args=list(args)))
        except SpoolError:
            raise
        except Exception as exc:
            raise _translate(exc, f"cannot write the spool {self._keys.key!r} to Redis") from exc

    def flush_args(self, group: list[Job]) -> list[bytes | str]:
        """The :data:`~ccstream.spool.redis._scripts.FLUSH` arguments of ``group``."""
        before = self.state
        sizes = list(before.sizes)
        merged: list[Write] = []
        order = bytearray()
        index = [bytearray(), bytearray()]
        trims = [0, 0]
        for job in group:
            order += job.order
            index[0] += job.index[0]
            index[1] += job.index[1]
            for drop in job.drops:
                trims[drop.sid] = max(trims[drop.sid], (drop.segment + 1) * self._size + 1)
            for op in job.ops:
                last = merged[-1] if merged else None
                if last is not None and last.sid == op.sid and last.segment == op.segment:
                    last.pieces.extend(op.pieces)
                else:
                    merged.append(Write(op.sid, op.segment, list(op.pieces)))
        entries: list[bytes | str] = []
        for op in merged:
            data = b"".join(op.pieces)
            target = (5 if op.segment == 0 else 7) + op.sid  # KEYS index: head or tail
            pos = sizes[op.sid]
            for i in range(0, len(data), MAX_ENTRY):
                chunk = data[i : i + MAX_ENTRY]
                pos += len(chunk)
                entries += [str(target), f"{pos}-0", chunk]
            sizes[op.sid] = pos
        after = group[-1].state
        assert tuple(sizes) == after.sizes, "the planned sizes and the data disagree"
        return [
            str(self.epoch),
            str(self._seq + 1),
            str(before.sizes[0]),
            str(before.sizes[1]),
            str(before.records),
            str(after.records),
            str(after.sizes[0]),
            str(after.sizes[1]),
            state_to_json(after),
            bytes(order),
            bytes(index[0]),
            bytes(index[1]),
            f"{trims[0]}-0" if trims[0] else "",
            f"{trims[1]}-0" if trims[1] else "",
            *entries,
        ]

    async def _flush(self, group: list[Job]) -> None:
        if not await self._script(self._store._flush, self.flush_args(group)):
            # Sent again after a lost reply (coredis retries): Redis had it, nothing doubled.
            log.info("flush %d of the spool %r was stored already", self._seq + 1, self._keys.key)
        self._seq += 1
        self.state = group[-1].state
        nbytes = sum(job.nbytes for job in group)
        self.committed_bytes += nbytes
        self._stored(nbytes)
        self._advanced()

    def _fail(self, exc: Exception) -> None:
        failure = exc if isinstance(exc, SpoolError) else _translate(exc, "the Redis store")
        message = str(failure)
        log.error("%s; %d bytes were spooled before", message, sum(self.state.sizes))
        self.failure = failure
        self.error = message
        self.state = replace(self.state, error=message)
        self.failed.set()
        self.created.set()
        self._advanced()

    async def seal(self, state: SpoolState, ttl: float | None) -> None:
        """Record the final ``state`` and give every key the TTL (``None``: none), unless this
        writer was fenced off or the spool is lost (then someone else ends it)."""
        if self.removed or isinstance(self.failure, (SpoolFenced, SpoolLost)):
            return
        seconds = 0 if ttl is None else max(1, round(ttl))
        args = [str(self.epoch), state_to_json(state), str(state.records), repr(time.time())]
        try:
            await self._script(self._store._seal, [*args, str(seconds)])
        except SpoolError as exc:
            log.error("cannot record the end of the spool %r: %s", self._keys.key, exc)


class RedisSink(SpoolWriter):
    """Writes one spool to Redis for ``store`` under ``key`` (see the module docstring); made by
    :meth:`RedisStore.create <ccstream.spool.redis.RedisStore.create>`."""

    def __init__(
        self,
        store: RedisStore,
        key: str,
        options: SpoolOptions,
        *,
        argv: Sequence[str] = (),
        mode: str = "binary",
    ) -> None:
        self._store = store
        self.key = key
        self.keys = Keys(store.prefix, key)
        self.token = uuid.uuid4().hex
        """Unique per spool: readers tell this spool from one made again under its key."""
        super().__init__(options, argv=argv, mode=mode)

    def _start(self, options: SpoolOptions, argv: Sequence[str], mode: str) -> None:
        self.path = Path(f"{self.keys.prefix}:{{{self.key}}}")
        self._created = False
        first = CHECKPOINT.pack(0, 0 << 1 | 1)
        create: list[bytes | str] = [
            self.token,
            self._store.epoch,
            str(options.segment_size),
            mode,
            json.dumps([str(a) for a in argv]),
            repr(time.time()),
            state_to_json(SpoolState()),
            first,
        ]
        self._flusher = _Flusher(self._store, self.keys, options.segment_size, create)
        # The loop side reads only state, error, committed_bytes and submit() of its disk; the
        # rest of DiskWriter's surface is what the methods below replace.
        self._disk = cast(DiskWriter, self._flusher)
        self._store._start_soon(self._flusher.run)

    @property
    def backlog_limit(self) -> int:
        """Bytes handed over and not yet stored before the pump waits: the sink's own limit,
        or 0 while the store's sinks together hold more than the store's backlog
        (:mod:`ccstream.spool.redis._flight`)."""
        return 0 if self._store.flights.over else self._backlog_limit

    @backlog_limit.setter
    def backlog_limit(self, value: int) -> None:
        self._backlog_limit = value

    @property
    def failure(self) -> SpoolError | None:
        """Why writing stopped, as an exception (:class:`SpoolFenced` when another writer took
        the spool over, :class:`SpoolLost` when Redis lost it), once it did."""
        return self._flusher.failure

    @property
    def epoch(self) -> int:
        """This writer's epoch (fencing token): a flush is refused once the spool's is higher."""
        return self._flusher.epoch

    async def ready(self) -> None:
        """Return once the spool exists in Redis, so that a reader anywhere can open it;
        :class:`~ccstream.SpoolError` if it could not be made."""
        await self._flusher.created.wait()
        if self._flusher.failure is not None and not self._flusher.state.records:
            raise self._flusher.failure

    def source(self) -> Source:
        from ._source import LiveRedisSource

        return LiveRedisSource(self._store, self)

    async def wait_disk(self, at_most: float) -> None:
        await self._flusher.progress(at_most)

    async def wait_failed(self) -> None:
        await self._flusher.failed.wait()

    async def aclose(
        self,
        totals: Sequence[tuple[int, int]] = (),
        *,
        returncode: int | None = None,
        reason: str | None = None,
    ) -> SpoolState:
        """Store what is left, then record how the run ended (what never reached Redis is a
        ``"disk_error"`` gap) and give every key of the spool the store's retention TTL."""
        self.flush()
        self._closed = True
        await self._flusher.finish()
        if self._final is None:
            state = self._finish_state(totals, returncode, reason)
            # Shielded (a cancelled run still records its end), but bounded: a Redis that does
            # not answer does not hold the run's end for longer than this.
            with anyio.CancelScope(shield=True), anyio.move_on_after(SEAL_TIMEOUT):
                await self._flusher.seal(state, self._store.retention)
            self._final = state
        self._wake()
        return self._final

    def close(
        self,
        totals: Sequence[tuple[int, int]] = (),
        *,
        returncode: int | None = None,
        reason: str | None = None,
    ) -> SpoolState:
        """As :meth:`aclose`, not waiting: the store finishes the spool in its task group."""
        self.flush()
        self._closed = True
        if self._final is None:
            self._final = state = self._finish_state(totals, returncode, reason)

            async def finish() -> None:
                await self._flusher.finish()
                await self._flusher.seal(state, self._store.retention)

            self._store._start_soon(finish)
        self._wake()
        return self._final

    def remove(self) -> None:
        """Delete the spool's keys (soon, in the store's task group)."""
        self._store._start_soon(self._store.remove, self.key)
