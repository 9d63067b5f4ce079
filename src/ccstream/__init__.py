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

from ._chunker import Chunker
from ._command import Command
from ._compress import Compressor, Decompressor, Packed, decompress
from ._concurrency import get_max_concurrent_runs, set_max_concurrent_runs
from ._events import Event, Exited, Gap, Output, Started, StreamName
from ._options import (
    ChunkMode,
    DiskErrorPolicy,
    Options,
    QuotaPolicy,
    ResourceLimits,
    SpoolOptions,
    Stdin,
)
from ._result import Reason, Result, StreamStats
from ._run import Completed, run
from ._selector import Selection, Selector
from ._stream import Run, stream
from ._watchdog import stop_orphaned_runs
from .exceptions import (
    BufferLimitExceeded,
    CCStreamError,
    CommandNotFound,
    CwdNotFound,
    DecompressionError,
    InvalidOption,
    NotExecutable,
    SpawnError,
    SpoolError,
    SpoolNotFound,
)
from .spool import CutLine, Page, Spool, prune_spools

__version__ = "0.1.0"

__all__ = [
    "BufferLimitExceeded",
    "CCStreamError",
    "ChunkMode",
    "Chunker",
    "Command",
    "CommandNotFound",
    "Completed",
    "Compressor",
    "CutLine",
    "CwdNotFound",
    "Decompressor",
    "DecompressionError",
    "DiskErrorPolicy",
    "Event",
    "Exited",
    "Gap",
    "InvalidOption",
    "NotExecutable",
    "Options",
    "Output",
    "Packed",
    "Page",
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
    "__version__",
    "decompress",
    "get_max_concurrent_runs",
    "prune_spools",
    "run",
    "set_max_concurrent_runs",
    "stop_orphaned_runs",
    "stream",
]
