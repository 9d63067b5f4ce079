"""ccstream_ws: the WebSocket adapter of ccstream.

An ASGI application (:class:`App`) that runs commands for remote clients and streams their
output as JSON-RPC 2.0 notifications or binary frames, a Python client (:class:`Client`) and the
``ccstream-ws`` command line (``serve``, ``exec``). The protocol is specified in
``docs/protocol.md``; the security model in ``docs/security.md``.
"""

from ._extra import HINT as _HINT
from .server._app import App

try:
    from .client._client import Client, Completion, Loss, RemoteExecution, RemoteOutput
except ModuleNotFoundError as _absent:
    # Without the [ws] extra the package still imports, so `ccstream-ws` can say what to install;
    # the client's names then raise an ImportError that says it.
    if (_absent.name or "").partition(".")[0] != "websockets":
        raise
    _ABSENT = f"ccstream_ws.{{}} needs the [ws] extra (websockets is missing): {_HINT}"

    def __getattr__(name: str) -> object:
        if name in ("Client", "Completion", "Loss", "RemoteExecution", "RemoteOutput"):
            raise ImportError(_ABSENT.format(name), name=name)
        raise AttributeError(f"module 'ccstream_ws' has no attribute {name!r}")


from ._version import VERSION as __version__
from .exceptions import (
    CCStreamWSError,
    ConfigError,
    ConnectionLost,
    ProtocolViolation,
    RPCError,
)
from .protocol._codes import CloseCode, ErrorCode
from .protocol._wire import BinaryFrame, pack_binary, unpack_binary
from .server._config import ServerConfig, is_loopback

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
    "Loss",
    "ProtocolViolation",
    "RPCError",
    "RemoteExecution",
    "RemoteOutput",
    "ServerConfig",
    "__version__",
    "is_loopback",
    "pack_binary",
    "unpack_binary",
]
