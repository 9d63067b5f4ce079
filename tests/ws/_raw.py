"""A bare JSON-RPC WebSocket client, as the original executor's clients were written."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


class Raw:
    """Send requests and read every message the server sends, in order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.next_id = 0
        self.seen: list[dict[str, Any]] = []

    async def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        import anyio

        with anyio.fail_after(timeout):
            message = await self.ws.recv()
        assert isinstance(message, str), "expected a JSON text message"
        parsed: dict[str, Any] = json.loads(message)
        self.seen.append(parsed)
        return parsed

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a request and return its answer (result or error object), keeping the
        notifications that came before it in ``seen``."""
        self.next_id += 1
        request_id = self.next_id
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": request_id}
        if params is not None:
            message["params"] = params
        await self.send(message)
        while True:
            answer = await self.recv()
            if answer.get("id") == request_id and "method" not in answer:
                return answer

    async def until(self, method: str, timeout: float = 10.0) -> dict[str, Any]:
        """Read until a notification ``method`` arrives; return it."""
        while True:
            message = await self.recv(timeout)
            if message.get("method") == method:
                return message


@asynccontextmanager
async def raw(url: str, **kwargs: Any) -> AsyncIterator[Raw]:
    async with connect(url, compression=None, max_size=2**26, **kwargs) as ws:
        yield Raw(ws)
