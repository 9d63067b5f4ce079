"""All executions of one app, the limits on them, and where their tasks live."""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread

import ccstream
from ccstream.spool import LocalStore

from ..exceptions import RPCError
from ..protocol._codes import ErrorCode
from ._config import ServerConfig
from ._execution import Execution
from ._metrics import Metrics
from ._spool_budget import SpoolBudget

__all__ = ["Registry"]

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
        self.store = LocalStore(config.spool_directory)
        """Every execution's spool, by execution id."""
        self.spool_budget = SpoolBudget(config, self._executions)
        """The spool budget over these executions (:mod:`ccstream_ws.server._spool_budget`)."""
        self.metrics = Metrics(self)
        """The app's ``/metrics``; executions report their end to it."""

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
        try:
            await group.start(self._host, execution, command)
        except BaseException:
            self._executions.pop(execution.id, None)
            raise

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
            log.debug("execution %s released", execution.id)

    def connection_closed(self, owner: str) -> None:
        """Cancel the connection's attached executions; start the clock on detached ones."""
        for execution in self.owned_by(owner):
            execution.owner_left()
