"""Who may connect: the token and the Origin rules, checked before a connection is accepted.

Sans-I/O: a scope in, ``None`` (admitted) or the close code and reason out. The WebSocket
endpoints and the HTTP downloads apply the same rules.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs, urlsplit

from ._asgi import Scope, header
from ._codes import CloseCode
from ._config import ServerConfig, is_loopback

__all__ = ["admit", "presented_token", "same_origin"]


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


def same_origin(scope: Scope, origin: str, config: ServerConfig) -> bool:
    """True when ``origin`` is this server's own: a page it served itself (the viewer).

    The origin's host and port must equal the request's ``Host``. That alone would let a page
    of a hostile name that resolves to 127.0.0.1 (DNS rebinding) pass, since its Host is its own
    name too; so without a token only loopback names count (a page cannot make the browser send
    ``Host: 127.0.0.1`` for content it controls). With a token the token is the boundary.
    """
    if not config.allow_same_origin:
        return False
    host = header(scope, b"host")
    if not host:
        return False
    try:
        parts = urlsplit(origin)
        hostname = parts.hostname or ""
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != host.strip().lower():
        return False
    return config.token is not None or is_loopback(hostname)


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
        and not same_origin(scope, origin, config)
    ):
        return CloseCode.FORBIDDEN_ORIGIN, f"origin {origin[:100]!r} is not allowed"
    return None
