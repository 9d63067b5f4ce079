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

from ._lazy import attach as _attach

if _typing.TYPE_CHECKING:
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

# Every public name and the module that defines it, imported on first use (see ._lazy): the
# command line starts a run without loading the spool, the compressor or the selector.
_NAMES: dict[str, str] = {
    "MIN_CHUNK_SIZE": "._chunker",
    "Chunker": "._chunker",
    "Command": "._command",
    "Compressor": "._compress",
    "Decompressor": "._compress",
    "Packed": "._compress",
    "decompress": "._compress",
    "get_max_concurrent_runs": "._concurrency",
    "set_max_concurrent_runs": "._concurrency",
    "STREAMS": "._events",
    "Event": "._events",
    "Gap": "._events",
    "Output": "._events",
    "Reason": "._events",
    "Result": "._events",
    "Started": "._events",
    "StreamName": "._events",
    "StreamStats": "._events",
    "stream_id": "._events",
    "ChunkMode": "._options",
    "DiskErrorPolicy": "._options",
    "Options": "._options",
    "QuotaPolicy": "._options",
    "ResourceLimits": "._options",
    "SpoolOptions": "._options",
    "Stdin": "._options",
    "Capture": "._run",
    "run": "._run",
    "Selection": "._selector",
    "Selector": "._selector",
    "Run": "._stream",
    "stream": "._stream",
    "__version__": "._version",
    "stop_orphaned_runs": "._watchdog",
    "BufferLimitExceeded": ".exceptions",
    "CCStreamError": ".exceptions",
    "CommandNotFound": ".exceptions",
    "CwdNotFound": ".exceptions",
    "DecompressionError": ".exceptions",
    "DecompressionLimitExceeded": ".exceptions",
    "InvalidOption": ".exceptions",
    "NotExecutable": ".exceptions",
    "SpawnError": ".exceptions",
    "SpoolError": ".exceptions",
    "SpoolNotFound": ".exceptions",
    "UsageError": ".exceptions",
    "PAGE_BYTES": ".spool",
    "READ_LIMIT": ".spool",
    "CutLine": ".spool",
    "Page": ".spool",
    "Spool": ".spool",
    "prune_spools": ".spool",
}

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
_DEPRECATED = {"Exited": "Result", "Completed": "Capture"}

_lazy_getattr, __dir__ = _attach(__name__, globals(), _NAMES)

if _typing.TYPE_CHECKING:
    Exited = Result
    """Deprecated: the last event is the :class:`Result` itself."""
    Completed = Capture
    """Deprecated: :func:`run` returns a :class:`Capture`."""
else:

    def __getattr__(name: str) -> object:
        if name in _DEPRECATED:
            new = _DEPRECATED[name]
            _warnings.warn(
                f"ccstream.{name} is deprecated; use ccstream.{new}",
                DeprecationWarning,
                stacklevel=2,
            )
            return _lazy_getattr(new)
        return _lazy_getattr(name)
