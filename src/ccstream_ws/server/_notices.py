"""The control notices of one execution, for every connection that reads it.

A notice (``process.paused``/``resumed``/``canceled``, encoded once) is published here and each
reader's connection sends the ones it has not sent yet (``Session._forward``). Shared by an
execution of this node and one of another node (whose notices come through Redis).
"""

from __future__ import annotations

from collections import deque

import anyio

__all__ = ["NOTICES", "NoticeBoard"]

NOTICES = 64
"""Control notices an execution keeps for readers that have not sent them yet; a reader further
behind than that skips to the kept ones."""


class NoticeBoard:
    """Numbered notices, the last :data:`NOTICES` of them kept."""

    def __init__(self) -> None:
        self.notice_count = 0
        """Control notices published so far; a reader remembers how many it has sent."""
        self._notices: deque[tuple[int, str]] = deque(maxlen=NOTICES)
        self._noticed = anyio.Event()

    def notify(self, message: str) -> None:
        """Publish a control notice (an encoded notification) to every connection reading this
        execution; each reader's connection sends it (:meth:`notices_after`)."""
        self.notice_count += 1
        self._notices.append((self.notice_count, message))
        self._noticed.set()
        self._noticed = anyio.Event()

    def notices_after(self, seen: int) -> tuple[list[tuple[int, str]], int]:
        """The kept notices after number ``seen``, and how many after it are no longer kept."""
        newer = [(n, m) for n, m in self._notices if n > seen]
        first = newer[0][0] if newer else self.notice_count + 1
        return newer, first - seen - 1

    async def wait_notice(self, seen: int) -> None:
        """Return once there is a notice after number ``seen``."""
        while self.notice_count <= seen:
            await self._noticed.wait()
