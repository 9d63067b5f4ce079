"""Drop a stream's spooled bytes from the page cache once they are far enough behind its end.

Why: every byte written to a file lands in a page-cache page. Left alone, a multi-gigabyte spool
pushes every other file out of the cache; and on virtual machines that hand freed memory back
to the host (free page reporting, ballooning) each fresh page costs far more to touch than the
copy into it, several times the cost of writing into pages freed a moment before
(benchmarks/README.md, the spool's bulk figures). Dropping the pages ``keep`` bytes behind the
end as we go makes the next writes reuse pages the guest just freed.
``posix_fadvise(DONTNEED)`` starts the writeback of dirty pages and drops the clean ones; so
each byte is advised twice, once ``keep`` bytes behind the end (which mostly
starts its writeback) and again one ``keep`` later (which drops it), in calls every quarter
``keep``. Readers that far behind read from disk; the ones that keep up read from memory or
from the last ``keep`` bytes.
Where ``posix_fadvise`` is missing (macOS) this does nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

__all__ = ["CacheTrim", "drop_cached"]

_fadvise = getattr(os, "posix_fadvise", None)
_DONTNEED: int = getattr(os, "POSIX_FADV_DONTNEED", 4)


class CacheTrim:
    """Advises the kernel about one stream whose segments hold ``segment_size`` bytes each.

    ``keep``: bytes at the end of the stream left cached. ``open_segment(index)`` gives a file
    descriptor of a segment (or ``None`` when it is gone) that :meth:`advance` closes again.
    ``advise(fd, start, end)`` drops bytes ``[start, end)`` of a file from the cache.
    """

    __slots__ = ("_advise", "_first", "_open", "_second", "_size", "_step", "keep")

    def __init__(
        self,
        keep: int,
        segment_size: int,
        open_segment: Callable[[int], int | None],
        advise: Callable[[int, int, int], None] | None = None,
    ) -> None:
        self.keep = keep
        self._size = segment_size
        self._open = open_segment
        self._advise = advise or drop_cached
        self._step = max(keep // 4, 1)  # bytes between two calls: few syscalls
        # Stream offsets below which every byte had its first advice, and its second.
        self._first = 0
        self._second = 0

    def advance(self, written: int, current: tuple[int, int] | None) -> None:
        """The stream has ``written`` bytes on disk; ``current`` is the (segment index, file
        descriptor) being written, which is used as is rather than opened again."""
        high = written - self.keep
        if high - self._first < self._step:
            return
        second = max(self._second, high - self.keep)
        # The second advice of the older range, then the first advice of the newer one.
        if second > self._second:
            self._range(self._second, second, current)
        self._range(self._first, high, current)
        self._first = high
        self._second = second

    def _range(self, low: int, high: int, current: tuple[int, int] | None) -> None:
        size = self._size
        for index in range(low // size, (high - 1) // size + 1):
            start = max(low, index * size) - index * size
            end = min(high, (index + 1) * size) - index * size
            if current is not None and current[0] == index:
                self._advise(current[1], start, end)
                continue
            fd = self._open(index)
            if fd is None:
                continue
            try:
                self._advise(fd, start, end)
            finally:
                os.close(fd)


def drop_cached(fd: int, start: int, end: int) -> None:
    """Ask the kernel to write back and drop bytes ``[start, end)`` of ``fd`` from its cache."""
    if _fadvise is not None:
        # Advice is best effort: a file system that refuses it loses nothing but speed.
        with contextlib.suppress(OSError):
            _fadvise(fd, start, end - start, _DONTNEED)
