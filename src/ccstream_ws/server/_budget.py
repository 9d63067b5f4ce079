"""The server's spool budget, sans-I/O: how many bytes an execution counts for, which ended
executions to evict to admit another, and when to refuse it.

Every execution counts against the budget from the moment it is admitted until its spool is
deleted. A running execution counts for its *reservation*: its quota plus an allowance for what
the quota does not cover (a segment's worth: block rounding, the order log and line index, the
moment a dropped segment is still on disk), or for what its spool measures when that is more.
An ended execution counts for what its spool measures. Only ended executions can be evicted,
the one that ended first goes first, and a run is refused rather than admitted over the budget:
nothing is evicted for a run that cannot start anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ccstream import SpoolOptions
from ccstream.spool import MemoryPool

if TYPE_CHECKING:
    from ..protocol._params import QuotaChoice
    from ._config import ServerConfig

__all__ = [
    "spool_options",
    "ALLOWANCE_FLOOR",
    "SPOOL_MEMORY",
    "SPOOL_MEMORY_MOST",
    "memory_pool",
    "hold_outlives_owner",
    "reader_hold",
    "SEGMENT_MAX",
    "Eviction",
    "Holding",
    "Plan",
    "admit",
    "quota_for",
    "reservation",
    "segment_size",
    "shed",
]

KiB = 1024
MiB = 1024 * KiB
SEGMENT_MAX = 64 * MiB
"""The largest spool segment the server uses, in bytes."""
SEGMENTS_PER_QUOTA = 16
"""A quota is spent in whole segments; sixteen per quota keep a drop to one sixteenth of it."""
ALLOWANCE_FLOOR = 64 * KiB
"""Bytes added to every reservation beyond its segment: the spool's small files and the
directory, whatever the quota."""


def segment_size(quota: int | None) -> int:
    """Bytes per spool segment for an execution with ``quota`` bytes (``None``: no quota)."""
    if quota is None:
        return SEGMENT_MAX
    return min(SEGMENT_MAX, quota // SEGMENTS_PER_QUOTA)


def reservation(quota: int) -> int:
    """Bytes a running execution with ``quota`` bytes counts for against the budget."""
    return quota + segment_size(quota) + ALLOWANCE_FLOOR


def quota_for(share: int) -> int:
    """The largest quota whose :func:`reservation` fits in ``share`` bytes (0 if none does)."""
    room = share - ALLOWANCE_FLOOR
    if room <= 0:
        return 0
    # quota + quota // 16 <= room while the segment is under its cap; past it a fixed segment.
    quota = room * SEGMENTS_PER_QUOTA // (SEGMENTS_PER_QUOTA + 1)
    if segment_size(quota) >= SEGMENT_MAX:
        quota = room - SEGMENT_MAX
    # The estimate is off by a few bytes of rounding at most: settle it exactly.
    while quota > 0 and reservation(quota) > share:
        quota -= 1
    while reservation(quota + 1) <= share:
        quota += 1
    return max(quota, 0)


@dataclass(frozen=True, slots=True)
class Holding:
    """What one execution holds of the budget: ``key`` (its id), ``size`` in bytes,
    ``evictable`` (ended, its spool closed) and ``ended_at`` (when it ended, seconds on any
    monotonic clock: the order of eviction)."""

    key: str
    size: int
    evictable: bool = False
    ended_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Plan:
    """The answer to :func:`admit`: ``admitted``; ``evict``, the keys to evict first, oldest
    first; ``used``, the bytes counted once the plan is carried out (the new run included when
    admitted, nothing evicted when refused)."""

    admitted: bool
    evict: tuple[str, ...]
    used: int


def _oldest_first(holdings: Iterable[Holding]) -> list[Holding]:
    return sorted((h for h in holdings if h.evictable), key=lambda h: (h.ended_at, h.key))


def admit(budget: int, holdings: Sequence[Holding], need: int) -> Plan:
    """Whether a run counting ``need`` bytes fits in ``budget`` bytes beside ``holdings``, and
    which ended executions must be evicted for it; refused when evicting every one would not
    make room."""
    used = sum(h.size for h in holdings)
    left = used
    evict: list[str] = []
    for holding in _oldest_first(holdings):
        if left + need <= budget:
            break
        evict.append(holding.key)
        left -= holding.size
    if left + need > budget:
        return Plan(False, (), used)
    return Plan(True, tuple(evict), left + need)


def shed(budget: int, holdings: Sequence[Holding]) -> tuple[str, ...]:
    """The ended executions to evict, oldest first, until ``holdings`` fit in ``budget`` bytes
    (all of them, when running executions alone hold more)."""
    left = sum(h.size for h in holdings)
    evict: list[str] = []
    for holding in _oldest_first(holdings):
        if left <= budget:
            break
        evict.append(holding.key)
        left -= holding.size
    return tuple(evict)


@dataclass(frozen=True, slots=True)
class Eviction:
    """Why an execution's spool was deleted before its time: ``execution_id``, ``size`` (bytes
    it freed), ``budget`` (bytes) and ``at`` (seconds since the epoch)."""

    execution_id: str
    size: int
    budget: int
    at: float

    @property
    def message(self) -> str:
        """One sentence for logs, errors and the reader that was cut off."""
        return (
            f"execution {self.execution_id} was evicted: its spool ({self.size} bytes) made room "
            f"within the server's spool budget of {self.budget} bytes"
        )

    def fields(self) -> dict[str, object]:
        """The members that ``process.expired`` and the error's ``data`` carry."""
        return {
            "execution_id": self.execution_id,
            "reason": "spool_budget",
            "bytes": self.size,
            "budget": self.budget,
            "evicted_at": self.at,
        }


