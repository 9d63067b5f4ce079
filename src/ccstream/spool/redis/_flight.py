"""The bytes of flush scripts a store has in flight to Redis, bounded whatever the spools.

Each sink has one flush script in flight at a time, and a flush on its way holds its data about
three times over (the entries cut from the frames, the packed command, the socket's send
buffer). Redis runs scripts one at a time, so a hundred sinks with a flush each would hold a
hundred flushes in memory only to wait in Redis' queue. :class:`FlightBudget` lets a flush go
once the store's flushes in flight hold at most its ``total`` bytes with it (a flush larger than
that goes alone), in the order they asked; a sink whose flush waits holds its pump back by its
own backlog limit, as a slow disk would.

The bytes handed to a store's sinks and not yet stored (``unstored``: their backlogs, these
flushes included) are bounded for the whole store too: above :attr:`FlightBudget.backlog` (twice
``total``), a sink with a backlog of its own takes no more (its ``backlog_limit`` is 0 until it
drops below), so the store holds at most that plus one hand-off per sink, whatever the number
of runs.

Event loop only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from ..._check import check_int

__all__ = ["FLIGHT_BYTES", "FlightBudget"]

FLIGHT_BYTES = 16 * 1024 * 1024
"""Default bytes of data a store's flush scripts carry at once (four of the largest)."""


class FlightBudget:
    """At most ``total`` bytes in flight, granted first come, first served."""

    def __init__(self, total: int = FLIGHT_BYTES) -> None:
        check_int("flight_bytes", total, minimum=1)
        self.total = total
        self.used = 0
        """Bytes granted and not yet released."""
        self.peak = 0
        """The most bytes granted at once so far."""
        self.backlog = 2 * total
        """Bytes handed to the store's sinks and not yet stored above which a sink with a
        backlog waits (see the module docstring)."""
        self.unstored = 0
        """Bytes handed to the store's sinks and not yet stored (or dropped by a failure)."""
        self._waiters: deque[tuple[int, anyio.Event]] = deque()

    @property
    def over(self) -> bool:
        """Whether the store's sinks hold more than :attr:`backlog` bytes not yet stored."""
        return self.unstored > self.backlog

    def _fits(self, nbytes: int) -> bool:
        return self.used == 0 or self.used + nbytes <= self.total

    def _grant(self, nbytes: int) -> None:
        self.used += nbytes
        self.peak = max(self.peak, self.used)

    @asynccontextmanager
    async def hold(self, nbytes: int) -> AsyncIterator[None]:
        """Wait for room for ``nbytes``, hold it for the block, then give it back."""
        if not self._waiters and self._fits(nbytes):
            self._grant(nbytes)
        else:
            entry = (nbytes, anyio.Event())
            self._waiters.append(entry)
            try:
                await entry[1].wait()
            except BaseException:
                if entry[1].is_set():
                    self._release(nbytes)  # granted as we were cancelled: give it back
                else:
                    self._waiters.remove(entry)
                    self._wake()
                raise
        try:
            yield
        finally:
            self._release(nbytes)

    def _release(self, nbytes: int) -> None:
        self.used -= nbytes
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self._fits(self._waiters[0][0]):
            nbytes, event = self._waiters.popleft()
            self._grant(nbytes)
            event.set()
