"""The client's two waiting places, on anyio (asyncio and trio): a bounded queue of events
between the reader task and an iteration, and the one-shot answer a request waits for."""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

import anyio

__all__ = ["Closed", "Queue", "Reply"]

T = TypeVar("T")


class Closed(Exception):
    """The queue is closed and empty."""


class Queue(Generic[T]):
    """A queue of at most ``size`` items: :meth:`put` waits while it is full, :meth:`get` while
    it is empty; once :meth:`close` d, ``get`` gives what is left, then raises :class:`Closed`.
    Made on the event loop (its events are anyio's)."""

    def __init__(self, size: int) -> None:
        self._items: deque[T] = deque()
        self._size = max(size, 1)
        self._closed = False
        self._ready = anyio.Event()
        self._space = anyio.Event()

    async def put(self, item: T) -> None:
        while len(self._items) >= self._size and not self._closed:
            if self._space.is_set():
                self._space = anyio.Event()
            await self._space.wait()
        if self._closed:
            return
        self._items.append(item)
        self._ready.set()

    async def get(self) -> T:
        while not self._items:
            if self._closed:
                raise Closed
            if self._ready.is_set():
                self._ready = anyio.Event()
            await self._ready.wait()
        item = self._items.popleft()
        self._space.set()
        return item

    def close(self) -> None:
        self._closed = True
        self._ready.set()
        self._space.set()


class Reply(Generic[T]):
    """The one answer a task waits for: a value or an exception."""

    def __init__(self) -> None:
        self._done = anyio.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    def done(self) -> bool:
        return self._done.is_set()

    def set_result(self, value: T) -> None:
        if not self._done.is_set():
            self._value = value
            self._done.set()

    def set_exception(self, error: BaseException) -> None:
        if not self._done.is_set():
            self._error = error
            self._done.set()

    async def wait(self) -> T:
        await self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
