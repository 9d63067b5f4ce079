"""Memory sampling of this process and of the child's process tree, off the event loop.

psutil walks ``/proc`` (or calls sysctl on macOS) for every process of the tree; that is blocking
I/O, so every sample runs in a worker thread and the loop only awaits its result.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import anyio
import anyio.to_thread
import psutil

__all__ = ["MemoryMonitor", "Sample", "host_rss"]

log = logging.getLogger("ccstream")

_HOST = psutil.Process()


def host_rss() -> int:
    """This process's resident set size, in bytes."""
    return int(_HOST.memory_info().rss)


def tree_rss(pid: int) -> int | None:
    """The summed RSS of ``pid`` and its descendants, in bytes; ``None`` when ``pid`` is gone."""
    try:
        root = psutil.Process(pid)
        total = int(root.memory_info().rss)
        children = root.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return None
    for child in children:
        # A descendant may exit between the listing and the read; it then holds no memory.
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
