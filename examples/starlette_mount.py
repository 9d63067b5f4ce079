"""Mount the ccstream WebSocket adapter inside a Starlette application.

    uvicorn examples.starlette_mount:app --port 8000
    # viewer:    http://127.0.0.1:8000/ccstream/
    # WebSocket: ws://127.0.0.1:8000/ccstream/ws
    # your own routes next to it: http://127.0.0.1:8000/

The adapter hosts its runs in a task group that its lifespan opens; Starlette does not run a
mounted app's ASGI lifespan, so the host runs it as its own: ``lifespan=adapter.lifespan``
(:meth:`ccstream_ws.App.lifespan`), or ``async with adapter.lifespan():`` inside a lifespan of
the host's (:func:`lifespan` below). FastAPI is the same (``FastAPI`` is a Starlette subclass)::

    api = fastapi.FastAPI(lifespan=adapter.lifespan)
    api.mount("/ccstream", adapter)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

import ccstream_ws

adapter = ccstream_ws.App(ccstream_ws.ServerConfig(host="127.0.0.1"))


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """The host's own start-up and shutdown, with the adapter's lifespan inside."""
    app.state.started_by = "host"
    async with adapter.lifespan(app):
        yield


async def home(request: Request) -> JSONResponse:
    """A route of the host application, next to the adapter."""
    return JSONResponse(
        {
            "app": "host",
            "started_by": request.app.state.started_by,
            "ccstream": str(request.url_for("ccstream", path="/")),
        }
    )


app = Starlette(
    routes=[
        Route("/", home),
        Mount("/ccstream", app=adapter, name="ccstream"),
    ],
    lifespan=lifespan,
)

# With nothing of the host's own to start: the adapter's lifespan alone.
plain = Starlette(routes=[Mount("/ccstream", app=adapter)], lifespan=adapter.lifespan)
