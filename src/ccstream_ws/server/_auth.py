"""Who may connect: the token, the viewer's session cookie, the Origin and the Host rules,
checked before a connection or a request is served.

Sans-I/O: a scope in, ``None`` (admitted) or the close code and reason out. The WebSocket
endpoints and the HTTP downloads apply the same rules; the viewer's page, its files and its
login check the Host (:func:`host_allowed`).

The viewer's cookie proves its holder once presented the token, without being the token: its
value is ``EXPIRES.MAC``, ``MAC`` an HMAC-SHA256 of the expiry keyed with the token, so the server
keeps no state, every worker of it accepts the cookie, and a new token voids every cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import parse_qs, urlsplit

from ..protocol._codes import CloseCode
from ._asgi import Scope, header
from ._config import ServerConfig, is_loopback

__all__ = [
    "COOKIE_LIFETIME",
    "admit",
    "cookie_name",
    "host_allowed",
    "origin_allowed",
    "presented_token",
    "same_origin",
    "session_cookie",
    "token_matches",
]

COOKIE_LIFETIME = 12 * 3600
"""Seconds a viewer's session cookie is valid; then the page asks for the token again."""
_MAC_CONTEXT = b"ccstream-ws viewer session "


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


def token_matches(presented: str | None, config: ServerConfig) -> bool:
    """Whether ``presented`` is the server's token (in constant time, wherever the first
    difference is); ``False`` when the server has none."""
    if config.token is None or presented is None:
        return False
    return hmac.compare_digest(presented.encode("utf-8", "replace"), config.token.encode("utf-8"))


def cookie_name(scope: Scope) -> str:
    """The session cookie's name. Cookies do not tell ports apart, so two servers on one host
    (127.0.0.1:8765 and :8766) would overwrite each other's cookie under one name."""
    try:
        port = urlsplit("//" + (header(scope, b"host") or "")).port
    except ValueError:
        port = None
    return f"ccstream_ws_{port or 'default'}"


def _mac(config: ServerConfig, expires: int) -> str:
    assert config.token is not None
    key = config.token.encode("utf-8")
    return hmac.new(key, _MAC_CONTEXT + str(expires).encode(), hashlib.sha256).hexdigest()


def session_cookie(scope: Scope, config: ServerConfig, now: float | None = None) -> bytes:
    """The ``Set-Cookie`` value that lets a browser connect for :data:`COOKIE_LIFETIME`:
    HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), scoped to
    where the app is mounted, and Secure when the request came over TLS."""
    expires = int(now if now is not None else time.time()) + COOKIE_LIFETIME
    path = str(scope.get("root_path", "")).rstrip("/") + "/"
    parts = [
        f"{cookie_name(scope)}={expires}.{_mac(config, expires)}",
        f"Path={path}",
        f"Max-Age={COOKIE_LIFETIME}",
        "HttpOnly",
        "SameSite=Strict",
    ]
    if scope.get("scheme") in ("https", "wss"):
        parts.append("Secure")
    return "; ".join(parts).encode("latin-1")


def _cookie_valid(scope: Scope, config: ServerConfig) -> bool:
    raw = header(scope, b"cookie")
    if raw is None or config.token is None:
        return False
    name = cookie_name(scope)
    # By hand, not http.cookies: one malformed cookie of another app on this host must not hide
    # ours.
    values = [v for k, _, v in (p.strip().partition("=") for p in raw.split(";")) if k == name]
    if len(values) != 1:
        return False
    expires_text, _, mac = values[0].partition(".")
    if not expires_text.isdigit() or len(expires_text) > 12:
        return False
    expires = int(expires_text)
    if expires < time.time() or expires > time.time() + COOKIE_LIFETIME:
        return False
    return hmac.compare_digest(mac.encode("ascii", "replace"), _mac(config, expires).encode())


def _hostname(value: str) -> str | None:
    try:
        return urlsplit("//" + value.strip()).hostname
    except ValueError:
        return None


def host_allowed(scope: Scope, config: ServerConfig) -> bool:
    """Whether the request's ``Host`` names this server: a loopback name, ``config.host``, or
    one of ``config.allowed_hosts`` (``"*"``: any). With a token and no ``allowed_hosts``, any
    Host (the token is the boundary, as for Origin).

    Without this, a hostile name that resolves to 127.0.0.1 (DNS rebinding) makes the browser
    treat the server as that name's own origin: its pages could read the viewer and downloads.
    """
    if config.token is not None and not config.allowed_hosts:
        return True
    if "*" in config.allowed_hosts:
        return True
    value = header(scope, b"host")
    name = _hostname(value) if value else None
    if not name:
        return False
    return is_loopback(name) or name == config.host.lower() or name in config.allowed_hosts


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
    return config.token is not None or is_loopback(hostname) or hostname in config.allowed_hosts


def origin_allowed(scope: Scope, config: ServerConfig) -> bool:
    """Whether the request's ``Origin`` (if any) may use this server."""
    origin = header(scope, b"origin")
    return (
        origin is None
        or "*" in config.allowed_origins
        or origin in config.allowed_origins
        or same_origin(scope, origin, config)
    )


def admit(scope: Scope, config: ServerConfig) -> tuple[CloseCode, str] | None:
    """``None`` when the connection may proceed, else the close code and reason. The token
    comes as ``Authorization: Bearer``, ``?token=`` or the viewer's session cookie."""
    if (
        config.token is not None
        and not token_matches(presented_token(scope), config)
        and not _cookie_valid(scope, config)
    ):
        return CloseCode.UNAUTHORIZED, "missing or wrong token"
    if not origin_allowed(scope, config):
        origin = header(scope, b"origin") or ""
        return CloseCode.FORBIDDEN_ORIGIN, f"origin {origin[:100]!r} is not allowed"
    return None
