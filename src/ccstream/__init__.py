"""ccstream: run commands and stream their output, from a few bytes to many gigabytes, in flat
memory at close to the speed of the pipe.

The core is transport-agnostic and runs on asyncio and trio (through anyio)::

    import ccstream

    async with ccstream.stream(["make", "-j8"]) as run:
        async for event in run:
            if isinstance(event, ccstream.Output):
                print(event.stream, len(event.data))
    print(run.result.returncode, run.result.reason)
"""

import typing as _typing
import warnings as _warnings

from ._chunker import MIN_CHUNK_SIZE, Chunker
from ._command import Command
from ._compress import Compressor, Decompressor, Packed, decompress
from ._concurrency import get_max_concurrent_runs, set_max_concurrent_runs
from ._events import (
    STREAMS,
    Event,
    Gap,
    Output,
    Reason,
    Result,
    Started,
    StreamName,
    StreamStats,
    stream_id,
)
from ._options import (
    ChunkMode,
    DiskErrorPolicy,
    Options,
    QuotaPolicy,
    ResourceLimits,
    SpoolOptions,
    Stdin,
)
from ._pty import Pty, PtyStderr
from ._run import Capture, run
from ._selector import Selection, Selector
from ._stream import Run, stream
from ._version import __version__
from ._watchdog import stop_orphaned_runs
from .exceptions import (
    BufferLimitExceeded,
    CCStreamError,
    CommandNotFound,
    CwdNotFound,
    DecompressionError,
    DecompressionLimitExceeded,
    InvalidOption,
    NotExecutable,
    SpawnError,
    SpoolError,
    SpoolNotFound,
    UsageError,
)
from .spool import PAGE_BYTES, READ_LIMIT, CutLine, Page, Spool, prune_spools

__all__ = [
    "MIN_CHUNK_SIZE",
    "PAGE_BYTES",
    "READ_LIMIT",
    "STREAMS",
    "BufferLimitExceeded",
    "CCStreamError",
    "Capture",
    "ChunkMode",
    "Chunker",
    "Command",
    "CommandNotFound",
    "Compressor",
    "CutLine",
    "CwdNotFound",
    "DecompressionError",
    "DecompressionLimitExceeded",
    "Decompressor",
    "DiskErrorPolicy",
    "Event",
    "Gap",
    "InvalidOption",
    "NotExecutable",
    "Options",
    "Output",
    "Packed",
    "Page",
    "Pty",
    "PtyStderr",
    "QuotaPolicy",
    "Reason",
    "ResourceLimits",
    "Result",
    "Run",
    "Selection",
    "Selector",
    "SpawnError",
    "Spool",
    "SpoolError",
    "SpoolNotFound",
    "SpoolOptions",
    "Started",
    "Stdin",
    "StreamName",
    "StreamStats",
    "UsageError",
    "__version__",
    "decompress",
    "get_max_concurrent_runs",
    "prune_spools",
    "run",
    "set_max_concurrent_runs",
    "stop_orphaned_runs",
    "stream",
    "stream_id",
]

# Old names, kept working with a DeprecationWarning; not in __all__.
_DEPRECATED = {"Exited": ("Result", Result), "Completed": ("Capture", Capture)}

if _typing.TYPE_CHECKING:
    Exited = Result
    """Deprecated: the last event is the :class:`Result` itself."""
    Completed = Capture
    """Deprecated: :func:`run` returns a :class:`Capture`."""
else:

    def __getattr__(name: str) -> object:
        if name in _DEPRECATED:
            new, value = _DEPRECATED[name]
            _warnings.warn(
                f"ccstream.{name} is deprecated; use ccstream.{new}",
                DeprecationWarning,
                stacklevel=2,
            )
            return value
        raise AttributeError(f"module 'ccstream' has no attribute {name!r}")
