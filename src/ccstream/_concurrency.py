"""A process-wide limit on the number of runs at once.

anyio's primitives belong to one event loop, so the limiter is made per running loop and they all
share one setting.
"""

from __future__ import annotations

import asyncio
import weakref

import anyio

from ._check import check_int

# The public names (ccstream re-exports them); the rest is for the package.
__all__ = ["get_max_concurrent_runs", "set_max_concurrent_runs"]

_max_runs = 64
_limiters: weakref.WeakKeyDictionary[object, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()


def set_max_concurrent_runs(limit: int) -> None:
    """Allow at most ``limit`` runs at once in this process; later runs wait for a slot."""
    global _max_runs
    check_int("max concurrent runs", limit, minimum=1)
    _max_runs = limit
    for limiter in _limiters.values():
        limiter.total_tokens = limit


def get_max_concurrent_runs() -> int:
    """The current process-wide limit on runs at once."""
    return _max_runs


def _loop_key() -> object:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # not asyncio, so trio: its root task lives as long as its loop
        import trio

        return trio.lowlevel.current_root_task()


def current_limiter() -> anyio.CapacityLimiter:
    """The limiter of the running event loop."""
    key = _loop_key()
    limiter = _limiters.get(key)
    if limiter is None:
        limiter = _limiters[key] = anyio.CapacityLimiter(_max_runs)
    return limiter
