"""ccstream_ws: the WebSocket adapter of ccstream.

An ASGI application (:class:`App`) that runs commands for remote clients and streams their
output as JSON-RPC 2.0 notifications or binary frames, a Python client (:class:`Client`) and the
``ccstream-ws`` command line (``serve``, ``exec``). The protocol is specified in
``docs/protocol.md``; the security model in ``docs/security.md``.

The code is in three parts: :mod:`ccstream_ws.protocol` (sans I/O, shared),
:mod:`ccstream_ws.server` and :mod:`ccstream_ws.client`; every public name of each is also here.
"""

from ._extra import HINT as _HINT
from ._version import VERSION as __version__
from .exceptions import (
    CCStreamWSError,
    ConfigError,
    ConnectionLost,
    ProtocolViolation,
    RPCError,
)
from .protocol import BinaryFrame, CloseCode, ErrorCode, pack_binary, unpack_binary
from .server import App, ServerConfig, is_loopback

_CLIENT = (
    "Client",
    "Completion",
    "ExecutionStatus",
    "LineCut",
    "Loss",
    "Notice",
    "RemoteEvent",
    "RemoteExecution",
    "RemoteOutput",
    "RemotePage",
    "StreamCount",
)

try:
    from .client import (
        Client,
        Completion,
        ExecutionStatus,
        LineCut,
        Loss,
        Notice,
        RemoteEvent,
        RemoteExecution,
        RemoteOutput,
        RemotePage,
        StreamCount,
    )
except ModuleNotFoundError as _absent:
    # Without the [ws] extra the package still imports, so `ccstream-ws` can say what to install;
    # the client's names then raise an ImportError that says it.
    if (_absent.name or "").partition(".")[0] != "websockets":
        raise
    _ABSENT = f"ccstream_ws.{{}} needs the [ws] extra (websockets is missing): {_HINT}"

    def __getattr__(name: str) -> object:
        if name in _CLIENT:
            raise ImportError(_ABSENT.format(name), name=name)
        raise AttributeError(f"module 'ccstream_ws' has no attribute {name!r}")


__all__ = [
    "App",
    "BinaryFrame",
    "CCStreamWSError",
    "Client",
    "CloseCode",
    "Completion",
    "ConfigError",
    "ConnectionLost",
    "ErrorCode",
    "ExecutionStatus",
    "LineCut",
    "Loss",
    "Notice",
    "ProtocolViolation",
    "RPCError",
    "RemoteEvent",
    "RemoteExecution",
    "RemoteOutput",
    "RemotePage",
    "ServerConfig",
    "StreamCount",
    "__version__",
    "is_loopback",
    "pack_binary",
    "unpack_binary",
]
