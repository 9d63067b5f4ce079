"""The spool: every byte of a spooled run, on disk, for any number of readers.

The interface (:mod:`ccstream.spool._base`): a :class:`Store` makes and finds spools by key, a
run writes through a :class:`Sink`, readers read a :class:`Source`. The readers —
:class:`Spool` (pages, tail, byte ranges, ``follow``), its view and its followers — are written
once, over a source. :mod:`ccstream.spool.local` is the store of spool directories on this
machine (the default everywhere); :mod:`ccstream.spool.testing` is the conformance suite every
store must pass.
"""

from ._base import RangeReader, Sink, Source, Store
from ._memory import MemoryPool
from ._reader import PAGE_BYTES, READ_LIMIT, CutLine, Page, Spool
from ._records import Checkpoint, Record
from ._state import SpoolState
from .local import LocalStore
from .local._prune import prune_spools

__all__ = [
    "PAGE_BYTES",
    "READ_LIMIT",
    "Checkpoint",
    "CutLine",
    "LocalStore",
    "MemoryPool",
    "Page",
    "RangeReader",
    "Record",
    "Sink",
    "Source",
    "Spool",
    "SpoolState",
    "Store",
    "prune_spools",
]
