"""Small HTTP response helpers shared by the app's plain HTTP endpoints."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from ._asgi import Scope, Send

__all__ = ["SECURITY_HEADERS", "Headers", "full_path", "query", "send_bytes", "send_json"]

Headers = list[tuple[bytes, bytes]]

SECURITY_HEADERS: Headers = [
    # Output is untrusted: never let a browser guess it is HTML or script.
    (b"x-content-type-options", b"nosniff"),
    # A token in the page's address must not leave with a Referer.
    (b"referrer-policy", b"no-referrer"),
]


def query(scope: Scope) -> dict[str, str]:
    """The query string's parameters, the first value of each."""
    raw = bytes(scope.get("query_string", b"")).decode("latin-1")
    return {key: values[0] for key, values in parse_qs(raw).items()}


def full_path(scope: Scope) -> str:
    """The request's path including where the app is mounted."""
    path = str(scope.get("path", "/"))
    root = str(scope.get("root_path", ""))
    # Starlette's Mount keeps the full path and sets root_path; other hosts strip it.
    return path if not root or path.startswith(root) else root + path


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    headers: Headers | None = None,
    *,
    head: bool = False,
) -> None:
    """A whole response; ``head`` sends the headers only (for HEAD)."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *SECURITY_HEADERS,
                *(headers or ()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body})


async def send_json(
    send: Send,
    status: int,
    body: dict[str, Any],
    headers: Headers | None = None,
    *,
    head: bool = False,
) -> None:
    """A JSON response."""
    await send_bytes(
        send, status, json.dumps(body).encode(), b"application/json", headers, head=head
    )
