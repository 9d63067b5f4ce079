"""The browser viewer: ``GET /`` is its page, ``GET /static/...`` its scripts and styles.

The files ship inside the package (``ccstream_ws/server/static``) and are read once, on first use: a
fixed, small set (tens of KiB), so holding them is bounded. Nothing is fetched from elsewhere and
nothing is built at install time. The page needs no token to load (it holds no secret); it
trades the token for a session cookie at ``POST /login`` (:mod:`ccstream_ws.server._login`),
which the WebSocket and the downloads accept, so no address it uses carries the token.
"""

from __future__ import annotations

import functools
import hashlib
import posixpath
from dataclasses import dataclass
from importlib import resources

from ._asgi import Scope, Send, header
from ._http import SECURITY_HEADERS, full_path, send_bytes, send_json

__all__ = ["handles", "serve"]

STATIC = "/static/"

_TYPES = {
    ".html": b"text/html; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".svg": b"image/svg+xml",
    ".png": b"image/png",
    ".ico": b"image/x-icon",
}

# The page loads only its own files and talks only to its own server ('self' covers ws: and wss:
# of the same host); it may not be framed, which keeps its buttons out of clickjacking.
_CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True, slots=True)
class _File:
    body: bytes
    content_type: bytes
    etag: bytes


@functools.cache
def _load() -> dict[str, _File]:
    """Every servable file of the package's ``static`` folder, by its path below it."""
    found: dict[str, _File] = {}
    pending = [("", resources.files("ccstream_ws.server") / "static")]
    while pending:
        prefix, folder = pending.pop()
        for entry in folder.iterdir():
            name = prefix + entry.name
            if entry.is_dir():
                pending.append((name + "/", entry))
                continue
            kind = _TYPES.get(posixpath.splitext(name)[1])
            if kind is None:
                continue
            body = entry.read_bytes()
            etag = b'"' + hashlib.sha256(body).hexdigest()[:20].encode() + b'"'
            found[name] = _File(body, kind, etag)
    return found


def handles(route: str) -> bool:
    """Whether ``route`` (the path below the mount point) is the viewer's."""
    return route == "/" or route.startswith(STATIC)


async def serve(scope: Scope, send: Send, route: str) -> None:
    """Answer a request for the page or one of its files."""
    method = scope.get("method")
    if method not in ("GET", "HEAD"):
        await send_json(send, 405, {"error": "method not allowed"}, [(b"allow", b"GET, HEAD")])
        return
    head = method == "HEAD"
    if route == "/":
        path = full_path(scope)
        if not path.endswith("/"):
            # The page's relative addresses (static/..., ws) need the mount point's slash.
            query = bytes(scope.get("query_string", b""))
            location = path.encode("utf-8") + b"/" + (b"?" + query if query else b"")
            await send_bytes(send, 308, b"", b"text/plain", [(b"location", location)], head=head)
            return
        name = "index.html"
    else:
        name = route[len(STATIC) :]
    found = _load().get(name)
    if found is None:
        await send_json(send, 404, {"error": "not found"}, head=head)
        return
    headers = [(b"etag", found.etag), (b"cache-control", b"no-cache")]
    if name.endswith(".html"):
        headers += [(b"content-security-policy", _CSP), (b"x-frame-options", b"DENY")]
    if header(scope, b"if-none-match") == found.etag.decode():
        await send(
            {
                "type": "http.response.start",
                "status": 304,
                "headers": [*headers, *SECURITY_HEADERS],
            }
        )
        await send({"type": "http.response.body", "body": b""})
        return
    await send_bytes(send, 200, found.body, found.content_type, headers, head=head)
