"""The terminal style (SGR) in effect where a page starts: the ``page`` result's ``sgr``.

The viewer colours a page from the middle of a run without reading what came before: the
server tells it the style its first line starts in. That style is what the bytes from a line
checkpoint before the line leave in effect (:class:`~ccstream_ws.protocol._sgr.SgrState`),
starting from the default style there: the checkpoint at or before ``STYLE_WINDOW`` bytes ahead
of the line, so the work is bounded (at most ``2 * STYLE_WINDOW`` bytes read and scanned) and a
page near the start of a stream is exact. So is the style after a full reset (SGR 0) in the
scanned bytes, which tools that colour their output send after each coloured stretch. Otherwise
a colour set further back and never reset since is not carried: the result's ``sgr_exact`` says
which (and ``sgr_from`` where the scan began). After a quota gap the style starts from the
default again, as the bytes before it are gone.
"""

from __future__ import annotations

from ccstream.spool import Source

from ..protocol._sgr import SgrState

__all__ = ["STYLE_WINDOW", "style_at"]

STYLE_WINDOW = 1024 * 1024
"""Bytes before a page's first line that are always scanned for its style (see above)."""
_BLOCK = 256 * 1024


def _scan_start(source: Source, sid: int, offset: int) -> int:
    """The offset of the last line checkpoint at or before ``offset - STYLE_WINDOW`` (a frame
    start, so no sequence is entered half-way), never more than ``2 * STYLE_WINDOW`` back."""
    target = max(0, offset - STYLE_WINDOW)
    lo, hi = 0, source.checkpoint_count(sid)
    while lo < hi:
        mid = (lo + hi) // 2
        if source.checkpoint(sid, mid).offset <= target:
            lo = mid + 1
        else:
            hi = mid
    start = source.checkpoint(sid, lo - 1).offset if lo else 0
    return max(start, offset - 2 * STYLE_WINDOW)


def style_at(source: Source, sid: int, offset: int) -> tuple[str, int, bool]:
    """``(the SGR parameters in effect at byte offset of stream sid, where the scan began,
    whether they are exact)``.

    Calls the source's blocking primitives: run it inside :meth:`Source.run_sync`.
    """
    if offset <= 0:
        return "", 0, True
    start = _scan_start(source, sid, offset)
    state = SgrState()
    exact = start == 0
    size = source.segment_size
    reader = source.ranges(keep_open=2)
    try:
        pos = start
        while pos < offset:
            end = min(offset, pos + _BLOCK, (pos // size + 1) * size)
            data, missing = reader.read(sid, pos, end)
            state.feed(data)
            if missing is not None:
                state.reset()  # dropped by the quota: what it set is gone with it
                exact = False
            pos = end
    finally:
        reader.close()
    return state.params(), start, exact or state.anchored
