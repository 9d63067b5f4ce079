"""One remote execution: a spooled :func:`ccstream.stream` run, and how long it is kept.

The run lives in a task of its own, in the server's task group when the ASGI lifespan started one
(else in the task group of the connection that started it, which then waits for it). That task
only waits for the run: the output goes to the spool on disk, and every client reads it from
there in its own connection's tasks (:meth:`Execution.open_spool`: every reader opens the
execution's spool from the server's store by the execution's id), so the child never waits for a
client, however slow, until the client is a whole quota behind (``on_quota``: then the child
waits for it, unless the client asked for ``drop``).

After the run ended it is kept so clients can still ``page``, ``subscribe`` and download it:
while its owner connection is open, while anyone reads it, and, when it was started detached,
for ``retention`` seconds after both the run ended and the owner left. A run that is not
detached is cancelled when its owner leaves, or, when it was started with ``reconnect``, once
that many seconds passed without the owner coming back (:meth:`Execution.take_over`). The spool
is removed when the execution is dropped, or sooner when the server's spool budget evicts it
(:meth:`Execution.evict`): then at once, whoever reads it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectSendStream

import ccstream
from ccstream import Reason, Result
from ccstream.spool import LocalStore, Spool, SpoolState

from ..protocol._params import ExecuteParams
from ..protocol._text import os_string_to_wire
from ._budget import Eviction, hold_outlives_owner, reader_hold
from ._notices import NoticeBoard

if TYPE_CHECKING:
    from ccstream.spool.redis import RedisStore

__all__ = ["Execution", "completed_status"]

log = logging.getLogger("ccstream_ws")

State = Literal["starting", "running", "ended"]


def completed_status(result: Result) -> str:
    """``process.completed``'s ``status``: the original executor's words, plus ``timeout``."""
    if result.reason is Reason.CANCELLED:
        return "canceled"
    if result.reason in (Reason.TIMEOUT, Reason.IDLE_TIMEOUT):
        return "timeout"
    return "completed" if result.ok else "failed"


class Execution(NoticeBoard):
    """A command started by a client; see the module docstring."""

    def __init__(
        self,
        execution_id: str,
        params: ExecuteParams,
        options: ccstream.Options,
        *,
        owner: str,
        retention: float,
        stdin: MemoryObjectSendStream[bytes] | None,
        store: LocalStore | RedisStore | None = None,
        reconnect: float | None = None,
    ) -> None:
        super().__init__()
        self.id = execution_id
        self.store = store if store is not None else LocalStore()
        """The server's spools; this execution's is the one of key :attr:`id`."""
        self.params = params
        self.options = options
        self.owner = owner
        self.detached = params.detach
        self.retention = retention
        self.reconnect = None if params.detach else reconnect
        """Seconds the run outlives its owner's connection for the owner to come back
        (``None``: cancelled when it closes)."""
        self.stdin = stdin
        self.state: State = "starting"
        self.pid = 0
        self.argv: tuple[str, ...] = ()
        self.started_at = 0.0
        self.result: Result | None = None
        self.ended = anyio.Event()
        self.run: ccstream.Run | None = None
        self.pty_size: tuple[int, int] | None = None
        """The terminal's size once ``resize`` changed it (``params.pty`` says the first)."""
        self.spooled = False
        """True once the run started: its spool is in :attr:`store`."""
        self._spool_removed = False
        # Releases the quota's hold for a reader to come (execute's on_quota).
        self._hold: Callable[[], None] | None = None
        self.readers = 0
        self.settled = False
        """True once the run's spool is closed and complete: only its reading is left."""
        self.disk_bytes: int | None = None
        """Bytes the spool took on disk when the registry last measured it."""
        self.disk_final = False
        """True when :attr:`disk_bytes` was measured after the execution settled."""
        self.evicted: Eviction | None = None
        """Why the spool budget evicted this execution, if it did."""
        self._ended_at: float | None = None
        self._owner_gone_at: float | None = None
        # When the run is cancelled unless its owner comes back (reconnect), and its wake-up.
        self._abandon_at: float | None = None
        self._owner_moved = anyio.Event()
        self._wake = anyio.Event()
        self.on_end: Callable[[Execution], None] | None = None
        """Called once when the run ended, as the state becomes ``ended`` (the metrics)."""
        self.after_end: Callable[[Execution], Awaitable[None]] | None = None
        """Awaited once when the run ended and its spool settled (the other nodes are told)."""

    # -- control ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True until the run ended."""
        return self.state != "ended"

    def pause(self) -> None:
        """SIGSTOP the process group."""
        if self.run is not None and self.running:
            self.run.pause()

    def resume(self) -> None:
        """SIGCONT the process group."""
        if self.run is not None and self.running:
            self.run.resume()

    def resize(self, rows: int, cols: int) -> None:
        """Set the window size of the run's terminal (the child gets ``SIGWINCH``)."""
        if self.run is not None and self.running:
            self.run.resize(rows, cols)
            self.pty_size = (rows, cols)

    def cancel(self) -> None:
        """Kill the process group; the result's reason becomes ``cancelled``."""
        if self.run is not None and self.running:
            self.run.cancel()

    @property
    def paused(self) -> bool:
        """True while the process group is stopped."""
        return self.run is not None and self.running and self.run.paused

    def owner_left(self) -> None:
        """The owner connection closed: cancel unless detached (or, with ``reconnect``, once
        the owner did not come back in time); start the retention clock."""
        self._owner_gone_at = time.monotonic()
        if self.reconnect is not None and self.running:
            # Held for the owner, as "pause" holds: its offsets keep the quota from dropping
            # what it has not read, so it resumes without a gap.
            self._abandon_at = self._owner_gone_at + self.reconnect
            self._tell_owner_moved()
            self._poke()
            return
        if not hold_outlives_owner(self.params.on_quota):
            self._let_go()
        if not self.detached:
            self.cancel()
        self._poke()

    def take_over(self, owner: str) -> None:
        """The connection ``owner`` becomes the owner (the owner reconnecting, ``subscribe``
        with ``owner: true``): the run is no longer cancelled for the old one's leaving."""
        self.owner = owner
        self._owner_gone_at = None
        self._abandon_at = None
        self._tell_owner_moved()
        self._poke()

    def _tell_owner_moved(self) -> None:
        self._owner_moved.set()
        self._owner_moved = anyio.Event()

    async def _cancel_when_abandoned(self) -> None:
        """Cancel the run once its owner stayed away past the ``reconnect`` window."""
        while True:
            moved = self._owner_moved
            deadline = self._abandon_at
            wait = math.inf if deadline is None else max(deadline - time.monotonic(), 0.0)
            with anyio.move_on_after(wait):
                await moved.wait()
                continue
            log.info(
                "execution %s: its owner did not come back within %g s: cancelling",
                self.id,
                self.reconnect,
            )
            self._let_go()
            self.cancel()
            return

    def reader_joined(self) -> None:
        """A client started reading; the execution is kept while anyone reads."""
        self.readers += 1

    def reader_left(self) -> None:
        """A client stopped reading."""
        self.readers -= 1
        self._poke()

    @property
    def ended_at(self) -> float | None:
        """When the run ended (``time.monotonic()``), once it did."""
        return self._ended_at

    async def evict(self, eviction: Eviction) -> None:
        """The spool budget needs this ended execution's disk: its readers are cut off (a
        ``follow`` at its next frame, see :meth:`ccstream.spool.Store.revoke`) and it is dropped
        now, however long it was to be kept."""
        self.evicted = eviction
        if self.spooled:
            self.store.revoke(self.id, eviction.message)
        self._poke()

    # -- output -------------------------------------------------------------------------------

    def open_spool(self) -> Spool:
        """A reader of the execution's output (close it when done): pages, byte ranges,
        ``follow`` from any offsets (replay, then live), opened from :attr:`store` by id. It
        stays readable while the registry keeps the execution; hold :meth:`reader_joined` while
        reading so it is kept. :class:`~ccstream.SpoolNotFound` once evicted."""
        if not self.spooled:
            raise ccstream.SpoolNotFound(f"execution {self.id} keeps no spool")
        return self.store.open(self.id)

    async def aopen_spool(self) -> Spool:
        """:meth:`open_spool`, as an execution of another node opens its spool."""
        return self.open_spool()

    async def aspool_state(self) -> SpoolState | None:
        """:meth:`spool_state`, as an execution of another node reads it."""
        return self.spool_state()

    def spool_state(self) -> SpoolState | None:
        """The spool's state now (``None`` before the run started)."""
        return self.store.state(self.id) if self.spooled else None

    def behind(self) -> list[int]:
        """For each reader following the spool, the bytes it has yet to take."""
        return self.store.behind(self.id) if self.spooled else []

    @property
    def spool_removed(self) -> bool:
        """True once the execution's spool is deleted (or it never had one)."""
        return self._spool_removed or not self.spooled

    def describe(self) -> dict[str, Any]:
        """The ``status`` view of this execution."""
        out: dict[str, Any] = {
            "execution_id": self.id,
            "state": "paused" if self.paused else self.state,
            "pid": self.pid,
            "pgid": self.pid,
            "argv": self.argv_on_wire(),
            "detached": self.detached,
            "started_at": self.started_at,
        }
        if self.run is not None:
            out["stdout"] = _stats(self.run.stats("stdout"))
            out["stderr"] = _stats(self.run.stats("stderr"))
        pty = self.params.pty
        if pty is not None:
            rows, cols = self.pty_size or (pty.rows, pty.cols)
            out["pty"] = {"rows": rows, "cols": cols, "stderr": pty.stderr}
        if self.result is not None:
            out["result"] = result_fields(self.result)
        return out

    def completion(self) -> dict[str, Any] | None:
        """How the run ended, as ``process.completed`` and ``status`` report it (``None``
        while it runs, or when the adapter failed before it could tell)."""
        return None if self.result is None else result_fields(self.result)

    def argv_on_wire(self) -> list[str | dict[str, str]]:
        """``argv`` as ``process.started`` and ``status`` send it: each element as text, or as
        ``{"base64": ...}`` when its bytes are not UTF-8 (see :mod:`ccstream_ws.protocol._text`)."""
        return [os_string_to_wire(arg) for arg in self.argv]

    # -- the run's task -----------------------------------------------------------------------

    def _through_store(self) -> ccstream.Options:
        """:attr:`options` with the spool written through :attr:`store` under :attr:`id` (the
        store decides where it lives), so every reader the store opens by id reads it live."""
        spool = self.options.spool
        if spool is None:
            return self.options
        spool = dataclasses.replace(spool, directory=None, store=self.store, key=self.id)
        return dataclasses.replace(self.options, spool=spool)

    async def run_task(
        self, command: ccstream.Command, *, task_status: anyio.abc.TaskStatus[None]
    ) -> None:
        """Run the command; report the start through ``task_status`` (a spawn error raises
        from ``TaskGroup.start`` instead), then keep the execution while it is wanted."""
        try:
            async with ccstream.stream(command, self._through_store()) as run:
                self.run = run
                self.spooled = True
                again = reader_hold(self.params.on_quota)
                if again is not None:
                    # The owner's reader comes just after the run started: hold from offset 0.
                    # With reconnect, also each time the owner's connection leaves.
                    again = again or self.reconnect is not None
                    self._hold = self.store.hold_for_reader(self.id, again=again)
                self.pid = run.pid
                self.state = "running"
                self.started_at = time.time()
                task_status.started()
                try:
                    # Started and the result: the output is in the spool, for the readers.
                    if self.reconnect is None:
                        self.result = await run.wait()
                    else:
                        async with anyio.create_task_group() as watch:
                            watch.start_soon(self._cancel_when_abandoned)
                            self.result = await run.wait()
                            watch.cancel_scope.cancel()
                    self._end()
                finally:
                    self._let_go()
        except Exception:
            if self.run is None:
                raise  # not started: the caller of TaskGroup.start() reports it
            # Started: this task runs in the server's task group, which must not die with it.
            log.exception("execution %s failed inside the adapter", self.id)
        finally:
            if self.result is None and self.run is not None and self.run.done:
                self.result = self.run.result  # killed by a cancelled scope: still truthful
            self._end()
            self.settled = self.spooled
        if self.after_end is not None and self.run is not None:
            await self.after_end(self)
        await self._linger()

    def _end(self) -> None:
        if self.state == "ended":
            return
        self.state = "ended"
        self._ended_at = time.monotonic()
        if self.on_end is not None:
            self.on_end(self)
        self.ended.set()
        if self.stdin is not None:
            self.stdin.close()

    async def release(self) -> None:
        """The registry dropped the execution: delete its spool (its readers are cut off)."""
        if self.spooled:
            await self.store.remove(self.id)
            self.store.forget(self.id)
        self._spool_removed = True

    def _let_go(self) -> None:
        hold, self._hold = self._hold, None
        if hold is not None:
            hold()

    async def _linger(self) -> None:
        while self.evicted is None:
            expires = self._expires_at()
            now = time.monotonic()
            if expires is not None and now >= expires and self.readers == 0:
                return
            wait = math.inf if expires is None else max(expires - now, 0.0)
            if self.readers:
                wait = math.inf
            with anyio.move_on_after(wait):
                await self._wake.wait()
            self._wake = anyio.Event()

    def _expires_at(self) -> float | None:
        if self._owner_gone_at is None or self._ended_at is None:
            return None
        if not self.detached:
            return self._owner_gone_at + (self.reconnect or 0.0)
        return max(self._owner_gone_at, self._ended_at) + self.retention

    def _poke(self) -> None:
        self._wake.set()


def _stats(stats: ccstream.StreamStats) -> dict[str, Any]:
    return {"bytes": stats.bytes, "lines": stats.lines}


def result_fields(result: Result) -> dict[str, Any]:
    """The result as ``process.completed`` and ``status`` report it."""
    return {
        "status": completed_status(result),
        "reason": result.reason.value,
        # The original executor reported asyncio's returncode here: negative for a signal.
        "exit_code": result.returncode,
        "returncode": result.returncode,
        "signal": result.signal_name,
        "execution_time": result.duration,
        "stdout": _stats(result.stdout),
        "stderr": _stats(result.stderr),
        "peak_rss_tree": result.peak_rss_tree,
        "spool_error": result.spool_error,
        "lingering_killed": result.lingering_killed,
        "escaped_killed": result.escaped_killed,
    }
