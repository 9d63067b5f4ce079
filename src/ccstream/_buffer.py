"""The bounded hand-off between the pipe pumps and the consumer of events.

One FIFO keeps the arrival order of both streams; each stream has its own byte budget. A pump whose
stream is over budget waits (so it stops reading its pipe and the child sees a full pipe) while the
other stream flows on — a consumer far behind on stdout never blocks stderr's pump.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import anyio

from ._events import Event, Output, StreamName
from .exceptions import InvalidOption

__all__ = ["EventBuffer"]


class EventBuffer:
    """A FIFO of events holding at most ``limit`` bytes of output per stream.

    A batch bigger than the whole limit is still accepted when the stream's share is empty, so a
    single large read can never deadlock; the bound is then ``limit`` plus one read.
    """

    def __init__(self, limit: int) -> None:
        if limit <= 0:
            raise InvalidOption(f"buffer limit must be positive, got {limit!r}")
        self.limit = limit
        self._items: deque[Event] = deque()
        self._bytes: dict[str, int] = {"stdout": 0, "stderr": 0}
        self._space: dict[str, anyio.Event | None] = {"stdout": None, "stderr": None}
        self._ready: anyio.Event | None = None
        self._closed = False
        self._abandoned = False

    def buffered(self, stream: StreamName) -> int:
        """Bytes of ``stream`` waiting for the consumer."""
        return self._bytes[stream]

    @property
    def blocked(self) -> bool:
        """True while a producer waits for the consumer to make room."""
        return any(event is not None for event in self._space.values())

    async def put_output(self, stream: StreamName, frames: Sequence[Output]) -> None:
        """Append ``stream``'s frames, first waiting while that stream is over its budget."""
        size = sum(len(f.data) for f in frames)
        while self._bytes[stream] and self._bytes[stream] + size > self.limit:
            event = self._space[stream]
            if event is None:
                event = self._space[stream] = anyio.Event()
            await event.wait()
        if self._abandoned:
            return
        self._bytes[stream] += size
        self._items.extend(frames)
        self._wake_reader()

    def put(self, event: Event) -> None:
        """Append a non-output event (never waits: these are few and small)."""
        self._items.append(event)
        self._wake_reader()

    def abandon(self) -> None:
        """The consumer is gone: drop what is held and accept (and drop) output from now on, so
        producers never wait for a reader that will not come. Non-output events are still kept."""
        self._abandoned = True
        self._items = deque(item for item in self._items if not isinstance(item, Output))
        for stream, event in self._space.items():
            self._bytes[stream] = 0
            if event is not None:
                event.set()
        self._space = {"stdout": None, "stderr": None}

    def close(self) -> None:
        """No more events will come; the consumer drains what is left, then sees the end."""
        self._closed = True
        self._wake_reader()

    async def get(self) -> Event | None:
        """The next event, or ``None`` once the buffer is closed and empty."""
        while not self._items:
            if self._closed:
                return None
            if self._ready is None:
                self._ready = anyio.Event()
            await self._ready.wait()
        return self._pop()

    def get_nowait(self) -> Event | None:
        """The next event if one is ready without waiting, else ``None``."""
        return self._pop() if self._items else None

    def _pop(self) -> Event:
        item = self._items.popleft()
        if isinstance(item, Output):
            stream = item.stream
            self._bytes[stream] -= len(item.data)
            event = self._space[stream]
            if event is not None and self._bytes[stream] < self.limit:
                self._space[stream] = None
                event.set()
        return item

    def _wake_reader(self) -> None:
        if self._ready is not None:
            self._ready.set()
            self._ready = None
