"""Who may connect: the token and the Origin allowlist, checked before a connection is accepted.

Sans-I/O: a scope in, ``None`` (admitted) or the close code and reason out.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

from ._asgi import Scope, header
from ._codes import CloseCode
from ._config import ServerConfig

__all__ = ["admit", "presented_token"]


def presented_token(scope: Scope) -> str | None:
    """The token from ``Authorization: Bearer ...``, else from the ``token`` query parameter
    (browsers cannot set headers on a WebSocket)."""
    auth = header(scope, b"authorization")
    if auth is not None:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    values = parse_qs(query).get("token")
    return values[0] if values else None


def admit(scope: Scope, config: ServerConfig) -> tuple[CloseCode, str] | None:
    """``None`` when the connection may proceed, else the close code and reason."""
    if config.token is not None:
        token = presented_token(scope)
        # compare_digest takes the same time wherever the first difference is.
        if token is None or not hmac.compare_digest(
            token.encode("utf-8", "replace"), config.token.encode("utf-8")
        ):
            return CloseCode.UNAUTHORIZED, "missing or wrong token"
    origin = header(scope, b"origin")
    if (
        origin is not None
        and "*" not in config.allowed_origins
        and origin not in config.allowed_origins
    ):
        return CloseCode.FORBIDDEN_ORIGIN, f"origin {origin[:100]!r} is not allowed"
    return None
