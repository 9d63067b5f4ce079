"""What a reader knows about a spool at one moment.

A :class:`~ccstream.spool.Source` gives one immutable :class:`SpoolState` per ``snapshot()``:
everything in it is readable, so a read bounded by it never sees half of what is appended
meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._events import Gap

__all__ = ["SpoolState"]


@dataclass(frozen=True, slots=True)
class SpoolState:
    """A consistent view of a spool. Per-stream pairs are ``(stdout, stderr)``; sizes in bytes.

    ``records``: frames in the order log; ``sizes``: bytes of each stream written; ``newlines``
    and ``open_line`` (the last byte written is not a newline): ``None`` when not known without a
    scan (a spool read from another process while it is written); ``checkpoints``: index records
    per stream; ``gaps``: the quota gaps (at most one per stream: drops are always the oldest
    middle segment) and, once complete, the ``"disk_error"`` ones; ``complete``: nothing more
    will be written; ``error``: why the spool stopped early, if it did; ``returncode`` and
    ``reason``: how the run ended, once known.
    """

    records: int = 0
    sizes: tuple[int, int] = (0, 0)
    newlines: tuple[int, int] | None = (0, 0)
    open_line: tuple[bool, bool] | None = (False, False)
    checkpoints: tuple[int, int] = (1, 1)
    gaps: tuple[Gap, ...] = ()
    complete: bool = False
    error: str | None = None
    returncode: int | None = None
    reason: str | None = None

    def gap(self, sid: int, reason: str = "quota") -> Gap | None:
        """The gap of stream ``sid`` with ``reason``, if any."""
        stream = "stdout" if sid == 0 else "stderr"
        for gap in self.gaps:
            if gap.stream == stream and gap.reason == reason:
                return gap
        return None
