"""The Redis store's own exceptions (both are spool errors, so ``except SpoolError`` holds)::

SpoolError
├── SpoolFenced       this writer's epoch is stale: another writer took the spool over
└── SpoolNotFound
    └── SpoolLost     Redis lost the spool: it restarted without its data (the epoch changed)
"""

from __future__ import annotations

from ...exceptions import SpoolError, SpoolNotFound

__all__ = ["SpoolFenced", "SpoolLost"]


class SpoolLost(SpoolNotFound):
    """The spool was in Redis and is not any more, and not because it was removed: Redis
    restarted without its data (the store's epoch changed) or dropped the keys. Never
    another execution's bytes: a reader that sees this reads nothing more."""


class SpoolFenced(SpoolError):
    """A writer whose epoch is stale was refused: the spool was taken over
    (:meth:`RedisStore.fence <ccstream.spool.redis.RedisStore.fence>`), so this writer may not
    write it any more."""
