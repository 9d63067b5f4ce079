"""ccstream_ws: the WebSocket adapter of ccstream.

An ASGI application (:class:`App`) that runs commands for remote clients and streams their
output as JSON-RPC 2.0 notifications or binary frames, a Python client (:class:`Client`) and the
``ccstream-ws`` command line (``serve``, ``exec``). The protocol is specified in
``docs/protocol.md``; the security model in ``docs/security.md``.
"""

from ._app import App
from ._client import Client, Completion, Loss, RemoteExecution, RemoteOutput
from ._codes import CloseCode, ErrorCode
from ._config import ServerConfig, is_loopback
from ._version import VERSION as __version__
from ._wire import BinaryFrame, pack_binary, unpack_binary
from .exceptions import (
    CCStreamWSError,
    ConfigError,
    ConnectionLost,
    ProtocolViolation,
    RPCError,
)

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
