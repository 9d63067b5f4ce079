"""``POST /login``: the viewer trades the token for a session cookie, so no address it uses
carries the token (addresses end up in logs, history and proxies).

The page sends ``{"token": "..."}`` as JSON; the answer is ``200`` with ``Set-Cookie`` (see
:func:`ccstream_ws.server._auth.session_cookie`) and ``{"token_required": true}``, or ``200`` with
``{"token_required": false}`` and no cookie when the server has no token,
``401`` for a wrong token, ``403`` for a foreign ``Origin``, ``400`` for a body that is not that
JSON object, ``413`` past 4 KiB and ``405`` for another method. The WebSocket and the downloads
then accept the cookie as they accept the token.
"""

from __future__ import annotations

import json
import logging

from ._asgi import Receive, Scope, Send
from ._auth import origin_allowed, session_cookie, token_matches
from ._config import ServerConfig
from ._http import send_json

__all__ = ["ROUTE", "serve"]

log = logging.getLogger("ccstream_ws")

ROUTE = "/login"
MAX_BODY = 4096
"""Bytes of request body read at most; a token is far shorter."""


async def _body(receive: Receive) -> bytes | None:
    """The request body, or ``None`` once it passes :data:`MAX_BODY`."""
    body = bytearray()
    while True:
        message = await receive()
        if message.get("type") != "http.request":
            return bytes(body)  # the client left; what came is all there is
        body += message.get("body", b"")
        if len(body) > MAX_BODY:
            return None
        if not message.get("more_body", False):
            return bytes(body)


async def serve(scope: Scope, receive: Receive, send: Send, config: ServerConfig) -> None:
    """Answer one login request (the Host was checked by the caller)."""
    client = scope.get("client") or ("unknown", 0)
    if scope.get("method") != "POST":
        await send_json(send, 405, {"error": "method not allowed"}, [(b"allow", b"POST")])
        return
    if not origin_allowed(scope, config):
        log.warning("refused login from %s:%s: origin not allowed", client[0], client[1])
        await send_json(send, 403, {"error": "origin not allowed"})
        return
    body = await _body(receive)
    if body is None:
        await send_json(send, 413, {"error": f"body larger than {MAX_BODY} bytes"})
        return
    if config.token is None:
        await send_json(send, 200, {"token_required": False})
        return
    try:
        token = json.loads(body).get("token")
    except (ValueError, AttributeError):
        token = None
    if not isinstance(token, str):
        await send_json(send, 400, {"error": 'expected a JSON body {"token": "..."}'})
        return
    if not token_matches(token, config):
        log.warning("refused login from %s:%s: wrong token", client[0], client[1])
        await send_json(
            send,
            401,
            {"error": "wrong token"},
            [(b"www-authenticate", b'Bearer realm="ccstream-ws"')],
        )
        return
    log.info("login from %s:%s: session cookie issued", client[0], client[1])
    cookie = session_cookie(scope, config)
    await send_json(
        send,
        200,
        {"token_required": True},
        [(b"set-cookie", cookie), (b"cache-control", b"no-store")],
    )
