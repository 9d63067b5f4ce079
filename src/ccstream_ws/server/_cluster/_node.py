"""This node among the others on one Redis: the shared registry, leases and the finaliser.

What this node does in the background while the app runs (:meth:`RedisPeers.hosting`):

- its heartbeat (``ccs:node:{NODE}``, renewed and expiring as a lease does), and the epoch check:
  a Redis that lost its data has no epoch, or another one (``STORE_LOST`` for every id of the
  old one);
- every quarter of ``lease``, the lease of each of its running executions, with their progress
  (bytes and lines read, bytes stored); a lease it no longer holds (it ran out and another node
  finalised the execution) stops the run: its output has nowhere to go;
- every fifth of ``lease``, the running executions of other nodes whose lease ran out and whose
  node's heartbeat is gone (or is another process's: a node restarted under the same name): the
  first node to find one finalises it (:data:`~._scripts.FINALISE`, one script) as
  ``node_lost``. A node whose heartbeat is there is only late (a busy Redis or node): it takes
  its lapsed leases again;
- its command queue (:mod:`._commands`);
- one follower per execution of another node that its connections read
  (:meth:`RedisPeers.follow`): control notices and the end, as they come.

So a running execution is finalised within ``lease`` seconds of its node's last renewal (three
quarters for the lease to run out, a fifth for a node to look), never as a success.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import coredis

from ccstream import CCStreamError
from ccstream.spool.redis import RedisStore

from ...exceptions import ConfigError, RPCError
from ...protocol._codes import ErrorCode
from .._layers import redact_url
from .._peers import CommandHandler, Peers
from . import _keys as keys
from . import _scripts as scripts
from ._commands import REDIS_ERRORS, send_command, serve_commands
from ._record import Record, progress_fields
from ._remote import RemoteExecution

if TYPE_CHECKING:
    from .._config import ServerConfig
    from .._execution import Execution

__all__ = ["RedisPeers", "default_node_id"]

log = logging.getLogger("ccstream_ws")

_UNUSED = 30.0
"""Seconds a follower of another node's execution lasts with no reader on this node."""
_SPOOL_MADE = 2.0
"""Seconds a new execution waits for its spool to be in Redis before it is published."""
_MAX_CONNECTIONS = 1024
"""Connections to Redis at most: each follower and each command waits on one of its own."""


def default_node_id() -> str:
    """Host name, pid and a random suffix: unique per process."""
    host = socket.gethostname().split(".")[0] or "node"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


