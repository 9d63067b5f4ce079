"""When each line of a page arrived: the time of the frame that holds the line's first byte.

The order records carry each frame's start offset in both streams, so the frame holding an
offset is found by bisection; the lines of a page lie in a few neighbouring frames, so after the
first one the records are read forward in small blocks, and only a line beyond that block is
bisected for again. Work per page: a bisection per block of frames it spans, never a scan of the
whole log.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..exceptions import SpoolError
from ._base import Source
from ._records import Record

__all__ = ["line_times"]

_AHEAD = 64
"""Records read forward from the last frame found before a line is bisected for instead."""


def _before(rec: Record, sid: int) -> int:
    return rec.stderr_before if sid else rec.stdout_before


def _find(source: Source, sid: int, offset: int, lo: int, hi: int) -> int:
    """The record in ``[lo, hi)`` of the frame of stream ``sid`` holding byte ``offset``: the
    last record whose ``sid`` offset is at most ``offset`` (frames are never empty, so a record
    of the other stream after it already counts that frame's bytes)."""
    while lo < hi:
        mid = (lo + hi) // 2
        found = source.records(mid, 1)
        if not found:
            raise SpoolError(f"order record {mid} is missing")
        if _before(found[0], sid) > offset:
            hi = mid
        else:
            lo = mid + 1
    return lo - 1


def line_times(
    source: Source, records: int, sid: int, offsets: Sequence[int]
) -> list[float] | None:
    """The arrival times, in seconds since the epoch, of the frames of stream ``sid`` holding
    each of ``offsets`` (ascending byte offsets below what the first ``records`` records hold);
    ``None`` when the source keeps no times. Blocking: call it inside ``run_sync``."""
    if source.times(0, 1) is None:
        return None
    out: list[float] = []
    block: list[Record] = []
    block_times: list[int] = []
    block_start = 0
    r = 0
    for offset in offsets:
        i = r - block_start
        # Walk forward from the frame of the line before, within the block read ahead.
        while i < len(block):
            rec = block[i]
            if rec.stream_id == sid and rec.offset <= offset < rec.offset + rec.length:
                break
            i += 1
        else:
            block_start = _find(source, sid, offset, r, records)
            if block_start < 0:
                raise SpoolError(f"no frame holds offset {offset} of stream {sid}")
            ahead = min(_AHEAD, records - block_start)
            block = source.records(block_start, ahead)
            times = source.times(block_start, ahead)
            if times is None or len(times) < len(block) or not block:
                return None  # times end early (a spool cut short): none rather than wrong ones
            block_times = times
            i = 0
        r = block_start + i
        out.append(block_times[i] / 1e9)
    return out
