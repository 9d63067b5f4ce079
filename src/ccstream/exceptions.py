"""Every exception ccstream raises on purpose.

The tree::

    CCStreamError                   root: catch this to catch them all
    ├── InvalidOption (ValueError)  an option has a wrong type or value
    ├── UsageError (RuntimeError)   an API was used out of order (a result before the end, ...)
    ├── SpawnError (OSError)        the command could not be started; raised before any event
    │   ├── CommandNotFound         argv[0] (or the shell) is not on PATH / does not exist
    │   ├── NotExecutable           it exists but may not be executed
    │   └── CwdNotFound             the working directory does not exist or is not a directory
    ├── BufferLimitExceeded         a bounded buffer was asked to hold more than its limit
    │   └── DecompressionLimitExceeded  (also a DecompressionError)
    ├── SpoolError                  the on-disk spool failed (disk full, I/O error, bad directory)
    │   └── SpoolNotFound           a spool directory to read does not exist or is not a spool
    └── DecompressionError (ValueError) a compressed frame could not be decoded
        └── DecompressionLimitExceeded  it decodes to more than ``max_output`` bytes

The bounded buffers that a producer fills at its own pace (the event buffer, the spool's memory)
make the producer wait instead of raising; the selector counts what its caps leave out. What
cannot wait, a payload that decodes to more than it may, raises.

Exceptions from the standard library or anyio that cross the public API are translated into these
with ``raise ... from``, so the original cause stays available as ``__cause__``.
"""

from __future__ import annotations

__all__ = [
    "BufferLimitExceeded",
    "CCStreamError",
    "CommandNotFound",
    "CwdNotFound",
    "DecompressionError",
    "DecompressionLimitExceeded",
    "InvalidOption",
    "NotExecutable",
    "SpawnError",
    "SpoolError",
    "SpoolNotFound",
    "UsageError",
]


class CCStreamError(Exception):
    """Root of every exception ccstream raises on purpose."""


class InvalidOption(CCStreamError, ValueError):
    """An option has a wrong type or an out-of-range value; nothing was started."""


class UsageError(CCStreamError, RuntimeError):
    """An API was used out of order: a run's result asked for before it ended, its pid before it
    started, its spool when it has none."""


class SpawnError(CCStreamError, OSError):
    """The command could not be started. Raised before any event; no process is left behind."""


class CommandNotFound(SpawnError):
    """The program (argv[0], or the shell for a shell string) was not found."""


class NotExecutable(SpawnError):
    """The program exists but is not an executable file this user may run."""


class CwdNotFound(SpawnError):
    """The working directory does not exist or is not a directory."""


class BufferLimitExceeded(CCStreamError):
    """A bounded buffer was asked to hold more than the limit given in its constructor."""


class SpoolError(CCStreamError):
    """The on-disk spool failed: no space left, an I/O error, or an unusable directory."""


class SpoolNotFound(SpoolError):
    """A spool directory to read does not exist or holds no spool."""


class DecompressionError(CCStreamError, ValueError):
    """A compressed payload could not be decoded."""


class DecompressionLimitExceeded(DecompressionError, BufferLimitExceeded):
    """A compressed payload decodes to more than the decompressor's ``max_output`` bytes (a zip
    bomb); nothing over the limit was held."""
