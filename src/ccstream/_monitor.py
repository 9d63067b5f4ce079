"""Memory sampling of this process and of the child's process tree, off the event loop.

On Linux a sample reads ``/proc/PID/statm`` of this process and of each process of the tree,
found by :func:`ccstream._lifetime.descendants` (a walk of the tree's own ``children`` files):
the same resident set size psutil reports, at a cost proportional to the tree, not to the
machine, and without importing psutil. Elsewhere psutil does both, imported on first use. It is
blocking I/O either way, so every sample runs in a worker thread and the loop only awaits its
result.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from dataclasses import dataclass

import anyio
import anyio.to_thread

from ._lifetime import descendants

__all__ = ["MemoryMonitor", "Sample", "host_rss"]

log = logging.getLogger("ccstream")

_STATM = sys.platform.startswith("linux") and os.path.exists("/proc/self/statm")
_PAGE = os.sysconf("SC_PAGE_SIZE") if _STATM else 0


def _statm_rss(pid: int | str) -> int | None:
    """The RSS of ``pid`` (or ``"self"``) in bytes from ``/proc``; ``None`` when it is gone."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return None


def host_rss() -> int:
    """This process's resident set size, in bytes."""
    if _STATM:
        rss = _statm_rss("self")
        if rss is not None:
            return rss
    import psutil

    return int(psutil.Process().memory_info().rss)


def tree_rss(pid: int) -> int | None:
    """The summed RSS of ``pid`` and its descendants, in bytes; ``None`` when ``pid`` is gone."""
    if _STATM:
        total = _statm_rss(pid)
        if total is None:
            return None
        for child, _parent in descendants(pid):
            # A descendant may exit between the listing and the read; it then holds no memory.
            total += _statm_rss(child) or 0
        return total
    return _psutil_tree_rss(pid)


def _psutil_tree_rss(pid: int) -> int | None:
    import psutil

    try:
        root = psutil.Process(pid)
        total = int(root.memory_info().rss)
        children = root.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return None
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            total += int(child.memory_info().rss)
    return total


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading: host RSS and child tree RSS in bytes (``None`` if the child was gone)."""

    host: int
    tree: int | None


def _sample(pid: int) -> Sample:
    return Sample(host=host_rss(), tree=tree_rss(pid))


class MemoryMonitor:
    """Samples every ``interval`` seconds; keeps the peaks; trips when the tree's RSS exceeds
    ``limit`` bytes."""

    def __init__(self, pid: int, *, interval: float, limit: int | None) -> None:
        self.pid = pid
        self.interval = interval
        self.limit = limit
        self.host_start = host_rss()
        self.peak_host = self.host_start
        self.peak_tree: int | None = None
        self.tripped = anyio.Event()
        """Set when the tree's RSS went over ``limit``."""

    def record(self, sample: Sample) -> None:
        """Fold one sample into the peaks and check the ceiling."""
        self.peak_host = max(self.peak_host, sample.host)
        if sample.tree is not None:
            self.peak_tree = max(self.peak_tree or 0, sample.tree)
            if self.limit is not None and sample.tree > self.limit:
                self.tripped.set()

    async def sample_once(self) -> None:
        """Take one sample in a worker thread."""
        self.record(await anyio.to_thread.run_sync(_sample, self.pid, abandon_on_cancel=True))

    async def run(self) -> None:
        """Sample until cancelled."""
        while True:
            await self.sample_once()
            await anyio.sleep(self.interval)
