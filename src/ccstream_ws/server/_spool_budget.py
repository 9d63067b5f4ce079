"""The server's spool budget at work: what each execution holds, admission, eviction, and the
watch that measures the spools.

Every execution counts against the budget (:attr:`ServerConfig.budget`) from its admission until
its spool is deleted (:mod:`ccstream_ws.server._budget` says for how much).
:meth:`SpoolBudget.admit`
lets a run in only within the budget, evicting the ended executions that ended first to make
room, and returns once their spools are deleted, so the new run never writes beside them. While
the lifespan runs, :meth:`SpoolBudget.watch` measures the spools every second and evicts the same
way when they measure over the budget (a running spool can outgrow its reservation: a very long
order log). Each eviction is logged, and remembered in a bounded table so whoever asks for the
execution later is told it was evicted rather than that it never existed.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

import ccstream

from ..exceptions import RPCError
from ..protocol._codes import ErrorCode
from ._budget import Eviction, Holding, admit, memory_pool, reservation, shed
from ._config import ServerConfig
from ._execution import Execution, result_fields

__all__ = ["TOMBSTONES", "SpoolBudget"]

log = logging.getLogger("ccstream_ws")

TOMBSTONES = 1024
"""Evictions remembered, newest kept: an execution evicted longer ago is just not found."""
_WATCH_EVERY = 1.0  # seconds between two measurements of the spools
_DELETE_WAIT = 10.0  # seconds an admission waits for the spools it evicted to be deleted
_DELETE_POLL = 0.005


class SpoolBudget:
    """The spool budget over ``executions`` (the registry's table by id, from which an eviction
    removes the execution); ``budget`` in bytes, ``None`` for none."""

    def __init__(self, config: ServerConfig, executions: dict[str, Execution]) -> None:
        self.budget = config.budget
        self._executions = executions
        # Dropped executions whose spools are not deleted yet: they still count.
        self._removing: dict[str, tuple[int, Execution]] = {}
        self._tombstones: OrderedDict[str, tuple[Eviction, dict[str, Any] | None]] = OrderedDict()
        self.evictions = 0
        """Executions evicted since the server started."""
        self.evicted_bytes = 0
        """Bytes their spools freed."""
        self.watching = False
        self._over = False
        self.memory = memory_pool()
        """The spool memory the busy executions share (their caches of recent frames)."""
        _check_free_space(config)

    # -- what is held -------------------------------------------------------------------------

    def share(self, execution: Execution) -> int:
        """Bytes ``execution`` counts for: measured once settled, else its reservation or what
        it measured last, whichever is more."""
        if execution.settled and execution.disk_final:
            return execution.disk_bytes or 0
        spool = execution.options.spool
        quota = spool.quota if spool is not None else None
        reserved = reservation(quota) if quota is not None else 0
        return max(reserved, execution.disk_bytes or 0)

    def holdings(self, removing: bool = True) -> list[Holding]:
        """What each execution holds; with ``removing``, also the dropped ones whose spools are
        still being deleted."""
        out = [
            Holding(
                e.id,
                self.share(e),
                evictable=e.settled and e.disk_final and e.evicted is None,
                ended_at=e.ended_at or 0.0,
            )
            for e in self._executions.values()
        ]
        for key, (size, execution) in list(self._removing.items()):
            if execution.spool_removed:
                del self._removing[key]
            elif removing:
                out.append(Holding(key, size))
        return out

    def dropped(self, execution: Execution) -> None:
        """``execution`` left the registry (expired): it counts until its spool is deleted."""
        self._removing.setdefault(execution.id, (self.share(execution), execution))

    def health(self) -> dict[str, Any]:
        """``budget``, ``used`` (``reserved`` + ``kept``), ``evicted``, ``evicted_bytes``."""
        holdings = self.holdings()
        kept = sum(h.size for h in holdings if h.evictable)
        used = sum(h.size for h in holdings)
        return {
            "budget": self.budget,
            "used": used,
            "reserved": used - kept,
            "kept": kept,
            "evicted": self.evictions,
            "evicted_bytes": self.evicted_bytes,
        }

    def evicted(self, execution_id: str) -> RPCError | None:
        """The error for an execution the budget evicted (``OUTPUT_UNAVAILABLE``, ``data.reason``
        ``"spool_budget"``), if it is remembered."""
        tomb = self._tombstones.get(execution_id)
        if tomb is None:
            return None
        eviction, result = tomb
        data = {**eviction.fields(), "result": result}
        return RPCError(ErrorCode.OUTPUT_UNAVAILABLE, eviction.message, data)

    async def measure(self) -> None:
        """Measure every spool not measured since it settled (the running ones: every time),
        off the event loop."""
        pending = [e for e in self._executions.values() if not e.disk_final]
        if pending:
            await _measure(pending)

    # -- admission and eviction ---------------------------------------------------------------

    async def admit(self, execution: Execution) -> None:
        """Enter ``execution`` into the table within the budget, evicting for it; refused with
        ``LIMIT_REACHED`` (``data.limit`` ``"spool_budget"``) when it does not fit."""
        budget = self.budget
        if budget is None:
            self._executions[execution.id] = execution
            return
        spool = execution.options.spool
        quota = spool.quota if spool is not None else None
        need = reservation(quota) if quota is not None else budget
        await self.measure()
        plan = admit(budget, self.holdings(), need)
        data = {"limit": "spool_budget", "budget": budget, "used": plan.used, "needed": need}
        if not plan.admitted:
            raise RPCError(
                ErrorCode.LIMIT_REACHED,
                f"the spool budget is full: {plan.used} of {budget} bytes are held by running "
                f"executions and ended ones still being written, and this run reserves {need}",
                data,
            )
        self._executions[execution.id] = execution
        if plan.evict and not await self.evict(plan.evict, f"to admit {execution.id}"):
            self._executions.pop(execution.id, None)
            raise RPCError(
                ErrorCode.LIMIT_REACHED,
                "the spools evicted to make room are still being read; retry",
                data,
            )

    async def evict(self, keys: Sequence[str], why: str) -> bool:
        """Evict the executions ``keys`` (``why``: for the log); True once their spools are
        deleted, False if that took too long."""
        assert self.budget is not None
        victims: list[tuple[Execution, Eviction]] = []
        now = time.monotonic()
        for key in keys:
            execution = self._executions.pop(key, None)
            if execution is None:
                continue
            size = self.share(execution)
            self._removing[key] = (size, execution)
            eviction = Eviction(key, size, self.budget, time.time())
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
                self.budget,
            )
            victims.append((execution, eviction))
        for execution, eviction in victims:
            await execution.evict(eviction)
        executions = [e for e, _ in victims]
        with anyio.move_on_after(_DELETE_WAIT):
            while not all(e.spool_removed for e in executions):  # noqa: ASYNC110 - polled
                await anyio.sleep(_DELETE_POLL)
        return all(e.spool_removed for e in executions)

    async def watch(self) -> None:
        """Measure the spools every second; evict when they measure over the budget."""
        budget = self.budget
        assert budget is not None
        try:
            while True:
                await anyio.sleep(_WATCH_EVERY)
                await self.measure()
                # Spools being deleted are on their way out (an admission that evicted them
                # waits for them): evicting more for them would evict twice.
                keys = shed(budget, self.holdings(removing=False))
                if keys:
                    await self.evict(keys, "as the spools measured over the budget")
                used = sum(h.size for h in self.holdings(removing=False))
                if used > budget and not self._over:
                    log.warning(
                        "spools hold %d bytes, over the budget of %d, with nothing left to "
                        "evict: running executions outgrew their reservations",
                        used,
                        budget,
                    )
                self._over = used > budget
        finally:
            self.watching = False


async def _measure(executions: Sequence[Execution]) -> None:
    """Measure the spools of ``executions`` through their store (off the event loop): a spool
    measured after its execution settled is final."""
    for execution in executions:
        settled = execution.settled
        # Each measure is an await: an execution may be dropped (its spool deleted, its key
        # forgotten by the store) while the others are measured. It holds nothing then.
        if not execution.spooled or execution.spool_removed:
            continue
        try:
            execution.disk_bytes = await execution.store.usage(execution.id)
        except ccstream.SpoolNotFound:
            continue
        execution.disk_final = settled


def _check_free_space(config: ServerConfig) -> None:
    """Say when the spool budget is more than the disk has free: the disk fills first. A warning
    for a budget the operator chose; for the default one (``max_executions`` runs at their
    quota) an info line, since most servers never run that many at once."""
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
        log.log(
            logging.WARNING if config.spool_budget is not None else logging.INFO,
            "the spool budget of %d bytes is more than the %d bytes free in %s: the disk may "
            "fill first (runs then end with reason spool_error)",
            budget,
            free,
            where,
        )
