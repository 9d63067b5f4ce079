"""The spool: every byte of a spooled run, on disk, for any number of readers.

Readers (:class:`Spool`: pages, tail, byte ranges, ``follow``) are written once, over the
:class:`Source` of the interface in :mod:`ccstream.spool._base`; :mod:`ccstream.spool.local` is
the store of spool directories on this machine.
"""

from ._reader import PAGE_BYTES, READ_LIMIT, CutLine, Page, Spool
from .local._prune import prune_spools

__all__ = ["PAGE_BYTES", "READ_LIMIT", "CutLine", "Page", "Spool", "prune_spools"]
