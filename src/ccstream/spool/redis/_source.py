"""The Redis store's :class:`~ccstream.spool.Source`: a spool read from Redis.

The readers (:class:`~ccstream.Spool`, its view and followers) call a source's primitives from
inside :meth:`~RedisSource.run_sync`, synchronously. Here ``run_sync`` runs them in a worker
thread, and each primitive that needs Redis hops back to the event loop for its command
(``anyio.from_thread``): the loop never waits, the readers stay written once, and a call holds
what a local read holds. Blocks of order records and checkpoints, and a window of stream bytes
(64 KiB for a page's reads, 256 KiB for a follower's), are kept per source so that a bisection
or a walk costs a few round trips, not one per record.

:class:`RedisSource` reads whoever writes the spool (another process or node, or nobody any
more): its state is the meta hash's, it waits for growth on the store's one tailer of the spool,
and it raises :class:`~ccstream.spool.redis.SpoolLost` when the spool it read is gone from
Redis without having been removed, or was made again (a different ``token``): never another
spool's bytes. :class:`LiveRedisSource` is the spool a sink of this process writes: state,
frames in memory, wake-ups and the quota's live readers come from the sink, as for the local
store's live source. Outside a ``run_sync`` call (the :class:`~ccstream.Spool` properties),
:meth:`~RedisSource.snapshot` gives the state of the last read.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread

from ..._events import Output
from ...exceptions import SpoolError, SpoolNotFound
from .._base import RangeReader, Source
from .._quota import ReaderMark
from .._records import CHECKPOINT, FRAME, Checkpoint, Record
from .._state import SpoolState
from ._errors import SpoolLost
from ._layout import MAX_ENTRY, Keys, state_from_json

if TYPE_CHECKING:
    from pathlib import Path

    from ._sink import RedisSink
    from ._store import RedisStore

__all__ = ["LiveRedisSource", "RedisSource"]

_T = TypeVar("_T")
_BLOCK = 256  # records or checkpoints per cached block
_BLOCKS = 16  # cached blocks per source
_COMMIT_POLL = 0.0005
_worker = threading.local()


def in_worker() -> bool:
    """True inside a :meth:`RedisSource.run_sync` worker thread (Redis may be asked there)."""
    return bool(getattr(_worker, "active", False))


class _Blocks:
    """Fixed-size records of a Redis string, fetched a block at a time (``GETRANGE``)."""

    def __init__(self, source: RedisSource, key: str, size: int) -> None:
        self._source = source
        self._key = key
        self._size = size
        self._cache: OrderedDict[int, bytes] = OrderedDict()

    def get(self, start: int, count: int) -> bytes:
        """The packed records ``start`` to ``start + count - 1`` (fewer at the end)."""
        out = bytearray()
        size = self._size
        i = start
        end = start + count
        while i < end:
            block = i // _BLOCK
            data = self._cache.get(block)
            first = block * _BLOCK
            if data is None or len(data) < (min(end, first + _BLOCK) - first) * size:
                data = self._source.call(
                    self._source.client.getrange,
                    self._key,
                    first * size,
                    (first + _BLOCK) * size - 1,
                )
                self._cache[block] = data
                if len(self._cache) > _BLOCKS:
                    self._cache.popitem(last=False)
            have = len(data) // size
            stop = min(end, first + have)
            if stop <= i:
                break
            out += data[(i - first) * size : (stop - first) * size]
            i = stop
        return bytes(out)


class _Ranges(RangeReader):
    """Byte ranges read from the spool's ``head`` and ``tail`` streams through a window."""

    def __init__(self, source: RedisSource, window: int) -> None:
        self._source = source
        self._window = window
        self._at: tuple[int, int] = (-1, 0)  # (sid, offset of the window's first byte)
        self._data = b""

    def read(self, sid: int, start: int, end: int) -> tuple[bytes, int | None]:
        out = bytearray()
        pos = start
        while pos < end:
            wsid, wstart = self._at
            if wsid == sid and wstart <= pos < wstart + len(self._data):
                take = self._data[pos - wstart : end - wstart]
                out += take
                pos += len(take)
                continue
            if not self._fetch(sid, pos, end):
                return bytes(out), pos  # not in Redis: the quota trimmed it
        return bytes(out), None

    def _fetch(self, sid: int, pos: int, end: int) -> bool:
        """Fill the window from ``pos``; whether Redis holds the byte at ``pos``."""
        source = self._source
        size = source.segment_size
        keys = source.keys
        key = keys.head(sid) if pos < size else keys.tail(sid)
        stop = max(end, pos + self._window)
        if pos < size:
            stop = min(stop, size)
        entries = source.call(source.client.xrange, key, f"({pos}-0", f"{stop + MAX_ENTRY - 1}-0")
        data = bytearray()
        at = pos
        for entry in entries:
            last = int(entry.identifier.split(b"-")[0])
            chunk = entry.field_values[b"d"]
            first = last - len(chunk)
            if first > at:
                break  # a hole: the bytes from ``at`` are gone
            data += memoryview(chunk)[at - first :]
            at = last
        source.check()
        if not data:
            source.call(source.verify)  # gone from Redis altogether: say so, not "missing"
            return False
        self._at = (sid, pos)
        self._data = bytes(data)
        return True

    def close(self) -> None:
        self._data = b""
        self._at = (-1, 0)


