"""The newest batches of a spool, kept in memory for the readers that keep up.

A consumer that keeps up with the child takes the very frame objects the pump made from here,
without reading them back from the files. The cache holds at most ``max_bytes`` (and
``max_frames``) of batches already on disk; a batch the disk thread has not written yet is never
dropped, since a reader that falls behind must then find it in the files.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from ..._events import Output

__all__ = ["RecentBatches"]


class RecentBatches:
    """Batches in order-record order: batch i holds the frames of records ``first[i]`` onwards.

    Lists with a moving start, compacted now and then, so that a lookup is a bisection and
    eviction drops whole batches without shifting the lists each time.
    """

    __slots__ = (
        "_bytes",
        "_count",
        "_first",
        "_frames",
        "_sizes",
        "_start",
        "max_bytes",
        "max_frames",
    )

    def __init__(self, *, max_bytes: int, max_frames: int) -> None:
        self.max_bytes = max_bytes
        self.max_frames = max_frames
        self._first: list[int] = []
        self._frames: list[Sequence[Output]] = []
        self._sizes: list[int] = []
        self._start = 0
        self._bytes = 0
        self._count = 0

    @property
    def nbytes(self) -> int:
        """Bytes of frames held."""
        return self._bytes

    def add(self, first: int, frames: Sequence[Output], nbytes: int) -> None:
        """Keep ``frames`` (``nbytes`` bytes), the frames of records ``first`` onwards."""
        self._first.append(first)
        self._frames.append(frames)
        self._sizes.append(nbytes)
        self._bytes += nbytes
        self._count += len(frames)

    def get(self, record: int) -> tuple[int, Sequence[Output]] | None:
        """``(first record, frames)`` of the batch holding ``record``, if it is still here."""
        first = self._first
        i = bisect.bisect_right(first, record, self._start) - 1
        if i >= self._start:
            frames = self._frames[i]
            if record < first[i] + len(frames):
                return first[i], frames
        return None

    def evict(self, written: int) -> None:
        """Drop the oldest batches while over the bounds, but only those whose records are all
        below ``written`` (on disk)."""
        start = self._start
        first = self._first
        frames = self._frames
        while (
            start < len(first)
            and (self._bytes > self.max_bytes or self._count > self.max_frames)
            and first[start] + len(frames[start]) <= written
        ):
            self._bytes -= self._sizes[start]
            self._count -= len(frames[start])
            frames[start] = ()  # let the frames go now; the slot goes at the next compaction
            start += 1
        if start > 256 and start * 2 > len(first):
            del first[:start], frames[:start], self._sizes[:start]
            start = 0
        self._start = start
