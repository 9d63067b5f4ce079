"""ASGI 3 types, as far as this app uses them (after uvicorn's ``_types.py``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, Literal, TypedDict

__all__ = [
    "ASGIApp",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "WebSocketAcceptEvent",
    "WebSocketCloseEvent",
    "WebSocketSendEvent",
    "header",
]

Scope = MutableMapping[str, Any]
"""A connection scope: ``type`` is ``"http"``, ``"websocket"`` or ``"lifespan"``."""
Message = MutableMapping[str, Any]
"""An event to or from the server."""
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class WebSocketAcceptEvent(TypedDict):
    """``websocket.accept``."""

    type: Literal["websocket.accept"]
    subprotocol: str | None
    headers: Iterable[tuple[bytes, bytes]]


class WebSocketSendEvent(TypedDict, total=False):
    """``websocket.send``: exactly one of ``bytes`` and ``text``."""

    type: Literal["websocket.send"]
    bytes: bytes
    text: str


class WebSocketCloseEvent(TypedDict):
    """``websocket.close``."""

    type: Literal["websocket.close"]
    code: int
    reason: str


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of request header ``name`` (lower case), decoded as latin-1."""
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None