_SPOOL_MEMORY = 2 * MiB
SPOOL_MEMORY = 64 * MiB
"""Bytes of spooled output the server's busy executions share in memory
(:class:`~ccstream.spool.MemoryPool`): mostly their caches of recent frames, from which a
client that keeps up takes its frames."""
SPOOL_MEMORY_MOST = 16 * MiB
"""The most of :data:`SPOOL_MEMORY` one busy execution gets, in bytes."""


def reader_hold(on_quota: QuotaChoice) -> bool | None:
    """How a run's quota waits for the owner's reader (it comes just after the run started),
    by ``execute``'s ``on_quota``: ``None``, it does not (``"drop"``); else the ``again`` of
    :meth:`~ccstream.spool.LocalStore.hold_for_reader`: ``True`` (``"pause"``) holds each time
    the last reader leaves, ``False`` (``"auto"``) only until the first reader comes, and the
    hold ends when the owner leaves (:func:`hold_outlives_owner`)."""
    if on_quota == "drop":
        return None
    return on_quota == "pause"


def hold_outlives_owner(on_quota: QuotaChoice) -> bool:
    """Whether the quota's hold for a reader to come stays once the owner left (``"pause"``);
    under ``"auto"`` nobody is waited for any more, unless a client follows."""
    return on_quota != "auto"


def memory_pool() -> MemoryPool:
    """The server's spool memory, shared by its busy executions."""
    return MemoryPool(SPOOL_MEMORY, most=SPOOL_MEMORY_MOST)


def spool_options(
    config: ServerConfig,
    execution_id: str,
    chunk_size: int = 64 * 1024,
    on_quota: QuotaChoice = "auto",
    pool: MemoryPool | None = None,
) -> SpoolOptions:
    """The spool of one execution: in ``config.spool_directory/<execution_id>`` (or a fresh
    temporary directory), kept after the run (this module removes it), with the server's quota
    per execution (:attr:`ServerConfig.execution_quota`). ``on_quota``: ``execute``'s choice; the
    core pauses for live readers unless it is ``"drop"``.

    The segment size is the quota's sixteenth, at most the core's 64 MiB: the quota must hold
    four segments, and smaller ones waste less of it when it drops the middle of the output.
    ``chunk_size`` is the execution's frame size in bytes. ``pool``: the server's spool memory
    (:func:`memory_pool`), of which a busy execution's cache takes its share.
    """
    directory = (
        Path(config.spool_directory) / execution_id if config.spool_directory is not None else None
    )
    quota = config.execution_quota
    segment = segment_size(quota)
    # A server runs many spooled executions at once: 2 MiB of output in memory per spool at
    # least (the core's default is 16 MiB) keeps 64 busy executions near 128 MiB in all; the
    # pool gives more to each while fewer are busy. A client that asked for big frames gets
    # room for four: the cache of recent frames (a quarter) then holds one, and its reader
    # takes it from memory instead of reading it back from the file.
    memory = max(_SPOOL_MEMORY, 4 * chunk_size)
    return SpoolOptions(
        directory=directory,
        keep=True,
        quota=quota,
        segment_size=segment,
        memory=memory,
        on_quota="drop" if on_quota == "drop" else "pause",
        memory_pool=pool,
    )
