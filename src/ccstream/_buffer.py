"""The bounded hand-off between the pipe pumps and the consumer of events.

One FIFO keeps the arrival order of both streams; each stream has its own byte budget. A pump whose
stream is over budget waits (so it stops reading its pipe and the child sees a full pipe) while the
other stream flows on — a consumer far behind on stdout never blocks stderr's pump.

A pump writes through :meth:`EventBuffer.sink`, one per stream, which has the methods the pump
calls on a spool's writer (``append``, ``flush``, ``held``, ``backlog``, ``wait_backlog``...): the
pump's loop is the same whichever of the two takes its frames.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import anyio

from ._check import check_int
from ._events import Event, Output, StreamName
from ._newlines import NewlineCounter

__all__ = ["BufferSink", "EventBuffer"]


class EventBuffer:
    """A FIFO of events holding at most ``limit`` bytes of output per stream.

    A batch that does not fit in its stream's share waits beside the queue (parked) until the
    consumer makes room, and its producer waits with it (:meth:`wait_space`); other streams flow
    on meanwhile. A batch bigger than the whole limit is still queued when the stream's share is
    empty, so a single large read can never deadlock; the bound is then ``limit`` plus one
    batch. With ``count_lines``, :meth:`append` counts the newlines of what it takes.
    """

    def __init__(self, limit: int, *, count_lines: bool = False) -> None:
        check_int("buffer limit", limit, minimum=1)
        self.limit = limit
        self._count_lines = count_lines
        self._items: deque[Event] = deque()
        self._bytes: dict[str, int] = {"stdout": 0, "stderr": 0}
        self._space: dict[str, anyio.Event | None] = {"stdout": None, "stderr": None}
        # A batch that did not fit, waiting for room (one per stream: its pump waits with it).
        self._parked: dict[str, list[Output]] = {"stdout": [], "stderr": []}
        self._ready: anyio.Event | None = None
        self._closed = False
        self._abandoned = False
        self._counters = {"stdout": NewlineCounter(), "stderr": NewlineCounter()}

    def buffered(self, stream: StreamName) -> int:
        """Bytes of ``stream`` waiting for the consumer."""
        return self._bytes[stream]

    @property
    def blocked(self) -> bool:
        """True while a producer waits for the consumer to make room."""
        return any(event is not None for event in self._space.values())

    def sink(self, stream: StreamName) -> BufferSink:
        """What ``stream``'s pump writes through."""
        return BufferSink(self, stream)

    def append(self, stream: StreamName, frames: Sequence[Output]) -> int:
        """Queue ``stream``'s frames, or park them if they do not fit in its share (never
        waits); return their newlines (0 without ``count_lines``). Call :meth:`wait_space`
        next."""
        newlines = 0
        if self._count_lines:
            count = self._counters[stream].count
            for frame in frames:
                newlines += count(frame.data)
        if self._abandoned:
            return newlines
        size = sum(len(f.data) for f in frames)
        held = self._bytes[stream]
        if self._parked[stream] or (held and held + size > self.limit):
            self._parked[stream] += frames
        else:
            self._queue(stream, frames, size)
        return newlines

    def parked(self, stream: StreamName) -> int:
        """Bytes of ``stream`` waiting for room in its share."""
        return sum(len(f.data) for f in self._parked[stream])

    async def wait_space(self, stream: StreamName) -> None:
        """Wait until ``stream``'s parked frames fit in its share, and queue them."""
        parked = self._parked[stream]
        while parked and not self._abandoned:
            size = sum(len(f.data) for f in parked)
            if not self._bytes[stream] or self._bytes[stream] + size <= self.limit:
                self._parked[stream] = []
                self._queue(stream, parked, size)
                return
            event = self._space[stream]
            if event is None:
                event = self._space[stream] = anyio.Event()
            await event.wait()

    def _queue(self, stream: StreamName, frames: Sequence[Output], size: int) -> None:
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
            self._parked[stream] = []
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


class BufferSink:
    """One stream's way into an :class:`EventBuffer`, in the shape of a spool's writer: the pump
    appends a batch, then waits while ``backlog`` (queued and parked bytes of the stream) is over
    ``backlog_limit``. A buffer is never
    held for readers and has nothing to flush: the consumer takes frames straight from it."""

    __slots__ = ("_buffer", "_stream")

    held = False
    """Never: only a spool's quota holds the pump for its readers."""

    def __init__(self, buffer: EventBuffer, stream: StreamName) -> None:
        self._buffer = buffer
        self._stream: StreamName = stream

    def append(self, stream: StreamName, frames: Sequence[Output]) -> int:
        """Append the frames; return their newlines (see :meth:`EventBuffer.append`)."""
        return self._buffer.append(stream, frames)

    @property
    def backlog(self) -> int:
        """Bytes of this stream the consumer has not taken, queued or parked."""
        return self._buffer.buffered(self._stream) + self._buffer.parked(self._stream)

    @property
    def backlog_limit(self) -> int:
        """Bytes of backlog over which the pump waits: the buffer's ``limit``."""
        return self._buffer.limit

    async def wait_backlog(self) -> None:
        """Wait until the parked batch fits in the stream's share (at once if none is parked:
        a single batch over the whole limit, queued into an empty share)."""
        await self._buffer.wait_space(self._stream)

    def flush(self) -> None:
        """Nothing to do: appended frames are already the consumer's."""

    def retry_held(self) -> bool:
        """Never held: ``False``."""
        return False

    def release_held(self) -> None:
        """Never held: nothing to release."""
