"""``GET /metrics`` over HTTP: the token and Origin rules of :func:`ccstream_ws.server._auth.admit`,
then the body of :meth:`Metrics.render`; and the counting of HTTP refusals."""

from __future__ import annotations

import json
import logging

from ..protocol._codes import CloseCode
from ._asgi import Message, Scope, Send
from ._auth import admit
from ._config import ServerConfig
from ._http import send_bytes, send_json
from ._metrics import CONTENT_TYPE, Metrics

__all__ = ["REFUSED", "counting_refusals", "serve"]

log = logging.getLogger("ccstream_ws")

REFUSED = frozenset({401, 403, 413, 421})
"""HTTP statuses counted as refusals: no or a wrong token, a refused Origin, a body over its
limit, a Host not served here."""


async def serve(scope: Scope, send: Send, config: ServerConfig, metrics: Metrics) -> None:
    """Answer one request for ``/metrics`` (its Host already checked): 200 with the metrics,
    401 (with ``WWW-Authenticate: Bearer``) or 403 as a WebSocket would be refused, 405 for
    a method other than GET and HEAD."""
    method = scope.get("method")
    if method not in ("GET", "HEAD"):
        await send_json(send, 405, {"error": "GET /metrics"})
        return
    refusal = admit(scope, config)
    if refusal is not None:
        code, reason = refusal
        status = 401 if code == CloseCode.UNAUTHORIZED else 403
        client = scope.get("client")
        where = f"{client[0]}:{client[1]}" if client else "unknown"
        log.warning("refused HTTP from %s: /metrics: %s", where, reason)
        headers = [(b"www-authenticate", b"Bearer")] if status == 401 else []
        body = json.dumps({"error": reason}).encode()
        await send_bytes(send, status, body, b"application/json", headers)
        return
    await send_bytes(send, 200, metrics.render(), CONTENT_TYPE, head=method == "HEAD")


def counting_refusals(send: Send, metrics: Metrics) -> Send:
    """``send`` for an HTTP response, counting the response when it is a refusal."""

    async def counted(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] in REFUSED:
            metrics.refused("http", message["status"])
        await send(message)

    return counted
