"""One remote execution written to the terminal across connections: the loop under
``ccstream-ws exec`` and ``ccstream-ws logs -f``.

A connection that drops is made again with backoff (:class:`~._backoff.Backoff`), and the
execution is subscribed to from the offsets that were written out: every byte once, none
missing (the server replays from its spool; what it no longer has comes as a ``process.gap``,
which is counted and told). Iterating a :class:`RemoteExecution` moves its offsets only past
what was taken from it, and each piece is written before the next is taken, so the offsets are
exactly what reached our stdout and stderr.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import anyio

import ccstream
from ccstream import StreamName

from ..exceptions import ConnectionLost, RPCError
from ..protocol._codes import ErrorCode
from ._backoff import Backoff
from ._client import Client, Completion, Notice, RemoteExecution, RemoteOutput, _gap
from ._terminal import Terminal

__all__ = ["BINARY", "Follower", "GaveUp", "Outcome"]

BINARY = {"encoding": "binary"}
"""The output options of both command lines: binary frames, the bytes as they are."""

CANCEL_TIMEOUT = 5.0
"""Seconds a cancel of the remote run may take when this command line leaves early."""


class GaveUp(ConnectionLost):
    """The connection was lost and could not be made again (or the server no longer has the
    execution): the command line's status is 255."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How following ended: the ``completion``; or ``closed``: our stdout was closed; or
    neither: the output asked for was all written (``logs`` without ``-f``), or the run was
    left going (``exec --detach``)."""

    completion: Completion | None = None
    closed: bool = False


Start = Callable[[Client], Awaitable[RemoteExecution | None]]
"""What the first connection does: start or subscribe, and return the execution to follow
(``None``: nothing to follow)."""


class Follower:
    """Follows one execution to the terminal; see the module docstring.

    ``connect`` makes a client for each connection; ``backoff`` says when to try again after a
    drop (``None``: a drop ends it, :class:`ConnectionLost`). ``owner``: the reconnection takes
    the execution over as its owner (``exec``: the run lives on only while someone owns it).
    ``until``: stop once the offsets reached these sizes (bytes per stream), without waiting
    for the completion. ``alongside`` runs beside each connection's following (``exec
    --stdin``'s input) and must not raise.
    """

    def __init__(
        self,
        terminal: Terminal,
        connect: Callable[[], Client],
        backoff: Backoff | None,
        *,
        owner: bool = False,
        until: Mapping[StreamName, int] | None = None,
        alongside: Callable[[RemoteExecution], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        self.terminal = terminal
        self._connect = connect
        self.backoff = backoff
        """When to try again after a drop; ``None``: a drop ends the following."""
        self._owner = owner
        self._until = dict(until) if until is not None else None
        self._alongside = alongside
        self.execution_id: str | None = None
        self.offsets: dict[StreamName, int] = {"stdout": 0, "stderr": 0}
        """Per stream, the offset just past what was written out (and past each gap told)."""
        self.gaps: list[ccstream.Gap] = []
        """The ``process.gap`` notices of every connection, in order."""
        self.reconnections = 0

    def resume_at(self, execution_id: str, offsets: Mapping[StreamName, int]) -> None:
        """Follow ``execution_id`` from ``offsets`` (``logs``) instead of a first :data:`Start`."""
        self.execution_id = execution_id
        self.offsets = dict(offsets)

    async def run(self, start: Start | None = None) -> Outcome:
        """Follow until the completion (or our stdout closed, or ``until`` was reached)."""
        while True:
            try:
                return await self._connection(start)
            except ConnectionLost as exc:
                if self.execution_id is None or self.backoff is None:
                    raise
                await self._wait_to_reconnect(exc)

    async def _connection(self, start: Start | None) -> Outcome:
        async with self._connect() as client:
            if self.execution_id is None:
                assert start is not None
                execution = await start(client)
                if execution is None:
                    return Outcome()
                self.execution_id = execution.id
            else:
                execution = await self._subscribe(client, self.execution_id)
            if self.backoff is not None:
                self.backoff.reset()
            lost: ConnectionLost | None = None
            try:
                async with anyio.create_task_group() as side:
                    if self._alongside is not None:
                        side.start_soon(self._alongside, execution)
                    try:
                        outcome = await self._pump(execution)
                    except ConnectionLost as exc:
                        # Raised outside the task group, so it stays a ConnectionLost.
                        lost, outcome = exc, Outcome()
                    side.cancel_scope.cancel()
            finally:
                self.offsets = dict(execution.offsets)
            if lost is not None:
                raise lost
            if outcome.closed and self._owner:
                await self._cancel(execution)
            return outcome

    async def _subscribe(self, client: Client, execution_id: str) -> RemoteExecution:
        try:
            execution = await client.subscribe(
                execution_id, self.offsets, output_options=BINARY, owner=self._owner
            )
        except RPCError as exc:
            if exc.code in (ErrorCode.EXECUTION_NOT_FOUND, ErrorCode.OUTPUT_UNAVAILABLE):
                raise GaveUp(
                    None, f"the server no longer has execution {execution_id}: {exc.message}"
                ) from None
            raise
        if self.reconnections:
            self.terminal.say(
                f"reconnected: resuming execution {execution_id} at stdout byte "
                f"{self.offsets['stdout']}, stderr byte {self.offsets['stderr']}"
            )
        return execution

    async def _pump(self, execution: RemoteExecution) -> Outcome:
        if self._reached(execution.offsets):
            return Outcome()
        async for event in execution:
            if isinstance(event, RemoteOutput):
                if not self.terminal.write(event.stream, event.data):
                    return Outcome(closed=True)
            elif isinstance(event, Notice) and event.method == "process.gap":
                gap = _gap(event.params)
                if gap is not None:
                    self.gaps.append(gap)
            if self._reached(execution.offsets):
                return Outcome()
        return Outcome(completion=execution.completion)

    def _reached(self, offsets: Mapping[StreamName, int]) -> bool:
        until = self._until
        return until is not None and all(offsets[name] >= size for name, size in until.items())

    async def _wait_to_reconnect(self, lost: ConnectionLost) -> None:
        assert self.backoff is not None
        if self.backoff.tries == 0:
            self.terminal.say(f"the connection was lost ({lost.reason or lost}); reconnecting")
        now = time.monotonic()
        delay = self.backoff.delay(now, random.random())
        if delay is None:
            raise GaveUp(
                lost.code,
                f"could not reconnect within {self.backoff.elapsed(now):.1f} s "
                f"({self.backoff.tries} attempts): {lost.reason}",
            ) from None
        self.reconnections += 1
        await anyio.sleep(delay)

    async def _cancel(self, execution: RemoteExecution) -> None:
        with anyio.move_on_after(CANCEL_TIMEOUT, shield=True):
            # Ended meanwhile, or gone: nothing is left to cancel.
            with contextlib.suppress(RPCError, ConnectionLost):
                await execution.cancel()


async def cancel_remote(connect: Callable[[], Client], execution_id: str) -> str | None:
    """Cancel ``execution_id`` over a connection of its own, at most :data:`CANCEL_TIMEOUT`
    seconds (also when the caller is being cancelled); ``None`` when it is cancelled or had
    ended, else why it could not be."""
    problem: str | None = "no answer in time"
    with anyio.move_on_after(CANCEL_TIMEOUT, shield=True):
        try:
            async with connect() as client:
                await client.call("cancel", {"execution_id": execution_id})
            problem = None
        except RPCError as exc:
            problem = None if exc.code == ErrorCode.INVALID_STATE else exc.message
        except ConnectionLost as exc:
            problem = str(exc)
    return problem
