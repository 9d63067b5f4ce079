"""All executions of one app, the limits on them, and where their tasks live."""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import secrets
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import anyio.to_thread

import ccstream
from ccstream.spool import LocalStore

from ..exceptions import ConfigError, RPCError
from ..protocol._codes import ErrorCode
from . import _actions
from ._cluster import RemoteExecution
from ._config import ServerConfig
from ._execution import Execution
from ._metrics import Metrics
from ._peers import Alone, Peers
from ._spool_budget import SpoolBudget

if TYPE_CHECKING:
    from ccstream.spool.redis import RedisStore

__all__ = ["AnyExecution", "Registry"]

AnyExecution = Execution | RemoteExecution
"""An execution of this node, or of another node on the same Redis."""

log = logging.getLogger("ccstream_ws")


def new_id() -> str:
    """An execution id: 128 random bits, so knowing one is as good as having been told it."""
    return secrets.token_hex(16)


class Registry:
    """The executions of one app, by id. ``host`` is the server-wide task group the lifespan
    opened; without one, runs live in the task group of the connection that started them."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.host: anyio.abc.TaskGroup | None = None
        self.connections = 0
        self.closing = False
        """The app is shutting down: no new executions."""
        self.started_at = time.time()
        self._executions: dict[str, Execution] = {}
        self.store: LocalStore | RedisStore = LocalStore(config.spool_directory)
        """Every execution's spool, by execution id (in Redis with ``--redis``)."""
        self.spool_budget = SpoolBudget(config, self._executions)
        """The spool budget over these executions (:mod:`ccstream_ws.server._spool_budget`)."""
        self.metrics = Metrics(self)
        """The app's ``/metrics``; executions report their end to it."""
        self.peers: Peers = Alone()
        """The other nodes on the same Redis (:mod:`ccstream_ws.server._peers`)."""
        if config.redis is not None:
            # Needs the [redis] extra; the store and the peers are entered in the lifespan.
            try:
                from ccstream.spool.redis import RedisStore

                from ._cluster._node import RedisPeers
            except ImportError as exc:
                raise ConfigError(
                    f"--redis needs the [redis] extra: pip install 'ccstream[redis]' ({exc})"
                ) from None

            store = RedisStore.from_url(
                config.redis,
                # An ended execution is kept at most this long (by its node, or after it).
                retention=config.max_retention + config.lease,
                max_connections=1024,
            )
            self.store = store
            self.peers = RedisPeers(config, store, lambda: list(self._executions.values()))

    def __iter__(self) -> Iterator[Execution]:
        return iter(list(self._executions.values()))

    def get(self, execution_id: str) -> Execution:
        """The execution; ``OUTPUT_UNAVAILABLE`` (``data.reason`` ``"spool_budget"``) if the
        budget evicted it, else ``EXECUTION_NOT_FOUND``."""
        execution = self._executions.get(execution_id)
        if execution is None:
            evicted = self.spool_budget.evicted(execution_id)
            if evicted is not None:
                raise evicted
            raise RPCError(
                ErrorCode.EXECUTION_NOT_FOUND,
                f"no execution {execution_id!r} (never started here, or expired)",
            )
        return execution

    def new_execution_id(self) -> str:
        """An id for a new execution (:meth:`Peers.new_id`)."""
        return self.peers.new_id()

    async def find(self, execution_id: str) -> AnyExecution:
        """The execution of this node or of another one (:meth:`Peers.find`); the errors of
        :meth:`get`, and ``STORE_LOST`` for an id that Redis lost (:meth:`Peers.check`)."""
        self.peers.check(execution_id)
        execution = self._executions.get(execution_id)
        if execution is not None:
            return execution
        if self.spool_budget.evicted(execution_id) is None:
            remote = await self.peers.find(execution_id)
            if remote is not None:
                return remote
        return self.get(execution_id)

    async def control(self, execution: AnyExecution, kind: str) -> tuple[str, str | None]:
        """Pause, resume or cancel (``kind``: ``PAUSE``, ``RESUME``, ``CANCEL``) here or on the
        execution's node; its ``status`` and, for one of this node, the notice to publish
        (:meth:`publish`) once the caller answered."""
        if isinstance(execution, RemoteExecution):
            if not execution.running:
                raise RPCError(ErrorCode.INVALID_STATE, f"execution {execution.id} already ended")
            answer = await self.peers.command(execution, "control", {"type": kind})
            return str(answer.get("status")), None
        status = _actions.CONTROL_STATUS[kind]
        _actions.check_running(execution)
        await self.peers.noticed(
            execution, _actions.notice(execution.id, execution.pid, status), kind == "PAUSE"
        )
        return status, _actions.control(execution, kind)

    async def publish(self, execution: AnyExecution, message: str) -> None:
        """Tell every reader of this node's ``execution`` here a notice (:meth:`control` told
        the other nodes' already)."""
        if isinstance(execution, Execution):
            execution.notify(message)

    async def stdin(self, execution: AnyExecution, data: bytes, eof: bool) -> dict[str, Any]:
        """Feed the child's stdin, here or on the execution's node (:func:`_actions.feed_stdin`)."""
        if isinstance(execution, RemoteExecution):
            if not execution.has_stdin:
                raise RPCError(
                    ErrorCode.INVALID_STATE,
                    "stdin is not open: start the execution with stdin: true",
                )
            params = {"data": base64.b64encode(data).decode("ascii"), "eof": eof}
            return await self.peers.command(execution, "stdin", params)
        return _actions.feed_stdin(execution, data, eof)

    async def resize(self, execution: AnyExecution, rows: int, cols: int) -> dict[str, Any]:
        """Set the terminal size of the child, here or on the execution's node
        (:func:`_actions.resize`)."""
        if isinstance(execution, RemoteExecution):
            return await self.peers.command(execution, "resize", {"rows": rows, "cols": cols})
        return _actions.resize(execution, rows, cols)

    async def command(self, kind: str, execution_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run a command another node sent for an execution of this one."""
        execution = self._executions.get(execution_id)
        if execution is None:
            raise RPCError(
                ErrorCode.EXECUTION_NOT_FOUND,
                f"no execution {execution_id!r} on node {self.peers.node}",
            )
        if kind == "control" and params.get("type") in _actions.CONTROL_STATUS:
            status, message = await self.control(execution, str(params["type"]))
            if message is not None:
                await self.publish(execution, message)
            return {"status": status, "execution_id": execution_id}
        if kind == "stdin" and isinstance(params.get("data"), str):
            try:
                data = base64.b64decode(params["data"], validate=True)
            except (binascii.Error, ValueError):
                raise RPCError(ErrorCode.INVALID_PARAMS, "stdin data is not base64") from None
            return _actions.feed_stdin(execution, data, bool(params.get("eof")))
        rows, cols = params.get("rows"), params.get("cols")
        if kind == "resize" and isinstance(rows, int) and isinstance(cols, int):
            return _actions.resize(execution, rows, cols)
        raise RPCError(ErrorCode.INVALID_PARAMS, f"no command {kind!r} with these parameters")

    def owned_by(self, owner: str) -> list[Execution]:
        """The executions the connection ``owner`` started, oldest first."""
        return [e for e in self._executions.values() if e.owner == owner]

    @property
    def running(self) -> int:
        """Executions whose run has not ended."""
        return sum(e.running for e in self._executions.values())

    def spool_health(self) -> dict[str, Any]:
        """The ``spool`` member of ``/healthz``: where spools go (``null``: a temporary directory
        each), the quota per execution in bytes (``null``: none), how many are kept now, and the
        bytes of output they were written (quota drops included); the ``budget`` in bytes
        (``null``: none), the bytes ``used`` against it (``reserved`` by running executions,
        ``kept`` by ended ones, as last measured), and the ``evicted`` executions and the
        ``evicted_bytes`` they freed since the server started."""
        written = []
        for execution in self._executions.values():
            with contextlib.suppress(ccstream.CCStreamError, OSError):
                state = execution.spool_state()
                if state is not None:
                    written.append(sum(state.sizes))
        return {
            "directory": self.config.spool_directory,
            "quota": self.config.execution_quota,
            "spools": len(written),
            "bytes_written": sum(written),
            **self.spool_budget.health(),
        }

    def check_capacity(self, owner: str) -> None:
        """Refuse with ``LIMIT_REACHED`` when one more run would exceed a limit."""
        config = self.config
        if self.running >= config.max_executions:
            raise RPCError(
                ErrorCode.LIMIT_REACHED,
                f"the server runs its limit of {config.max_executions} executions",
            )
        mine = sum(e.running for e in self.owned_by(owner))
        if mine >= config.max_executions_per_connection:
            raise RPCError(
                ErrorCode.LIMIT_REACHED,
                f"this connection runs its limit of {config.max_executions_per_connection} "
                "executions",
            )

    async def start(
        self,
        execution: Execution,
        command: ccstream.Command,
        fallback: anyio.abc.TaskGroup,
    ) -> None:
        """Start ``execution``'s run within the spool budget (``LIMIT_REACHED`` when it does not
        fit, even after evicting every ended execution); raises what spawning raised."""
        budget = self.spool_budget
        await budget.admit(execution)
        if budget.budget is not None and self.host is not None and not budget.watching:
            budget.watching = True
            self.host.start_soon(budget.watch)
        execution.on_end = self.metrics.execution_ended
        group = self.host if self.host is not None else fallback
        execution.after_end = self.peers.ended
        try:
            await group.start(self._host, execution, command)
        except BaseException:
            self._executions.pop(execution.id, None)
            raise
        await self.peers.started(execution)

    async def _host(
        self,
        execution: Execution,
        command: ccstream.Command,
        *,
        task_status: anyio.abc.TaskStatus[None],
    ) -> None:
        try:
            await execution.run_task(command, task_status=task_status)
        finally:
            # Out of the registry first, so no new reader finds it, then its spool goes; it
            # counts against the budget until it is gone.
            if self._executions.pop(execution.id, None) is not None:
                self.spool_budget.dropped(execution)
            # Deleting a big spool takes a while: off the event loop, even when cancelled.
            with anyio.CancelScope(shield=True):
                await execution.release()
                await self.peers.released(execution)
            log.debug("execution %s released", execution.id)

    def connection_closed(self, owner: str) -> None:
        """Cancel the connection's attached executions; start the clock on detached ones."""
        for execution in self.owned_by(owner):
            execution.owner_left()
