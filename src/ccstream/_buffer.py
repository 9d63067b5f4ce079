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

__all__ = ["BufferSink", "EventBuffer"]


class EventBuffer:
    """A FIFO of events holding at most ``limit`` bytes of output per stream.

    A batch is always accepted; its producer then waits while the stream holds more than
    ``limit`` bytes, so the bound is ``limit`` plus one batch, and a single batch bigger than the
    whole limit can never deadlock. With ``count_lines``, :meth:`append` counts the newlines of
    what it takes.
    """

    def __init__(self, limit: int, *, count_lines: bool = False) -> None:
        check_int("buffer limit", limit, minimum=1)
        self.limit = limit
        self._count_lines = count_lines
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

    def sink(self, stream: StreamName) -> BufferSink:
        """What ``stream``'s pump writes through."""
        return BufferSink(self, stream)

    def append(self, stream: StreamName, frames: Sequence[Output]) -> int:
        """Append ``stream``'s frames (never waits); return their newlines (0 without
        ``count_lines``). Call :meth:`wait_space` next."""
        newlines = sum(f.data.count(b"\n") for f in frames) if self._count_lines else 0
        if not self._abandoned:
            self._bytes[stream] += sum(len(f.data) for f in frames)
            self._items.extend(frames)
            self._wake_reader()
        return newlines

    async def wait_space(self, stream: StreamName) -> None:
        """Wait while ``stream`` holds more than ``limit`` bytes (the consumer is behind)."""
        while self._bytes[stream] > self.limit:
            event = self._space[stream]
            if event is None:
                event = self._space[stream] = anyio.Event()
            await event.wait()

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
            if event is not None and self._bytes[stream] <= self.limit:
                self._space[stream] = None
                event.set()
        return item

    def _wake_reader(self) -> None:
        if self._ready is not None:
            self._ready.set()
            self._ready = None


class BufferSink:
    """One stream's way into an :class:`EventBuffer`, in the shape of a spool's writer: the pump
    appends a batch, then waits while ``backlog`` is over ``backlog_limit``. A buffer is never
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
        """Bytes of this stream the consumer has not taken."""
        return self._buffer.buffered(self._stream)

    @property
    def backlog_limit(self) -> int:
        """Bytes of backlog over which the pump waits: the buffer's ``limit``."""
        return self._buffer.limit

    async def wait_backlog(self) -> None:
        """Wait while the consumer is more than ``backlog_limit`` bytes behind."""
        await self._buffer.wait_space(self._stream)

    def flush(self) -> None:
        """Nothing to do: appended frames are already the consumer's."""

    def retry_held(self) -> bool:
        """Never held: ``False``."""
        return False

    def release_held(self) -> None:
        """Never held: nothing to release."""
