"""Mount the ccstream WebSocket adapter inside a Starlette application.

    uvicorn examples.starlette_mount:app --port 8000
    # viewer:    http://127.0.0.1:8000/ccstream/
    # WebSocket: ws://127.0.0.1:8000/ccstream/ws
    # your own routes next to it: http://127.0.0.1:8000/

FastAPI is the same (``FastAPI`` is a Starlette subclass)::

    api = fastapi.FastAPI(lifespan=lifespan)
    api.mount("/ccstream", adapter)

The adapter hosts its runs in a task group that its ASGI lifespan opens; Starlette does not run
a mounted app's lifespan, so the host's lifespan forwards it (:func:`lifespan` below). Without
it the adapter still works, and runs live in the connection that started them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

import ccstream_ws

adapter = ccstream_ws.App(ccstream_ws.ServerConfig(host="127.0.0.1"))


@asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    """Run the adapter's own lifespan for as long as the host's."""
    started = anyio.Event()
    stopping = anyio.Event()
    stopped = anyio.Event()

    async def receive() -> dict[str, Any]:
        if not started.is_set():
            return {"type": "lifespan.startup"}
        await stopping.wait()
        return {"type": "lifespan.shutdown"}

    async def send(message: Any) -> None:
        if message["type"] == "lifespan.startup.complete":
            started.set()
        elif message["type"] == "lifespan.shutdown.complete":
            stopped.set()

    async with anyio.create_task_group() as group:
        group.start_soon(adapter, {"type": "lifespan"}, receive, send)
        await started.wait()
        try:
            yield
        finally:
            stopping.set()
            await stopped.wait()


async def home(request: Request) -> JSONResponse:
    """A route of the host application, next to the adapter."""
    return JSONResponse({"app": "host", "ccstream": str(request.url_for("ccstream", path="/"))})


app = Starlette(
    routes=[
        Route("/", home),
        Mount("/ccstream", app=adapter, name="ccstream"),
    ],
    lifespan=lifespan,
)
