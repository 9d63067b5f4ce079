"""Which middle segment the quota may drop next, given where the live readers are (sans-I/O).

A reader of the spool in the writing process (a :class:`~ccstream.spool._follow.Follower`:
``Spool.follow``, and the run's own events while they are iterated) registers a
:class:`ReaderMark`: the list of byte offsets it has taken so far, per stream, which the reader
updates as it goes anyway. Registering costs nothing per frame; the writer looks at the marks
only when the quota is spent, at most once per segment.

Under the ``"pause"`` policy a segment may be dropped only when every reader that wants its
stream has taken all of it. Drops stay oldest first within each stream (so each stream keeps a
single gap), but a passed segment of one stream may go before an unread older one of the other.
When no segment may go, the writer holds the run: its pump stops reading the pipe until a reader
moves on (see :class:`~ccstream.SpoolOptions`, ``on_quota``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

__all__ = ["QuotaPolicy", "ReaderMark", "bytes_behind", "next_drop", "slowest"]

QuotaPolicy = Literal["pause", "drop"]
"""What a spool does when its quota would drop bytes a live reader has not read: ``"pause"``
holds the child (its pipe fills) until the reader moves on; ``"drop"`` drops them (counted)."""


class ReaderMark:
    """Where one live reader is: ``pos[sid]`` is the byte offset up to which it has taken stream
    ``sid`` (0 stdout, 1 stderr) from the spool; streams it does not want (``want[sid]`` false)
    never hold the writer. The reader owns both lists and updates ``pos`` in place."""

    __slots__ = ("pos", "want")

    def __init__(self, pos: list[int], want: list[bool]) -> None:
        self.pos = pos
        self.want = want


def slowest(marks: Iterable[ReaderMark]) -> tuple[int | None, int | None]:
    """The lowest offset any reader has reached, per stream; ``None`` where no reader wants it."""
    low: list[int | None] = [None, None]
    for mark in marks:
        for sid in (0, 1):
            if mark.want[sid]:
                seen = low[sid]
                pos = mark.pos[sid]
                low[sid] = pos if seen is None or pos < seen else seen
    return low[0], low[1]


def bytes_behind(sizes: Sequence[int], marks: Iterable[ReaderMark]) -> list[int]:
    """Bytes each reader has still to take of the streams it wants, when the streams hold
    ``sizes`` bytes (what :meth:`Store.behind <ccstream.spool.Store.behind>` reports)."""
    return [
        sum(max(sizes[sid] - mark.pos[sid], 0) for sid in (0, 1) if mark.want[sid])
        for mark in marks
    ]


def next_drop(
    middle: Sequence[tuple[int, int, int]],
    segment_size: int,
    low: tuple[int | None, int | None],
) -> int | None:
    """The position in ``middle`` of the segment to drop next, or ``None`` when every one holds
    bytes a reader has not taken.

    ``middle``: the finished middle segments, oldest first, as ``(sid, segment index, newlines)``;
    ``segment_size`` in bytes; ``low``: :func:`slowest` of the readers. The first segment (in
    ``middle``'s order) whose end every reader of its stream has reached is the one: a stream's
    segments come in offset order and readers only move forward, so when a stream's oldest
    segment is unread so are all its later ones, and a stream's drops stay contiguous.
    """
    for i, (sid, index, _lines) in enumerate(middle):
        reached = low[sid]
        if reached is None or reached >= (index + 1) * segment_size:
            return i
    return None
