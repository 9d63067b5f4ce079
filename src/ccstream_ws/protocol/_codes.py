"""The one table of error codes and close codes (``docs/protocol.md`` mirrors it)."""

from __future__ import annotations

import enum

__all__ = ["CloseCode", "ErrorCode"]


class ErrorCode(enum.IntEnum):
    """JSON-RPC error codes. The first five are JSON-RPC 2.0's own; -32001..-32004 are the
    original executor's (kept with their meaning); the rest are additive."""

    PARSE_ERROR = -32700
    """The message is not valid JSON (or not UTF-8 text)."""
    INVALID_REQUEST = -32600
    """Valid JSON but not a JSON-RPC 2.0 request object (or a batch, or a binary message)."""
    METHOD_NOT_FOUND = -32601
    """No such method."""
    INVALID_PARAMS = -32602
    """A parameter is missing, of the wrong type or out of range."""
    INTERNAL_ERROR = -32603
    """A bug on the server; logged with its traceback."""
    COMMAND_NOT_ALLOWED = -32001
    """The command policy refused the command (shell strings off, executable not allowed)."""
    EXECUTION_NOT_FOUND = -32002
    """No such execution (or none running, for ``control`` without an ``execution_id``)."""
    LIMIT_REACHED = -32003
    """Too many executions on this connection or on the server."""
    TOKEN_LIMIT = -32004
    """Reserved: the original executor's token-limit code; never sent."""
    SPAWN_FAILED = -32005
    """The command could not be started: not found, not executable, bad working directory."""
    ENV_NOT_ALLOWED = -32006
    """The environment policy refused a variable."""
    INVALID_STATE = -32007
    """The execution is not in a state for this (already ended, stdin not open or closed)."""
    OUTPUT_UNAVAILABLE = -32008
    """The requested output is not available (no spool, dropped by the spool's quota, expired)."""
    MESSAGE_TOO_LARGE = -32009
    """The inbound message is larger than the server's ``max_message_size``."""
    BUSY = -32010
    """A bounded buffer is full (stdin); retry later."""
    # Several nodes on one Redis (docs/deployment.md).
    OWNER_UNREACHABLE = -32011
    """The node that runs the execution did not answer a ``cancel``, ``control`` or ``stdin``
    (``data.reason``: ``"node_down"`` or ``"timeout"``); whether it acted is not known."""
    STORE_LOST = -32012
    """The Redis that held the execution lost its data (a restart without persistence): the
    execution and its output are gone (``data.reason`` ``"epoch"``)."""


class CloseCode(enum.IntEnum):
    """WebSocket close codes the server uses (RFC 6455 section 7.4; 4000-4999 are private)."""

    NORMAL = 1000
    """The server is done with the connection."""
    GOING_AWAY = 1001
    """The server is shutting down."""
    POLICY_VIOLATION = 1008
    """Generic refusal."""
    MESSAGE_TOO_BIG = 1009
    """The ASGI server's own frame limit was exceeded (``max_message_size``)."""
    INTERNAL_ERROR = 1011
    """A bug on the server."""
    TRY_AGAIN_LATER = 1013
    """Too many connections."""
    UNAUTHORIZED = 4401
    """No token, or a wrong one."""
    FORBIDDEN_ORIGIN = 4403
    """The ``Origin`` header is not in the allowlist."""
