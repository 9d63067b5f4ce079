"""Spool memory shared by the busy writers of one process.

A writer's memory (:attr:`SpoolOptions.memory <ccstream.SpoolOptions.memory>`) is mostly its
cache of recent frames: a reader that keeps up takes its frames from there instead of reading
them back from the files. A process that runs many spooled runs at once (a server) cannot give
each a large one, yet a single bulk run gains from one. A :class:`MemoryPool` holds ``total``
bytes for the writers that are busy (that wrote within the last :data:`IDLE_AFTER` seconds):
each gets an equal share, at least its own ``memory`` and at most ``most``. So the spools of a
process hold at most ``max(total, busy writers x their own memory)`` bytes of output, and one
busy run alone gets ``most``.

Sans-I/O apart from the clock the caller passes; event loop thread only.
"""

from __future__ import annotations

from .._check import check_int

__all__ = ["IDLE_AFTER", "MemoryPool"]

IDLE_AFTER = 1.0
"""Seconds without a write after which a writer no longer counts as busy."""
_RECOUNT = 0.05  # seconds between two counts of the busy writers


class MemoryPool:
    """``total`` bytes of spool memory shared by the busy writers, at most ``most`` each
    (default: all of it)."""

    __slots__ = ("_busy", "_counted_at", "_share", "most", "total")

    def __init__(self, total: int, *, most: int | None = None) -> None:
        check_int("MemoryPool total", total, minimum=1)
        check_int("MemoryPool most", most, minimum=1, optional=True)
        self.total = total
        self.most = total if most is None else min(most, total)
        self._busy: dict[int, float] = {}  # id(writer) -> when it last wrote
        self._counted_at = -1e300
        self._share = self.most

    @property
    def busy(self) -> int:
        """Writers counted busy at the last count."""
        return len(self._busy)

    def grant(self, writer: object, floor: int, now: float) -> int:
        """Bytes of memory ``writer`` may hold now (it writes at ``now``, seconds on a monotonic
        clock): its share, at least ``floor`` (its own memory)."""
        busy = self._busy
        fresh = id(writer) not in busy
        busy[id(writer)] = now
        if fresh or now - self._counted_at >= _RECOUNT:
            self._recount(now)
        return max(floor, self._share)

    def leave(self, writer: object) -> None:
        """``writer`` writes no more (closed): its share goes to the others."""
        if self._busy.pop(id(writer), None) is not None:
            self._counted_at = -1e300  # recount at the next grant

    def _recount(self, now: float) -> None:
        busy = self._busy
        idle = [key for key, at in busy.items() if now - at > IDLE_AFTER]
        for key in idle:
            del busy[key]
        self._share = min(self.most, self.total // max(len(busy), 1))
        self._counted_at = now
