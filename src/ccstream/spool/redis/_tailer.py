"""One blocking tailer per (process, spool), fanned out to that process's readers.

A follower of a spool written elsewhere waits for growth in :meth:`RedisSource.wait
<ccstream.spool.redis._source.RedisSource.wait>`. Every such wait in this process goes to the
spool's one :class:`Tailer`: while anyone waits, a single task of the store blocks on
``XREAD BLOCK`` on the spool's ``tick`` stream (one entry: ``<records>-0`` after each flush,
``<records>-1`` once complete) and wakes every waiter when it moves. So a thousand WebSocket
clients of one execution on one node hold one blocking Redis connection, not a thousand.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio

from ._layout import Keys

if TYPE_CHECKING:
    from ._store import RedisStore

__all__ = ["Tailer"]

log = logging.getLogger("ccstream")

BLOCK_MS = 1000
"""Milliseconds one ``XREAD BLOCK`` waits before the tailer looks whether anyone still waits."""


class Tailer:
    """The tailer of spool ``key`` of ``store`` (see the module docstring)."""

    def __init__(self, store: RedisStore, key: str) -> None:
        self._store = store
        self._tick = Keys(store.prefix, key).tick
        self._last = b"0-0"
        self._records = 0
        self._complete = False
        self._event = anyio.Event()
        self._waiters = 0
        self._running = False

    def _beyond(self, records: int) -> bool:
        return self._complete or self._records > records

    async def wait(self, records: int, poll_interval: float) -> None:
        """Return once the tick says the spool holds more than ``records`` records or is
        complete, or after at most ``poll_interval`` seconds."""
        if self._beyond(records):
            return
        self._waiters += 1
        try:
            if not self._running:
                self._running = True
                self._store._start_soon(self._run)
            with anyio.move_on_after(poll_interval):
                while not self._beyond(records):
                    await self._event.wait()
        finally:
            self._waiters -= 1

    async def _run(self) -> None:
        client = self._store.client
        try:
            while self._waiters:
                try:
                    got = await client.xread({self._tick: self._last}, block=BLOCK_MS)
                except Exception as exc:
                    # The waiters poll meanwhile (their poll interval); look again shortly.
                    log.warning("the Redis tailer of %s failed: %s", self._tick, exc)
                    await anyio.sleep(0.1)
                    continue
                if not got:
                    continue
                for entries in got.values():
                    for entry in entries:
                        ident = entry.identifier
                        self._last = ident if isinstance(ident, bytes) else ident.encode()
                        records, _, seq = self._last.partition(b"-")
                        self._records = max(self._records, int(records))
                        self._complete = self._complete or seq == b"1"
                event, self._event = self._event, anyio.Event()
                event.set()
        finally:
            self._running = False
