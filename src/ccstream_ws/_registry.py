"""All executions of one app, the limits on them, and where their tasks live.

The spool budget (:attr:`ServerConfig.budget`) is kept here: every execution counts against it
from its admission until its spool is deleted (:mod:`ccstream_ws._budget` says for how much).
:meth:`Registry.start` admits a run only within the budget, evicting the ended executions that
ended first to make room, and waits until their spools are gone before the run starts; while the
lifespan runs, a watch measures the spools every second and evicts the same way if they measure
over the budget (a running spool can outgrow its reservation: a very long order log). Each
eviction is logged, and remembered in a bounded table so whoever asks for the execution later is
told it was evicted rather than that it never existed.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread

import ccstream

from ._budget import Eviction, Holding, admit, reservation, shed
from ._codes import ErrorCode
from ._config import ServerConfig
from ._disk_usage import disk_bytes
from ._execution import Execution, result_fields
from ._spool import ExecutionSpool
from .exceptions import RPCError

__all__ = ["Registry"]

log = logging.getLogger("ccstream_ws")

TOMBSTONES = 1024
"""Evictions remembered, newest kept: an execution evicted longer ago is just not found."""
_WATCH_EVERY = 1.0  # seconds between two measurements of the spools
_DELETE_WAIT = 10.0  # seconds an admission waits for the spools it evicted to be deleted
_DELETE_POLL = 0.005


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
        self.started_at = time.time()
        self._executions: dict[str, Execution] = {}
        # Dropped executions whose spools are not deleted yet: they still count.
        self._removing: dict[str, tuple[int, ExecutionSpool | None]] = {}
        self._tombstones: OrderedDict[str, tuple[Eviction, dict[str, Any] | None]] = OrderedDict()
        self.evictions = 0
        self.evicted_bytes = 0
        self._watching = False
        self._over_warned = False
        _check_free_space(config)

    def __iter__(self) -> Iterator[Execution]:
        return iter(list(self._executions.values()))

    def get(self, execution_id: str) -> Execution:
        """The execution; ``OUTPUT_UNAVAILABLE`` (``data.reason`` ``"spool_budget"``) if the
        budget evicted it, else ``EXECUTION_NOT_FOUND``."""
        execution = self._executions.get(execution_id)
        if execution is None:
            tomb = self._tombstones.get(execution_id)
            if tomb is not None:
                eviction, result = tomb
                raise RPCError(
                    ErrorCode.OUTPUT_UNAVAILABLE,
                    eviction.message,
                    {**eviction.fields(), "result": result},
                )
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
        spools = [e.spool for e in self._executions.values() if e.spool is not None]
        holdings = self._holdings()
        kept = sum(h.size for h in holdings if h.evictable)
        used = sum(h.size for h in holdings)
        return {
            "directory": self.config.spool_directory,
            "quota": self.config.execution_quota,
            "spools": len(spools),
            "bytes_written": sum(sum(s.sizes.values()) for s in spools),
            "budget": self.config.budget,
            "used": used,
            "reserved": used - kept,
            "kept": kept,
            "evicted": self.evictions,
            "evicted_bytes": self.evicted_bytes,
        }

    # -- the spool budget ---------------------------------------------------------------------

    def _share(self, execution: Execution) -> int:
        """Bytes ``execution`` counts for: measured once settled, else its reservation or what
        it measured last, whichever is more."""
        if execution.settled and execution.disk_final:
            return execution.disk_bytes or 0
        spool = execution.options.spool
        quota = spool.quota if spool is not None else None
        reserved = reservation(quota) if quota is not None else 0
        return max(reserved, execution.disk_bytes or 0)

    def _holdings(self, removing: bool = True) -> list[Holding]:
        """What each execution holds of the budget; with ``removing``, also the dropped ones
        whose spools are still being deleted."""
        out = [
            Holding(
                e.id,
                self._share(e),
                evictable=e.settled and e.disk_final and e.evicted is None,
                ended_at=e.ended_at or 0.0,
            )
            for e in self._executions.values()
        ]
        for key, (size, spool) in list(self._removing.items()):
            if spool is None or spool.deleted:
                del self._removing[key]
            elif removing:
                out.append(Holding(key, size))
        return out

    async def _measure(self) -> None:
        """Measure every spool not measured since it settled (the running ones: every time),
        off the event loop."""
        pending = [e for e in self._executions.values() if not e.disk_final]
        if pending:
            await anyio.to_thread.run_sync(_measure, pending)

    async def _admit(self, execution: Execution, budget: int) -> None:
        """Enter ``execution`` within ``budget``, evicting for it; ``LIMIT_REACHED`` if not."""
        spool = execution.options.spool
        quota = spool.quota if spool is not None else None
        need = reservation(quota) if quota is not None else budget
        await self._measure()
        holdings = self._holdings()
        plan = admit(budget, holdings, need)
        if not plan.admitted:
            raise RPCError(
                ErrorCode.LIMIT_REACHED,
                f"the spool budget is full: {plan.used} of {budget} bytes are held by running "
                f"executions and ended ones still being written, and this run reserves {need}",
                {"limit": "spool_budget", "budget": budget, "used": plan.used, "needed": need},
            )
        self._executions[execution.id] = execution
        if plan.evict and not await self._evict(plan.evict, budget, f"to admit {execution.id}"):
            self._executions.pop(execution.id, None)
            raise RPCError(
                ErrorCode.LIMIT_REACHED,
                "the spools evicted to make room are still being read; retry",
                {"limit": "spool_budget", "budget": budget, "used": plan.used, "needed": need},
            )

    async def _evict(self, keys: Sequence[str], budget: int, why: str) -> bool:
        """Evict the executions ``keys``; True once their spools are deleted."""
        victims: list[tuple[Execution, Eviction]] = []
        now = time.monotonic()
        for key in keys:
            execution = self._executions.pop(key, None)
            if execution is None:
                continue
            size = self._share(execution)
            self._removing[key] = (size, execution.spool)
            eviction = Eviction(key, size, budget, time.time())
            result = result_fields(execution.result) if execution.result is not None else None
            self._tombstones[key] = (eviction, result)
            while len(self._tombstones) > TOMBSTONES:
                self._tombstones.popitem(last=False)
            self.evictions += 1
            self.evicted_bytes += size
            log.warning(
                "evicted execution %s: %d bytes freed %s (ended %.1f s ago; spool budget %d)",
                key,
                size,
                why,
                now - (execution.ended_at or now),
                budget,
            )
            victims.append((execution, eviction))
        for execution, eviction in victims:
            await execution.evict(eviction)
        spools = [e.spool for e, _ in victims if e.spool is not None]
        with anyio.move_on_after(_DELETE_WAIT):
            while not all(s.deleted for s in spools):  # noqa: ASYNC110 - set in worker threads
                await anyio.sleep(_DELETE_POLL)
        return all(s.deleted for s in spools)

    async def _watch(self, budget: int) -> None:
        """Measure the spools every second; evict when they measure over ``budget``."""
        try:
            while True:
                await anyio.sleep(_WATCH_EVERY)
                await self._measure()
                # Spools being deleted are on their way out (an admission that evicted them
                # waits for them): evicting more for them would evict twice.
                keys = shed(budget, self._holdings(removing=False))
                if keys:
                    await self._evict(keys, budget, "as the spools measured over the budget")
                used = sum(h.size for h in self._holdings(removing=False))
                if used > budget and not self._over_warned:
                    log.warning(
                        "spools hold %d bytes, over the budget of %d, with nothing left to "
                        "evict: running executions outgrew their reservations",
                        used,
                        budget,
                    )
                self._over_warned = used > budget
        finally:
            self._watching = False

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
        budget = self.config.budget
        if budget is None:
            self._executions[execution.id] = execution
        else:
            await self._admit(execution, budget)
            if self.host is not None and not self._watching:
                self._watching = True
                self.host.start_soon(self._watch, budget)
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
                self._removing[execution.id] = (self._share(execution), execution.spool)
            # Deleting a big spool takes a while: off the event loop, even when cancelled.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(execution.release)
            log.debug("execution %s released", execution.id)

    def connection_closed(self, owner: str) -> None:
        """Cancel the connection's attached executions; start the clock on detached ones."""
        for execution in self.owned_by(owner):
            execution.owner_left()


def _measure(executions: Sequence[Execution]) -> None:
    """Measure the spools of ``executions`` (in a worker thread): a spool measured after its
    execution settled is final."""
    for execution in executions:
        settled = execution.settled
        spool = execution.spool
        if spool is None:
            continue
        execution.disk_bytes = disk_bytes(spool.path)
        execution.disk_final = settled


def _check_free_space(config: ServerConfig) -> None:
    """Warn when the spool budget is more than the disk has free: the disk fills first."""
    budget = config.budget
    if budget is None:
        return
    where = Path(config.spool_directory or tempfile.gettempdir())
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        free = shutil.disk_usage(where).free
    except OSError:
        return
    if free < budget:
        log.warning(
            "the spool budget of %d bytes is more than the %d bytes free in %s: the disk may "
            "fill first (runs then end with reason spool_error)",
            budget,
            free,
            where,
        )