class RedisSource(Source):
    """Spool ``key`` of ``store`` as Redis holds it (see the module docstring)."""

    def __init__(
        self,
        store: RedisStore,
        key: str,
        *,
        segment_size: int,
        text: bool,
        token: str | None,
        state: SpoolState | None = None,
    ) -> None:
        self._store = store
        self.key = key
        self.keys = Keys(store.prefix, key)
        self.client = store.client
        self.path: Path = store.path(key)
        self._segment_size = segment_size
        self._text = text
        self._token = token
        self._state = state if state is not None else SpoolState()
        self._records = _Blocks(self, self.keys.order, FRAME.size)
        self._checkpoints = [
            _Blocks(self, self.keys.checkpoints(sid), CHECKPOINT.size) for sid in (0, 1)
        ]
        self._revoked: str | None = None
        self.marks: list[ReaderMark] = []
        """The live readers of this source (each ``follow`` in progress), for ``behind``."""

    # -- Redis from a worker thread -------------------------------------------------------------

    def call(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """``await fn(*args)`` on the event loop, from the worker thread of :meth:`run_sync`;
        Redis errors become :class:`~ccstream.SpoolError`."""
        if not in_worker():
            raise SpoolError("a Redis spool's primitives run inside Source.run_sync")
        self.check()

        async def run() -> Any:
            try:
                return await fn(*args)
            except SpoolError:
                raise
            except Exception as exc:
                raise SpoolError(f"cannot read the spool {self.key!r} from Redis: {exc}") from exc

        return anyio.from_thread.run(run)

    async def run_sync(self, fn: Callable[[], _T]) -> _T:
        self.check()

        def work() -> _T:
            _worker.active = True
            try:
                return fn()
            finally:
                _worker.active = False

        return await anyio.to_thread.run_sync(work)

    # -- the contract ---------------------------------------------------------------------------

    @property
    def segment_size(self) -> int:
        return self._segment_size

    @property
    def text(self) -> bool:
        return self._text

    def snapshot(self) -> SpoolState:
        self.check()
        if in_worker() and not self._state.complete:
            # Once complete a spool's state never changes (the contract): no need to ask again;
            # a read that finds its bytes gone then asks whether the spool still is (verify).
            self.call(self.refresh)
        return self._state

    async def refresh(self) -> SpoolState:
        """Read the state from Redis now (what :meth:`snapshot` gives outside ``run_sync``)."""
        self.check()
        try:
            token, state = await self.client.hmget(self.keys.meta, ["token", "state"])
        except Exception as exc:
            raise SpoolError(f"cannot read the spool {self.key!r} from Redis: {exc}") from exc
        if token is None or state is None:
            await self._store.gone(self.key)  # raises: lost, or removed
        assert token is not None
        assert state is not None
        text = token.decode()
        if self._token is None:
            self._token = text
        elif text != self._token:
            raise SpoolLost(
                f"the spool {self.key!r} in Redis is another one than the one read so far "
                "(made again after Redis lost the first)"
            )
        self.check()
        self._state = state_from_json(state)
        return self._state

    async def verify(self) -> None:
        """Raise :class:`~ccstream.spool.redis.SpoolLost` (or
        :class:`~ccstream.SpoolNotFound`) unless Redis still holds this very spool."""
        try:
            token = await self.client.hget(self.keys.meta, "token")
        except Exception as exc:
            raise SpoolError(f"cannot read the spool {self.key!r} from Redis: {exc}") from exc
        if token is None:
            await self._store.gone(self.key)
        elif self._token is not None and token.decode() != self._token:
            raise SpoolLost(f"the spool {self.key!r} in Redis is another one than the one read")

    def records(self, start: int, count: int) -> list[Record]:
        data = self._records.get(start, count)
        return [Record(*fields) for fields in FRAME.iter_unpack(data)]

    def checkpoint_count(self, sid: int) -> int:
        return int(self.call(self.client.strlen, self.keys.checkpoints(sid))) // CHECKPOINT.size

    def checkpoint(self, sid: int, i: int) -> Checkpoint:
        if i == 0:
            return Checkpoint(0, 0, True)  # every spool's first: no need to ask
        data = self._checkpoints[sid].get(i, 1)
        if not data:
            raise SpoolError(f"checkpoint {i} of the spool {self.key!r} is missing")
        newlines, packed = CHECKPOINT.unpack(data)
        return Checkpoint(newlines, packed >> 1, bool(packed & 1))

    def ranges(self, *, keep_open: int = 2) -> RangeReader:
        self.check()
        return _Ranges(self, 256 * 1024 if keep_open >= 4 else 64 * 1024)

    async def wait(self, records: int, poll_interval: float) -> None:
        await self._store._tailer(self.key).wait(records, poll_interval)
        # The readers look at snapshot() next, on the loop: it must be the state now.
        await self.refresh()

    def hold(self, mark: ReaderMark) -> Callable[[], None]:
        self.marks.append(mark)

        def release() -> None:
            for i, known in enumerate(self.marks):
                if known is mark:
                    del self.marks[i]
                    return

        return release

    def check(self) -> None:
        if self._revoked is not None:
            raise SpoolNotFound(self._revoked)

    def revoke(self, reason: str) -> None:
        """Cut this reader off: its next call raises :class:`~ccstream.SpoolNotFound`."""
        if self._revoked is None:
            self._revoked = reason

    def reopen(self) -> Source:
        return RedisSource(
            self._store,
            self.key,
            segment_size=self._segment_size,
            text=self._text,
            token=self._token,
            state=self._state,
        )

    def close(self) -> None:
        self._store._forget_source(self)


class LiveRedisSource(RedisSource):
    """The spool ``sink`` writes, read in its own process (see the module docstring)."""

    def __init__(self, store: RedisStore, sink: RedisSink) -> None:
        super().__init__(
            store,
            sink.key,
            segment_size=sink.options.segment_size,
            text=sink.mode != "binary",
            token=sink.token,
        )
        self._sink = sink

    def snapshot(self) -> SpoolState:
        self.check()
        return self._sink.state

    def reopen(self) -> Source:
        return LiveRedisSource(self._store, self._sink)

    def cached(self, record: int) -> tuple[int, Sequence[Output]] | None:
        self.check()
        return self._sink.cached(record)

    async def wait(self, records: int, poll_interval: float) -> None:
        sink = self._sink
        if sink.error is not None:
            await anyio.sleep(poll_interval)  # stopped early: only the end can come
        elif sink.accepting and sink.records <= records:
            await sink.wait_grown(records)
        else:
            await sink.wait_disk(_COMMIT_POLL)

    def hold(self, mark: ReaderMark) -> Callable[[], None]:
        forget = super().hold(mark)
        self._sink.add_reader(mark)

        def release() -> None:
            forget()
            self._sink.remove_reader(mark)

        return release

    def hold_for_reader(self, *, again: bool) -> Callable[[], None]:
        return self._sink.hold_for_reader(again=again)
