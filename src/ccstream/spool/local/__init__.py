"""The local store: a spool is a directory of append-only files on this machine.

:class:`LocalStore` makes and finds them by key; a run writes through a :class:`SpoolWriter`;
readers read a :class:`DirectorySource` (any spool directory, written by any process) or a
:class:`LiveSource` (the spool a writer of this process writes).
"""

from ._source import DirectorySource, LiveSource
from ._store import LocalStore
from ._writer import SpoolWriter

__all__ = ["DirectorySource", "LiveSource", "LocalStore", "SpoolWriter"]
