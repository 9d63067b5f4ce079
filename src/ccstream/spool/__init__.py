"""The spool: every byte of a spooled run, on disk, for any number of readers.

The interface (:mod:`ccstream.spool._base`): a :class:`Store` makes and finds spools by key, a
run writes through a :class:`Sink`, readers read a :class:`Source`. The readers —
:class:`Spool` (pages, tail, byte ranges, ``follow``), its view and its followers — are written
once, over a source. :mod:`ccstream.spool.local` is the store of spool directories on this
machine (the default everywhere); :mod:`ccstream.spool.testing` is the conformance suite every
store must pass.
"""

import typing as _typing

from .._lazy import attach as _attach

if _typing.TYPE_CHECKING:
    from ._base import RangeReader, Sink, Source, Store
    from ._memory import MemoryPool
    from ._reader import PAGE_BYTES, READ_LIMIT, CutLine, Page, Spool
    from ._records import Checkpoint, Record
    from ._search import MATCH_BYTES, Match, Search, SearchCursor
    from ._state import SpoolState
    from .local import LocalStore
    from .local._prune import prune_spools

# Imported on first use (see ccstream._lazy): importing ccstream.spool._quota for a type does not
# load the local store.
_NAMES: dict[str, str] = {
    "RangeReader": "._base",
    "Sink": "._base",
    "Source": "._base",
    "Store": "._base",
    "MemoryPool": "._memory",
    "PAGE_BYTES": "._reader",
    "READ_LIMIT": "._reader",
    "CutLine": "._reader",
    "Page": "._reader",
    "Spool": "._reader",
    "Checkpoint": "._records",
    "Record": "._records",
    "MATCH_BYTES": "._search",
    "Match": "._search",
    "Search": "._search",
    "SearchCursor": "._search",
    "SpoolState": "._state",
    "LocalStore": ".local",
    "prune_spools": ".local._prune",
}

__all__ = [
    "MATCH_BYTES",
    "PAGE_BYTES",
    "READ_LIMIT",
    "Checkpoint",
    "CutLine",
    "LocalStore",
    "Match",
    "MemoryPool",
    "Page",
    "RangeReader",
    "Record",
    "Search",
    "SearchCursor",
    "Sink",
    "Source",
    "Spool",
    "SpoolState",
    "Store",
    "prune_spools",
]

__getattr__, __dir__ = _attach(__name__, globals(), _NAMES)
