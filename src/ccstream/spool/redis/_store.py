"""The Redis store: spools in Redis, by key, for every process and node that shares it."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import coredis

from ...exceptions import SpoolError, SpoolNotFound
from .._base import Store
from .._quota import bytes_behind
from .._reader import Spool
from .._state import SpoolState
from ._errors import SpoolLost
from ._flight import FLIGHT_BYTES, FlightBudget
from ._layout import Keys, state_from_json, state_to_json
from ._scripts import CREATE, FENCE, FLUSH, SEAL
from ._sink import RedisSink, _translate
from ._source import LiveRedisSource, RedisSource
from ._tailer import Tailer

if TYPE_CHECKING:
    from ..._options import SpoolOptions

__all__ = ["RedisStore"]

RETENTION = 24 * 3600.0
"""Default seconds every key of an ended spool lives (the TTL given at its end)."""


@dataclass
class _Entry:
    """What this process knows of one key."""

    sink: RedisSink | None = None
    segment_size: int | None = None
    text: bool = False
    token: str | None = None
    state: SpoolState | None = None
    sources: set[RedisSource] = field(default_factory=set)
    revoked: str | None = None
    removed: bool = False


class RedisStore(Store):
    """Spools in the Redis at ``client`` under ``prefix`` (see :mod:`ccstream.spool.redis`).

    Use it as an async context manager (``async with RedisStore.from_url(url) as store``): on
    entry it connects, refuses a Redis whose ``maxmemory-policy`` is not ``noeviction``
    (:class:`~ccstream.SpoolError`) and reads the store's :attr:`epoch`; its sinks, removals
    and tailers run in its task group, so close the sinks before leaving it. ``retention``:
    seconds every key of a spool lives once its run ended (``None``: until removed).
    ``flight_bytes``: bytes of data the flush scripts of all its sinks carry at once
    (:mod:`ccstream.spool.redis._flight`); a sink whose flush waits for room holds its run back
    by its own backlog, as a slow disk does.
    """

    def __init__(
        self,
        client: coredis.Redis[bytes],
        *,
        prefix: str = "ccs",
        retention: float | None = RETENTION,
        flight_bytes: int = FLIGHT_BYTES,
    ) -> None:
        if not prefix or "{" in prefix or "}" in prefix:
            raise ValueError(f"a key prefix has no braces and is not empty, got {prefix!r}")
        self.client = client
        self.prefix = prefix
        self.retention = retention
        self.flights = FlightBudget(flight_bytes)
        """The bytes of flush scripts in flight to Redis (``used``, ``peak``)."""
        self.epoch = ""
        """The store's epoch: a token kept in Redis (``<prefix>:epoch``) and made anew when
        Redis starts without its data, so a restart that lost the spools is seen."""
        self._entries: dict[str, _Entry] = {}
        self._tailers: dict[str, Tailer] = {}
        self._tg: anyio.abc.TaskGroup | None = None
        self._create: Callable[..., Awaitable[Any]] = client.register_script(CREATE)
        self._flush: Callable[..., Awaitable[Any]] = client.register_script(FLUSH)
        self._seal: Callable[..., Awaitable[Any]] = client.register_script(SEAL)
        self._fence: Callable[..., Awaitable[Any]] = client.register_script(FENCE)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = "ccs",
        retention: float | None = RETENTION,
        flight_bytes: int = FLIGHT_BYTES,
        **client_options: Any,
    ) -> RedisStore:
        """A store on the Redis at ``url`` (``redis://HOST:PORT/DB``, ``rediss://`` for TLS,
        ``unix://PATH``); ``client_options`` go to :meth:`coredis.Redis.from_url`. Unless they
        say otherwise, a connection attempt gives up after 5 s and a reply after 30 s (then the
        command is retried, twice, and a writer that still gets no answer fails as on a full
        disk): a Redis that stopped answering never holds a run forever."""
        client_options.setdefault("connect_timeout", 5.0)
        client_options.setdefault("stream_timeout", 30.0)
        client = coredis.Redis.from_url(url, **client_options)
        return cls(client, prefix=prefix, retention=retention, flight_bytes=flight_bytes)

    # -- lifetime -------------------------------------------------------------------------------

    async def __aenter__(self) -> RedisStore:
        await self.client.__aenter__()
        try:
            await self._check_policy()
            key = f"{self.prefix}:epoch"
            await self.client.set(key, uuid.uuid4().hex, condition=coredis.PureToken.NX)
            epoch = await self.client.get(key)
            if epoch is None:
                raise SpoolError(f"the store's epoch {key!r} is not in Redis")
            self.epoch = epoch.decode()
            tg = anyio.create_task_group()
            await tg.__aenter__()
            self._tg = tg
        except BaseException:
            await self.client.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Our task groups get no exception: the caller's own propagates as it is, not wrapped.
        tg, self._tg = self._tg, None
        try:
            if tg is not None:
                tg.cancel_scope.cancel()
                await tg.__aexit__(None, None, None)
        finally:
            await self.client.__aexit__(None, None, None)

    async def _check_policy(self) -> None:
        try:
            info = await self.client.info("memory")
        except Exception as exc:
            raise SpoolError(f"cannot reach Redis: {exc}") from exc
        policy = info.get("maxmemory_policy")
        if isinstance(policy, bytes):
            policy = policy.decode()
        if policy != "noeviction":
            raise SpoolError(
                f"Redis evicts keys (maxmemory-policy {policy}): a spool there could lose "
                "output without a word; set maxmemory-policy noeviction"
            )

    def _start_soon(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> None:
        if self._tg is None:
            raise SpoolError("the Redis store is not open: use it as 'async with store'")
        self._tg.start_soon(fn, *args)

    async def ping(self) -> float:
        """Seconds one ``PING`` took; :class:`~ccstream.SpoolError` when Redis does not answer
        (a health check)."""
        started = time.monotonic()
        try:
            await self.client.ping()
        except Exception as exc:
            raise SpoolError(f"Redis does not answer: {exc}") from exc
        return time.monotonic() - started

    async def check_epoch(self) -> None:
        """Raise :class:`~ccstream.spool.redis.SpoolLost` when Redis lost its data since this
        store opened (its epoch is not :attr:`epoch` any more)."""
        try:
            epoch = await self.client.get(f"{self.prefix}:epoch")
        except Exception as exc:
            raise SpoolError(f"Redis does not answer: {exc}") from exc
        if epoch is None or epoch.decode() != self.epoch:
            raise SpoolLost(
                f"Redis lost its data: the store's epoch is {_text(epoch)}, was {self.epoch} "
                "(Redis restarted without it); the spools written before are gone"
            )

    async def gone(self, key: str) -> None:
        """Raise what a missing spool ``key`` means: :class:`~ccstream.spool.redis.SpoolLost`
        when Redis lost it (the epoch changed, or this process saw it and did not remove
        it), :class:`~ccstream.SpoolNotFound` otherwise."""
        await self.check_epoch()
        entry = self._entries.get(key)
        if entry is not None and entry.revoked is not None:
            raise SpoolNotFound(entry.revoked)
        if entry is not None and entry.token is not None and not entry.removed:
            raise SpoolLost(f"the spool {key!r} is not in Redis any more (it was not removed)")
        raise SpoolNotFound(f"no spool for {key!r} in Redis")

    # -- making and finding ---------------------------------------------------------------------

    def path(self, key: str) -> Path:
        """Where ``key``'s spool lives: its keys' common name, ``<prefix>:{<key>}``."""
        return Path(f"{self.prefix}:{{{key}}}")

    def _check_key(self, key: str) -> None:
        if not key or "{" in key or "}" in key or "/" in key:
            raise ValueError(f"a spool key has no braces or slashes and is not empty: {key!r}")

    def create(
        self, key: str, options: SpoolOptions, *, argv: Sequence[str] = (), mode: str = "binary"
    ) -> RedisSink:
        self._check_key(key)
        entry = self._entries.get(key)
        if entry is not None and entry.sink is not None and not entry.removed:
            raise SpoolError(f"a spool for {key!r} is being written by this process already")
        sink = RedisSink(self, key, options, argv=argv, mode=mode)
        self._entries[key] = _Entry(
            sink=sink, segment_size=options.segment_size, text=mode != "binary", token=sink.token
        )
        return sink

    async def ready(self, key: str) -> None:
        """Return once the spool this process writes for ``key`` exists in Redis, so that a
        reader on any node can open it (publish an execution after this); nothing to wait for
        when this process does not write it. :class:`~ccstream.SpoolError` if it could not be
        made."""
        entry = self._entries.get(key)
        if entry is not None and entry.sink is not None:
            await entry.sink.ready()

    def open(self, key: str) -> Spool:
        """The reader of ``key``'s spool, for a spool this store writes or has opened before
        (:meth:`aopen` opens any: it asks Redis, which this call cannot without waiting)."""
        entry = self._entries.get(key)
        if entry is None or entry.segment_size is None:
            raise SpoolError(
                f"the spool {key!r} is not known here yet: open it with 'await store.aopen(key)'"
            )
        return self._reader(key, entry)

    async def aopen(self, key: str) -> Spool:
        self._check_key(key)
        entry = self._entries.get(key)
        if entry is not None and entry.revoked is not None:
            raise SpoolNotFound(entry.revoked)
        if entry is not None and entry.sink is not None and not entry.removed:
            if entry.sink.closed:
                # Its writer is done here, so Redis alone holds it now: is it still there?
                meta = await self._meta(key)
                if meta[0] != entry.sink.token:
                    raise SpoolLost(f"the spool {key!r} in Redis is another one than written")
            return self._reader(key, entry)
        meta = await self._meta(key)
        if entry is None or entry.removed:
            entry = self._entries[key] = _Entry()
        entry.token, entry.segment_size, entry.text, entry.state = meta
        return self._reader(key, entry)

    async def _meta(self, key: str) -> tuple[str, int, bool, SpoolState]:
        fields = ["token", "segment_size", "mode", "state"]
        try:
            token, size, mode, state = await self.client.hmget(Keys(self.prefix, key).meta, fields)
        except Exception as exc:
            raise SpoolError(f"cannot read the spool {key!r} from Redis: {exc}") from exc
        if token is None or size is None or state is None:
            await self.gone(key)
        assert token is not None
        assert size is not None
        assert state is not None
        return token.decode(), int(size), mode != b"binary", state_from_json(state)

    def _reader(self, key: str, entry: _Entry) -> Spool:
        if entry.revoked is not None:
            raise SpoolNotFound(entry.revoked)
        if entry.removed:
            raise SpoolNotFound(f"the spool {key!r} was removed")
        source: RedisSource
        if entry.sink is not None:
            source = LiveRedisSource(self, entry.sink)
        else:
            assert entry.segment_size is not None
            source = RedisSource(
                self,
                key,
                segment_size=entry.segment_size,
                text=entry.text,
                token=entry.token,
                state=entry.state,
            )
        entry.sources.add(source)
        return Spool(source)

    def _forget_source(self, source: RedisSource) -> None:
        entry = self._entries.get(source.key)
        if entry is not None:
            entry.sources.discard(source)
            if not source.marks and entry.sink is None:
                entry.state = source._state

    def _tailer(self, key: str) -> Tailer:
        tailer = self._tailers.get(key)
        if tailer is None:
            tailer = self._tailers[key] = Tailer(self, key)
        return tailer

    def state(self, key: str) -> SpoolState:
        """The state of ``key``'s spool as this process knows it (written here: now; else as
        last read); :meth:`astate` asks Redis."""
        entry = self._entries.get(key)
        if entry is not None and entry.revoked is not None:
            raise SpoolNotFound(entry.revoked)
        if entry is None or entry.removed:
            raise SpoolNotFound(f"no spool for {key!r} known here: use 'await store.astate(key)'")
        if entry.sink is not None:
            return entry.sink.state
        for source in entry.sources:
            return source._state
        if entry.state is None:
            raise SpoolNotFound(f"no state of {key!r} known here: use 'await store.astate(key)'")
        return entry.state

    async def astate(self, key: str) -> SpoolState:
        entry = self._entries.get(key)
        if entry is not None and entry.revoked is not None:
            raise SpoolNotFound(entry.revoked)
        if entry is not None and entry.sink is not None and not entry.removed:
            return entry.sink.state
        _token, _size, _text, state = await self._meta(key)
        return state

    def behind(self, key: str) -> list[int]:
        entry = self._entries.get(key)
        if entry is None or entry.revoked is not None:
            return []
        marks = [mark for source in entry.sources for mark in source.marks]
        if not marks:
            return []
        return bytes_behind(self.state(key).sizes, marks)

    def hold_for_reader(self, key: str, *, again: bool) -> Callable[[], None]:
        """Keep the quota of ``key`` (written here) for a reader to come (see
        :meth:`Sink.hold_for_reader <ccstream.spool.Sink.hold_for_reader>`)."""
        entry = self._entries.get(key)
        if entry is None or entry.sink is None:
            return _nothing
        return entry.sink.hold_for_reader(again=again)

    # -- taking over ----------------------------------------------------------------------------

    async def fence(self, key: str) -> int:
        """Raise the epoch of ``key``'s spool and return it: its writer (wherever it runs) is
        refused from its next flush on (:class:`~ccstream.spool.redis.SpoolFenced`)."""
        try:
            return int(await self._fence(keys=Keys(self.prefix, key).all(), args=[]))
        except Exception as exc:
            if "CCSLOST" in str(exc):
                await self.gone(key)
            raise _translate(exc, f"cannot fence the spool {key!r}") from exc

    async def finalize(
        self,
        key: str,
        *,
        reason: str,
        returncode: int | None = None,
        error: str | None = None,
    ) -> SpoolState:
        """End ``key``'s spool for a writer that is gone (a lost node): fence the writer off,
        record the run's end (``reason``, ``returncode``, ``error``) and give every key the
        retention TTL. Returns the final state; a spool that ended already keeps its end."""
        epoch = await self.fence(key)
        _token, _size, _text, state = await self._meta(key)
        if state.complete:
            return state
        final = replace(
            state, complete=True, reason=reason, returncode=returncode, error=error or state.error
        )
        seconds = 0 if self.retention is None else max(1, round(self.retention))
        args = [str(epoch), state_to_json(final), str(final.records), repr(time.time())]
        try:
            await self._seal(keys=Keys(self.prefix, key).all(), args=[*args, str(seconds)])
        except Exception as exc:
            raise _translate(exc, f"cannot finalize the spool {key!r}") from exc
        return final

    # -- removing -------------------------------------------------------------------------------

    def revoke(self, key: str, reason: str) -> None:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
        if entry.revoked is None:
            entry.revoked = reason
        for source in list(entry.sources):
            source.revoke(entry.revoked)
        entry.sources.clear()

    async def remove(self, key: str, reason: str | None = None) -> bool:
        self.revoke(key, reason or f"the spool {key!r} was removed")
        entry = self._entries[key]
        with anyio.CancelScope(shield=True):
            sink = entry.sink
            if sink is not None:
                sink._flusher.removed = True
                await sink._flusher.finish()  # nothing of it may land after the delete
                if sink.accepting:
                    # Still being written: it stops as on a failed disk, and says why.
                    sink._flusher._fail(SpoolError(f"the spool {key!r} was removed"))
            try:
                deleted = await self.client.delete(Keys(self.prefix, key).all())
            except Exception as exc:
                raise SpoolError(f"cannot remove the spool {key!r} from Redis: {exc}") from exc
        entry.sink = None
        entry.removed = True
        self._tailers.pop(key, None)
        return bool(deleted)

    def removed(self, key: str) -> bool:
        entry = self._entries.get(key)
        return entry is not None and entry.removed

    def forget(self, key: str) -> None:
        """Drop what this process remembers of ``key`` (after :meth:`remove`)."""
        self._entries.pop(key, None)
        self._tailers.pop(key, None)

    def keys(self) -> list[str]:
        """The keys this process writes or has opened (:meth:`akeys`: all of them in Redis)."""
        return sorted(key for key, entry in self._entries.items() if not entry.removed)

    async def akeys(self) -> list[str]:
        """The keys of every spool under this store's prefix in Redis, sorted."""
        found: set[str] = set()
        head = f"{self.prefix}:{{"
        async for name in self.client.scan_iter(match=f"{self.prefix}:{{*}}:meta", count=1000):
            text = name.decode()
            found.add(text[len(head) : text.rindex("}")])
        return sorted(found)

    async def usage(self, key: str) -> int:
        """Bytes of Redis memory ``key``'s spool takes now (``MEMORY USAGE`` of each key)."""
        total = 0
        for name in Keys(self.prefix, key).all():
            with contextlib.suppress(Exception):
                total += int(await self.client.memory_usage(name) or 0)
        return total

    async def prune(self, older_than: float) -> list[str]:
        """Remove the spools under this prefix whose run ended more than ``older_than``
        seconds ago (the retention TTL removes them anyway); never one still written."""
        now = time.time()
        pruned = []
        for key in await self.akeys():
            ended = await self.client.hget(Keys(self.prefix, key).meta, "ended_at")
            if ended is not None and now - float(ended) > older_than:
                await self.remove(key)
                pruned.append(key)
        return pruned


def _text(value: bytes | None) -> str:
    return "missing" if value is None else value.decode()


def _nothing() -> None:
    return None
