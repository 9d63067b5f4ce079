"""Every exception ccstream_ws raises on purpose.

The tree::

    CCStreamWSError                 root: catch this to catch them all
    ├── ConfigError (ValueError)    a server or client setting is invalid or unsafe (for example
    │                               listening beyond loopback without a token)
    ├── RPCError                    a JSON-RPC error: ``code``, ``message``, ``data``; the server
    │                               answers with it, the client raises it for an error response
    ├── ProtocolViolation           the peer sent something the protocol does not allow
    └── ConnectionLost              the WebSocket closed; ``code`` and ``reason`` say why

Exceptions of websockets, anyio or the ASGI server that cross the public API are translated into
these with ``raise ... from``, so the original cause stays available as ``__cause__``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CCStreamWSError",
    "ConfigError",
    "ConnectionLost",
    "ProtocolViolation",
    "RPCError",
]


class CCStreamWSError(Exception):
    """Root of every exception ccstream_ws raises on purpose."""


class ConfigError(CCStreamWSError, ValueError):
    """A setting is invalid, or unsafe without another one (a public host without a token)."""


class RPCError(CCStreamWSError):
    """A JSON-RPC 2.0 error. ``code`` is from :class:`ccstream_ws.ErrorCode` (or the peer's own
    code, on the client side), ``message`` a short sentence, ``data`` optional details."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{message} (code {code})")
        self.code = int(code)
        self.message = message
        self.data = data


class ProtocolViolation(CCStreamWSError):
    """The peer sent a message that the protocol in ``docs/protocol.md`` does not allow."""


class ConnectionLost(CCStreamWSError):
    """The WebSocket connection closed. ``code`` is the close code (``None`` when the connection
    broke without a close frame), ``reason`` the close reason."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(
            f"connection closed (code {code}): {reason}"
            if reason
            else f"connection closed (code {code})"
        )
        self.code = code
        self.reason = reason
