"""The records every spool store speaks in: a frame's order record and a line checkpoint.

They are the units of :class:`~ccstream.spool.Source` (``records``, ``checkpoint``). Their
packed forms, :data:`FRAME` and :data:`CHECKPOINT`, are what the line indexer emits and what the
local store writes to its files as they are.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

__all__ = ["CHECKPOINT", "FRAME", "TIME", "Checkpoint", "Record"]

FRAME: Final = struct.Struct("<QQQQII")
"""One frame in arrival order: stdout's and stderr's byte offsets before this frame (so any
record tells both streams' positions, and a start offset is found by bisection), the newlines of
the frame's own stream before it, its ``seq``, its length, and flags: ``invalid_bytes << 1``
plus the stream (0 stdout, 1 stderr). 40 bytes per frame: 0.06% of a 64 KiB frame."""

TIME: Final = struct.Struct("<Q")
"""A frame's arrival time, in nanoseconds since the epoch: the optional companion of a
:data:`FRAME` record (record ``i``'s time is time ``i``; a store may keep none)."""

CHECKPOINT: Final = struct.Struct("<QQ")
"""A line checkpoint: the newlines before ``offset``, then ``offset << 1`` plus 1 when a line
starts exactly there (the byte before is a newline, or it is offset 0)."""


class Record(NamedTuple):
    """One decoded FRAME record."""

    stdout_before: int
    stderr_before: int
    newlines_before: int
    seq: int
    length: int
    flags: int

    @property
    def stream_id(self) -> int:
        return self.flags & 1

    @property
    def offset(self) -> int:
        """Byte offset of the frame in its own stream."""
        return self.stderr_before if self.flags & 1 else self.stdout_before

    @property
    def invalid_bytes(self) -> int:
        return self.flags >> 1


class Checkpoint(NamedTuple):
    """``newlines`` newlines lie before ``offset``; ``line_start``: a line begins there."""

    newlines: int
    offset: int
    line_start: bool
