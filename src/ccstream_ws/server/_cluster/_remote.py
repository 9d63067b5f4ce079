"""An execution another node runs, as this node's connections read it.

It reads like one of this node's (:class:`~ccstream_ws.server._execution.Execution`): the same
``status`` view, the spool opened from the shared store by id, the control notices and the end
as the owner publishes them. What it knows comes from the execution's record and events in
Redis, followed by one task per (node, execution) however many connections read it
(:meth:`ccstream_ws.server._cluster.RedisPeers.follow`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import anyio

import ccstream
from ccstream.spool import Spool, SpoolState

from .._notices import NoticeBoard
from ._record import Record

if TYPE_CHECKING:
    from ccstream.spool.redis import RedisStore

__all__ = ["RemoteExecution"]


class RemoteExecution(NoticeBoard):
    """Another node's execution; see the module docstring."""

    owner = None
    """No connection of this node started it."""
    stdin = None
    """Its stdin is on its node (``stdin`` goes there: :meth:`Peers.command`)."""
    evicted = None
    """Another node's spool budget is not this node's to tell."""
    spooled = True
    """Its spool is in the shared store."""

    def __init__(
        self, execution_id: str, record: Record, store: RedisStore, last_event: str
    ) -> None:
        super().__init__()
        self.id = execution_id
        self.record = record
        self.store = store
        self.last_event = last_event
        """The id of the last event of the execution's stream this node has taken."""
        self.ended = anyio.Event()
        if not record.running:
            self.ended.set()
        self.readers = 0
        self.used_at = time.monotonic()
        """When a reader last joined or left (the follower stops after a while unused)."""

    @property
    def node(self) -> str:
        """The node that runs it."""
        return self.record.node

    @property
    def running(self) -> bool:
        """True until its node recorded the end, or another node finalised it."""
        return self.record.running

    @property
    def detached(self) -> bool:
        """Whether it was started detached."""
        return self.record.fields.get("detached") == "1"

    @property
    def paused(self) -> bool:
        """True while its node holds it stopped."""
        return self.running and self.record.fields.get("paused") == "1"

    @property
    def pid(self) -> int:
        """The child's pid on its node."""
        return self.record.pid

    @property
    def has_stdin(self) -> bool:
        """True when it was started with ``stdin: true``."""
        return self.record.has_stdin

    def update(self, record: Record) -> None:
        """The record as read again; the end once it says so."""
        self.record = record
        if not record.running:
            self.ended.set()

    def describe(self) -> dict[str, Any]:
        """The ``status`` view (with its ``node``)."""
        return self.record.describe(self.id)

    def argv_on_wire(self) -> list[Any]:
        """``argv`` as its node sent it."""
        return self.record.argv

    def completion(self) -> dict[str, Any] | None:
        """How the run ended, once it did (``node_lost`` when its node was lost)."""
        return self.record.result()

    async def aopen_spool(self) -> Spool:
        """A reader of its output from the shared store (close it when done);
        :class:`~ccstream.SpoolNotFound` once its spool is gone."""
        return await self.store.aopen(self.id)

    async def aspool_state(self) -> SpoolState | None:
        """Its spool's state now, from the shared store (``None`` without one)."""
        try:
            return await self.store.astate(self.id)
        except ccstream.SpoolNotFound:
            return None

    def reader_joined(self) -> None:
        """A connection of this node started reading it."""
        self.readers += 1
        self.used_at = time.monotonic()

    def reader_left(self) -> None:
        """A connection of this node stopped reading it."""
        self.readers -= 1
        self.used_at = time.monotonic()
