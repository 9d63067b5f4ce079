"""The terminal style (SGR) in effect where a page starts: the ``page`` result's ``sgr``.

The viewer colours a page from the middle of a run without reading what came before: the
server tells it the style its first line starts in: what the bytes before the line leave in
effect (:class:`~ccstream_ws.protocol._sgr.SgrState`), scanned from the default style over a
window before the line that grows (64 KiB, 256 KiB, 1 MiB, then from the line checkpoint at or
before 1 MiB ahead, at most 2 MiB) until it holds a full reset (SGR 0) or reaches the stream's
start. Either makes the style exact: tools that colour their output reset after each coloured
stretch, so output full of escapes stops at the first window and plain output costs a search for
ESC; the work is bounded by about twice the last window. A colour set further back and never
reset since is not carried: the result's ``sgr_exact`` says which (and ``sgr_from`` where the
scan began). After a quota gap the style starts from the default again, as the bytes before it
are gone.
"""

from __future__ import annotations

from ccstream.spool import Source
from ccstream.spool._index import count_upto

from ..protocol._sgr import SgrState

__all__ = ["STYLE_WINDOW", "style_at"]

STYLE_WINDOW = 1024 * 1024
"""Bytes before a page's first line scanned for its style before the last, widest try (see
above)."""
_BLOCK = 256 * 1024
_WINDOWS = (64 * 1024, 256 * 1024, STYLE_WINDOW, 2 * STYLE_WINDOW)


def _scan_start(source: Source, sid: int, offset: int) -> int:
    """The offset of the last line checkpoint at or before ``offset - STYLE_WINDOW`` (a frame
    start, so no sequence is entered half-way), never more than ``2 * STYLE_WINDOW`` back."""
    target = max(0, offset - STYLE_WINDOW)
    n = count_upto(lambda i: source.checkpoint(sid, i), source.checkpoint_count(sid), target)
    start = source.checkpoint(sid, n - 1).offset if n else 0
    return max(start, offset - 2 * STYLE_WINDOW)


def _scan(source: Source, sid: int, start: int, offset: int) -> tuple[SgrState, bool]:
    """The tracker after bytes ``[start, offset)`` of stream ``sid``, and whether a quota gap
    lay in them."""
    state = SgrState()
    size = source.segment_size
    gap = False
    reader = source.ranges(keep_open=2)
    try:
        pos = start
        while pos < offset:
            end = min(offset, pos + _BLOCK, (pos // size + 1) * size)
            data, missing = reader.read(sid, pos, end)
            state.feed(data)
            if missing is not None:
                state.reset()  # dropped by the quota: what it set is gone with it
                gap = True
            pos = end
    finally:
        reader.close()
    return state, gap


def style_at(source: Source, sid: int, offset: int) -> tuple[str, int, bool]:
    """``(the SGR parameters in effect at byte offset of stream sid, where the scan began,
    whether they are exact)``.

    Calls the source's blocking primitives: run it inside :meth:`Source.run_sync`.
    """
    if offset <= 0:
        return "", 0, True
    for window in _WINDOWS:
        start = max(0, offset - window)
        if window > STYLE_WINDOW:
            start = _scan_start(source, sid, offset)
        state, gap = _scan(source, sid, start, offset)
        exact = state.anchored or (start == 0 and not gap)
        if exact or start == 0:
            break
    return state.params(), start, exact
