"""Line index arithmetic for the spool: sans-I/O, no files, no anyio.

A stream's index is a sorted list of sparse checkpoints ``(newlines before offset, offset, a line
starts at offset)``. The :class:`Indexer` decides where they go as frames are appended: at the
first frame start after ``every_lines`` lines or ``every_bytes`` bytes since the last one, and at
every segment boundary (so each segment's line count is known even after the segment itself was
dropped, and a scan between two checkpoints never leaves one segment). Finding line ``k`` is then
a bisection over the checkpoints plus a scan of at most about ``every_bytes`` plus one frame.

Checkpoints only sit at frame starts and segment boundaries, so the hot path costs a few integer
comparisons per frame; the newline count per frame is the only pass over the bytes.
"""

from __future__ import annotations

from collections.abc import Callable

from ._records import CHECKPOINT, Checkpoint

__all__ = ["Indexer", "count_upto", "find_line", "find_offset", "nth_newline"]


class Indexer:
    """Checkpoints of one stream.

    ``every_lines``, ``every_bytes``: the most lines and bytes between two checkpoints before the
    next frame start gets one. ``segment_size``: bytes per segment; each boundary gets one.
    The checkpoint at offset 0 is implicit: the spool writes it when the index is created.

    The caller keeps the stream position and calls :meth:`feed` only for frames that
    :meth:`due` says may bring a checkpoint; the three ``due_*`` thresholds let a hot loop make
    that test inline, without a call per frame.
    """

    __slots__ = (
        "_every_bytes",
        "_every_lines",
        "_last_newlines",
        "_last_offset",
        "_segment_size",
        "due_end",
        "due_newlines",
        "due_offset",
    )

    def __init__(self, *, every_lines: int, every_bytes: int, segment_size: int) -> None:
        self._every_lines = every_lines
        self._every_bytes = every_bytes
        self._segment_size = segment_size
        self._last_newlines = 0
        self._last_offset = 0
        self.due_offset = 0
        """A frame starting at or after this offset may bring a checkpoint..."""
        self.due_end = 0
        """...or one ending after this offset (it crosses a segment boundary)..."""
        self.due_newlines = 0
        """...or one starting after this many newlines."""
        self._set_due()

    def _set_due(self) -> None:
        size = self._segment_size
        boundary = (self._last_offset // size + 1) * size
        self.due_end = boundary
        self.due_offset = min(self._last_offset + self._every_bytes, boundary)
        self.due_newlines = self._last_newlines + self._every_lines

    def due(self, start: int, end: int, newlines: int) -> bool:
        """True when the frame ``[start, end)`` after ``newlines`` newlines must be fed."""
        return start >= self.due_offset or end > self.due_end or newlines >= self.due_newlines

    def feed(
        self, data: bytes, start: int, newlines: int, line_start: bool, out: bytearray
    ) -> None:
        """Account for the frame ``data`` at offset ``start``, after ``newlines`` newlines
        (``line_start``: a line begins at ``start``); append the packed checkpoints it brings to
        ``out``. Frames for which :meth:`due` is false may be skipped."""
        size = self._segment_size
        end = start + len(data)
        if start != self._last_offset and (
            start % size == 0
            or newlines - self._last_newlines >= self._every_lines
            or start - self._last_offset >= self._every_bytes
        ):
            self._add(newlines, start, line_start, out)
        boundary = (start // size + 1) * size
        if boundary < end:
            # Rare: the frame straddles segment boundaries; count up to each of them.
            count = newlines
            pos = 0
            while boundary < end:
                cut = boundary - start
                count += data.count(b"\n", pos, cut)
                self._add(count, boundary, data[cut - 1] == 10, out)
                pos = cut
                boundary += size
        self._set_due()

    def _add(self, newlines: int, offset: int, line_start: bool, out: bytearray) -> None:
        out += CHECKPOINT.pack(newlines, offset << 1 | line_start)
        self._last_newlines = newlines
        self._last_offset = offset


def find_line(get: Callable[[int], Checkpoint], count: int, line: int) -> Checkpoint:
    """The checkpoint to start from to find where line ``line`` starts (line 0 at offset 0).

    Of the ``count`` checkpoints (``get(i)`` returns the i-th, sorted), the last with fewer than
    ``line`` newlines before it, or with exactly ``line`` and a line starting there (then that
    offset is the answer). The predicate holds for a prefix of the list, so this is a bisection.
    """
    lo, hi = 0, count
    while lo < hi:
        mid = (lo + hi) // 2
        cp = get(mid)
        if cp.newlines < line or (cp.newlines == line and cp.line_start):
            lo = mid + 1
        else:
            hi = mid
    if lo == 0:
        raise ValueError("the first checkpoint must be (0, 0, line start)")
    return get(lo - 1)


def find_offset(get: Callable[[int], Checkpoint], count: int, offset: int) -> Checkpoint | None:
    """The checkpoint at exactly ``offset``, or ``None`` when there is none."""
    lo, hi = 0, count
    while lo < hi:
        mid = (lo + hi) // 2
        if get(mid).offset < offset:
            lo = mid + 1
        else:
            hi = mid
    if lo < count:
        cp = get(lo)
        if cp.offset == offset:
            return cp
    return None


def count_upto(get: Callable[[int], Checkpoint], count: int, offset: int) -> int:
    """How many of the ``count`` checkpoints lie at or before ``offset`` (a bisection): the last
    of them is ``get(n - 1)``, none when it is 0."""
    lo, hi = 0, count
    while lo < hi:
        mid = (lo + hi) // 2
        if get(mid).offset <= offset:
            lo = mid + 1
        else:
            hi = mid
    return lo


def nth_newline(data: bytes, k: int) -> int:
    """Index in ``data`` of its ``k``-th newline (``k >= 1``); ``ValueError`` if it has fewer.

    Bisects with ``bytes.count`` down to a short window, then finds: about two passes over
    ``data`` in C, however many lines it holds.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    lo, hi = 0, len(data)
    while hi - lo > 256:
        mid = (lo + hi) // 2
        c = data.count(b"\n", lo, mid)
        if c >= k:
            hi = mid
        else:
            k -= c
            lo = mid
    pos = lo - 1
    for _ in range(k):
        pos = data.find(b"\n", pos + 1, hi)
        if pos < 0:
            raise ValueError("fewer newlines than asked for")
    return pos