class RedisPeers(Peers):
    """The other nodes on the Redis of ``config.redis``; see the module docstring.

    ``store`` is the shared spool store (every node's readers open an execution's spool from it
    by id; entered and left with :meth:`hosting`); ``local`` gives this node's executions (the
    registry's)."""

    def __init__(
        self, config: ServerConfig, store: RedisStore, local: Callable[[], Iterable[Execution]]
    ) -> None:
        assert config.redis is not None
        self.config = config
        self.store = store
        self._local = local
        self.name: str = config.node_id or default_node_id()
        """This node's name."""
        self.node = self.name
        self.url = config.redis
        self.epoch: str | None = None
        self.lease_ms = max(1, int(config.lease * 1000 * 3 / 4))
        """The lease key's time to live: three quarters of ``lease``, renewed every quarter."""
        self._client: coredis.Redis[str] = coredis.Redis.from_url(
            config.redis,
            decode_responses=True,
            max_connections=_MAX_CONNECTIONS,
            connect_timeout=min(2.0, config.lease),
        )
        self._remote: dict[str, RemoteExecution] = {}
        self._group: anyio.abc.TaskGroup | None = None
        self._connected = False
        self._error: str | None = None
        self._latency: float | None = None
        self._lost_epochs: list[str] = []
        self._finalised = 0
        self._published: set[str] = set()
        """This node's executions whose record is in Redis (the others are not renewed yet)."""
        self._token = secrets.token_hex(8)
        """This process among the nodes: a node restarted under the same name has another."""
        self._renew = self._client.register_script(scripts.RENEW)
        self._end = self._client.register_script(scripts.END)
        self._finalise = self._client.register_script(scripts.FINALISE)

    # -- the lifespan -------------------------------------------------------------------------

    @asynccontextmanager
    async def hosting(self, handler: CommandHandler) -> AsyncIterator[None]:
        """Connect (:class:`~ccstream_ws.ConfigError` when Redis is unreachable: the server
        does not start), then run the node's background work until the app ends."""
        try:
            # Not under a timeout scope: the store opens a task group of its own here (the
            # connection has its own timeout).
            await self.store.__aenter__()
        except (*REDIS_ERRORS, CCStreamError) as exc:
            text = f"cannot use Redis at {redact_url(self.url)}: {exc}"
            log.error("%s", text)
            raise ConfigError(text) from None
        try:
            async with self._client:
                try:
                    with anyio.fail_after(max(2.0, self.config.lease)):
                        await self._beat()
                except REDIS_ERRORS as exc:
                    text = f"cannot reach Redis at {redact_url(self.url)}: {exc}"
                    log.error("%s", text)
                    raise ConfigError(text) from None
                async with self._background(handler):
                    yield
        finally:
            # Left where it was entered (its task group's scope must be the current one).
            await self.store.__aexit__(None, None, None)

    @asynccontextmanager
    async def _background(self, handler: CommandHandler) -> AsyncIterator[None]:
        log.info(
            "node %s: on Redis %s (epoch %s), lease %.3g s",
            self.name,
            redact_url(self.url),
            self.epoch,
            self.config.lease,
        )
        async with anyio.create_task_group() as group:
            self._group = group
            group.start_soon(self._every, self.config.lease / 4, self._beat, "heartbeat")
            group.start_soon(self._every, self.config.lease / 4, self._renew_all, "leases")
            group.start_soon(self._every, self.config.lease / 5, self._sweep, "finaliser")
            group.start_soon(serve_commands, self._client, self.name, handler)
            try:
                yield
            finally:
                self._group = None
                group.cancel_scope.cancel()
                with anyio.CancelScope(shield=True), anyio.move_on_after(1.0):
                    await self._client.delete([keys.node_key(self.name)])

    async def _every(self, interval: float, step: Callable[[], Any], what: str) -> None:
        failing = False
        while True:
            try:
                await step()
                if failing:
                    log.info("node %s: %s: Redis is back", self.name, what)
                failing = False
            except REDIS_ERRORS as exc:
                self._connected, self._error = False, str(exc) or type(exc).__name__
                if not failing:
                    log.warning("node %s: %s: Redis unreachable: %s", self.name, what, exc)
                failing = True
            await anyio.sleep(interval)

    async def _beat(self) -> None:
        began = time.monotonic()
        value = json.dumps({"token": self._token, "pid": os.getpid(), "host": socket.gethostname()})
        # As long as a lease: a dead node's executions are finalised within ``lease``.
        await self._client.set(keys.node_key(self.name), value, px=self.lease_ms)
        await self._check_epoch()
        self._latency = time.monotonic() - began
        self._connected, self._error = True, None

    async def _check_epoch(self) -> str:
        current = await self._client.get(keys.EPOCH)
        if current is None:
            await self._client.set(keys.EPOCH, keys.new_epoch(), condition=coredis.PureToken.NX)
            current = await self._client.get(keys.EPOCH)
            assert current is not None
        if current != self.epoch:
            if self.epoch is not None:
                log.error(
                    "node %s: Redis lost its data (epoch %s, now %s): the executions made "
                    "before are gone",
                    self.name,
                    self.epoch,
                    current,
                )
                self._lost_epochs.append(keys.tag(self.epoch))
            self.epoch = current
        return current

    # -- this node's executions -----------------------------------------------------------

    def new_id(self) -> str:
        """An id of the current epoch (:func:`._keys.new_id`)."""
        assert self.epoch is not None, "the app's lifespan connects to Redis first"
        return keys.new_id(self.epoch)

    async def started(self, execution: Execution) -> None:
        fields = {
            "node": self.name,
            "token": self._token,
            "epoch": self.epoch or "",
            "state": "running",
            "pid": str(execution.pid),
            "argv": json.dumps(execution.argv_on_wire()),
            "detached": "1" if execution.detached else "0",
            "stdin": "1" if execution.stdin is not None else "0",
            "started_at": repr(execution.started_at),
            **progress_fields(((0, 0), (0, 0)), (0, 0), False),
        }
        eid = execution.id
        await self._spool_made(eid)
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hset(keys.exec_key(eid), fields)
                pipe.set(keys.lease_key(eid), self.name, px=self.lease_ms)
                pipe.sadd(keys.RUNNING, [eid])
            self._published.add(eid)
        except REDIS_ERRORS as exc:
            # Readers on this node still read it; other nodes cannot find it, and told so.
            log.error("node %s: could not publish execution %s: %s", self.name, eid, exc)

    async def _spool_made(self, eid: str) -> None:
        """Wait (a moment at most) until the run's spool is in Redis, so that a node that finds
        the execution finds its spool too (the store makes it from a task of its own)."""
        with anyio.move_on_after(_SPOOL_MADE):
            try:
                await self.store.ready(eid)
            except CCStreamError as exc:
                log.warning("node %s: the spool of %s is not in Redis: %s", self.name, eid, exc)
            return
        log.warning("node %s: the spool of %s is not in Redis yet", self.name, eid)

    async def noticed(self, execution: Execution, message: str, paused: bool) -> None:
        try:
            await self._client.xadd(
                keys.events_key(execution.id),
                {"kind": "notice", "message": message},
                trim_strategy=coredis.PureToken.MAXLEN,
                threshold=scripts.EVENTS_KEPT,
                trim_operator=coredis.PureToken.APPROXIMATELY,
            )
            await self._client.hset(keys.exec_key(execution.id), {"paused": "1" if paused else "0"})
        except REDIS_ERRORS as exc:
            log.warning(
                "node %s: a notice of %s did not reach the other nodes: %s",
                self.name,
                execution.id,
                exc,
            )

    async def ended(self, execution: Execution) -> None:
        eid = execution.id
        result = execution.completion()
        # Shielded: a run cancelled at shutdown still tells the other nodes how it ended.
        with anyio.CancelScope(shield=True), anyio.move_on_after(max(1.0, self.config.lease)):
            try:
                await self._progress(execution)
                done: Any = await self._end(
                    keys=[keys.lease_key(eid), keys.exec_key(eid), keys.events_key(eid)],
                    args=[self.name, json.dumps(result), repr(time.time()), self._ttl(execution)],
                )
                await self._client.srem(keys.RUNNING, [eid])
            except REDIS_ERRORS as exc:
                log.error("node %s: could not record the end of %s: %s", self.name, eid, exc)
                return
            if not done:
                log.warning(
                    "node %s: execution %s ended here after %s",
                    self.name,
                    eid,
                    self._why_lost(eid),
                )

    async def released(self, execution: Execution) -> None:
        eid = execution.id
        self._published.discard(eid)
        with anyio.CancelScope(shield=True), anyio.move_on_after(1.0):
            try:
                await self._client.delete(
                    [keys.exec_key(eid), keys.events_key(eid), keys.lease_key(eid)]
                )
                await self._client.srem(keys.RUNNING, [eid])
            except REDIS_ERRORS as exc:
                log.warning("node %s: could not drop %s from Redis: %s", self.name, eid, exc)

    def _ttl(self, execution: Execution) -> int:
        """Milliseconds an ended execution's record outlives its node's last word."""
        return int((execution.retention + self.config.lease) * 1000)

    async def _progress(self, execution: Execution) -> bool:
        run = execution.run
        if run is None:
            return True
        out, err = run.stats("stdout"), run.stats("stderr")
        state = execution.spool_state()
        stored = (state.sizes[0], state.sizes[1]) if state is not None else (0, 0)
        fields = progress_fields(
            ((out.bytes, out.lines or 0), (err.bytes, err.lines or 0)), stored, execution.paused
        )
        flat = [v for pair in fields.items() for v in pair]
        held: Any = await self._renew(
            keys=[keys.lease_key(execution.id), keys.exec_key(execution.id)],
            args=[self.name, self.lease_ms, self._token, *flat],
        )
        return bool(held)

    def _why_lost(self, execution_id: str) -> str:
        if self.epoch is not None and keys.epoch_of(execution_id) != keys.tag(self.epoch):
            return "Redis lost its data (its epoch changed)"
        return "another node finalised it as node_lost (its lease ran out)"

    async def _renew_all(self) -> None:
        await self._check_epoch()
        # All at once (a round trip in all, not one per execution): a busy Redis answers late.
        async with anyio.create_task_group() as group:
            for execution in self._local():
                group.start_soon(self._renew_one, execution)

    async def _renew_one(self, execution: Execution) -> None:
        if execution.id not in self._published:
            return  # not in Redis yet (its spool is being made), or gone from it
        if execution.state != "running":
            if execution.state == "ended" and execution.result is not None:
                ttl = self._ttl(execution)
                await self._client.pexpire(keys.exec_key(execution.id), ttl)
                await self._client.pexpire(keys.events_key(execution.id), ttl)
            return
        if not await self._progress(execution) and execution.state == "running":
            log.error(
                "node %s: lost the lease on %s: %s; stopping the run, its output has nowhere to go",
                self.name,
                execution.id,
                self._why_lost(execution.id),
            )
            execution.cancel()

    # -- other nodes' executions ----------------------------------------------------------

    def check(self, execution_id: str) -> None:
        epoch = keys.epoch_of(execution_id)
        if epoch is None or self.epoch is None:
            return
        current = keys.tag(self.epoch)
        if epoch != current:
            raise RPCError(
                ErrorCode.STORE_LOST,
                f"execution {execution_id!r} was made in Redis epoch {epoch}, and Redis is at "
                f"epoch {current} now: it lost its data (restarted empty), and the "
                "execution and its output with it",
                {"reason": "epoch", "epoch": epoch, "current": current},
            )

    async def find(self, execution_id: str) -> RemoteExecution | None:
        known = self._remote.get(execution_id)
        if known is not None:
            return known
        try:
            await self._check_epoch()
            self.check(execution_id)
            last = await self._client.xrevrange(keys.events_key(execution_id), count=1)
            fields = await self._client.hgetall(keys.exec_key(execution_id))
        except REDIS_ERRORS as exc:
            raise RPCError(
                ErrorCode.OUTPUT_UNAVAILABLE,
                f"Redis is unreachable: {exc}",
                {"reason": "redis"},
            ) from None
        if not fields:
            return None
        known = self._remote.get(execution_id)  # found meanwhile by another connection
        if known is not None:
            return known
        remote = RemoteExecution(
            execution_id,
            Record(dict(fields)),
            self.store,
            str(last[0].identifier) if last else "0-0",
        )
        self._remote[execution_id] = remote
        if self._group is not None:
            self._group.start_soon(self.follow, remote)
        return remote

    async def follow(self, remote: RemoteExecution) -> None:
        """Follow another node's execution: its notices and its end as they come; finalise it
        when its lease ran out; stop once it ended or nobody here read it for a while."""
        eid = remote.id
        block = max(1, int(self.config.lease * 1000 / 5))
        quiet = 0
        try:
            while not remote.ended.is_set() or remote.readers:
                if remote.readers == 0 and time.monotonic() - remote.used_at > _UNUSED:
                    return
                if remote.ended.is_set():
                    await anyio.sleep(1.0)  # ended: kept while read, nothing more to hear
                    continue
                try:
                    got = await self._client.xread(
                        {keys.events_key(eid): remote.last_event}, count=64, block=block
                    )
                    entries = got.get(keys.events_key(eid), ()) if got else ()
                    if not entries:
                        quiet += 1
                        await self._quiet(remote, quiet)
                        continue
                    quiet = 0
                    ended = False
                    for entry in entries:
                        remote.last_event = str(entry.identifier)
                        values = entry.field_values
                        if values.get("kind") == "notice":
                            remote.notify(str(values.get("message", "")))
                        elif values.get("kind") == "ended":
                            ended = True
                    if ended:
                        fields = await self._client.hgetall(keys.exec_key(eid))
                        remote.update(Record(dict(fields or remote.record.fields)))
                        if remote.running:  # gone meanwhile: it ended, how is not known
                            remote.update(Record({**remote.record.fields, "state": "gone"}))
                except REDIS_ERRORS as exc:
                    log.warning("node %s: following %s: %s", self.name, eid, exc)
                    await anyio.sleep(self.config.lease / 5)
        finally:
            if self._remote.get(eid) is remote:
                del self._remote[eid]

    async def _quiet(self, remote: RemoteExecution, quiet: int) -> None:
        """Nothing new in ``remote``'s events: finalise it if its lease ran out, and take its
        record's progress. Its end is taken from the events, which come in order after its
        notices; only a record that says ended twice with no event (its events gone) or is gone
        itself ends it here."""
        await self._finalise_lapsed(remote.id)
        fields = await self._client.hgetall(keys.exec_key(remote.id))
        if not fields:
            remote.update(Record({**remote.record.fields, "state": "gone"}))
            return
        record = Record(dict(fields))
        if record.running or quiet > 1:
            remote.update(record)

    async def _alive(self, node: str, token: str | None) -> bool:
        """True while ``node``'s heartbeat is there and says it is the process ``token``."""
        beat = await self._client.get(keys.node_key(node))
        if beat is None:
            return False
        try:
            return token is None or json.loads(beat).get("token") == token
        except (ValueError, AttributeError):
            return False

    async def _finalise_lapsed(self, eid: str) -> bool:
        node, token = await self._client.hmget(keys.exec_key(eid), ["node", "token"])
        if node is not None and await self._alive(node, token):
            # Its node is alive and only late to renew (a busy Redis or node): not lost.
            return False
        done: Any = await self._finalise(
            keys=[keys.lease_key(eid), keys.exec_key(eid), keys.events_key(eid)],
            args=[self.name, repr(time.time()), int(self.config.max_retention * 1000)],
        )
        if done == -1:
            await self._client.srem(keys.RUNNING, [eid])
        if done != 1:
            return False
        await self._client.srem(keys.RUNNING, [eid])
        self._finalised += 1
        fields = await self._client.hgetall(keys.exec_key(eid))
        log.warning(
            "node %s: finalised execution %s of node %s as node_lost (its lease ran out)",
            self.name,
            eid,
            fields.get("node"),
        )
        try:
            # Its writer is fenced off and its spool ends: every follower of it ends too.
            await self.store.finalize(eid, reason="node_lost")
        except CCStreamError as exc:
            log.warning("node %s: could not end the spool of %s: %s", self.name, eid, exc)
        return True

    async def _sweep(self) -> None:
        mine = {e.id for e in self._local()}
        for eid in await self._client.smembers(keys.RUNNING):
            if eid not in mine:
                await self._finalise_lapsed(eid)

    async def command(
        self, execution: RemoteExecution, kind: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        return await send_command(
            self._client, execution.node, kind, execution.id, params, self.config.command_timeout
        )

    # -- health ---------------------------------------------------------------------------

    def health(self) -> dict[str, Any] | None:
        return {
            "node": self.name,
            "lease": self.config.lease,
            "redis": {
                "url": redact_url(self.url),
                "connected": self._connected,
                "error": self._error,
                "latency": self._latency,
                "epoch": None if self.epoch is None else keys.tag(self.epoch),
                "lost_epochs": list(self._lost_epochs),
            },
            "following": len(self._remote),
            "finalised": self._finalised,
        }

    def problem(self) -> str | None:
        if self._connected:
            return None
        return f"Redis at {redact_url(self.url)} is unreachable: {self._error}"
