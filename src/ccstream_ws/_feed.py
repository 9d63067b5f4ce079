"""Hand one execution's frames to its live readers, each through a bounded channel.

This is the path when the core has no spool to read behind from: every reader gets every frame
from the moment it joined, and a reader that does not keep up holds the execution back (at most
one frame waits per reader). With a spool, readers follow the spool instead and never hold the
child back; see :mod:`ccstream_ws._execution`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ccstream import Gap, Output

__all__ = ["LiveFeed"]

Item = Output | Gap


class LiveFeed:
    """Fan-out of frames to readers that joined; one frame in flight per reader."""

    def __init__(self) -> None:
        self._readers: list[MemoryObjectSendStream[Item]] = []
        self._closed = False

    @property
    def readers(self) -> int:
        """Readers attached now."""
        return len(self._readers)

    async def put(self, item: Item) -> None:
        """Give ``item`` to every reader, waiting for each to take it (readers that left are
        dropped)."""
        for reader in list(self._readers):
            try:
                await reader.send(item)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._drop(reader)

    def close(self) -> None:
        """The run ended: every reader's iteration ends after its last frame."""
        self._closed = True
        for reader in self._readers:
            reader.close()
        self._readers.clear()

    def subscribe(self) -> AsyncIterator[Item]:
        """The frames from now (this call, not the first iteration) until the run ended."""
        # A buffer of 0 hands each frame over directly: the reader holds at most the frame it is
        # sending, the feed none.
        send, receive = anyio.create_memory_object_stream[Item](0)
        if self._closed:
            send.close()
        else:
            self._readers.append(send)
        return self._iterate(send, receive)

    async def _iterate(
        self, send: MemoryObjectSendStream[Item], receive: MemoryObjectReceiveStream[Item]
    ) -> AsyncIterator[Item]:
        try:
            async with receive:
                async for item in receive:
                    yield item
        finally:
            self._drop(send)

    def _drop(self, reader: MemoryObjectSendStream[Item]) -> None:
        with contextlib.suppress(ValueError):
            self._readers.remove(reader)
        reader.close()
