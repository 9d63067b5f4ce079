"""``ccstream-ws serve``'s uvicorn server: on SIGTERM or SIGINT the app ends its connections in
order (every reader's ``process.completed``, then close 1001) before uvicorn drops them.

uvicorn on its own closes every WebSocket with 1012 first and runs the app's lifespan shutdown
only after, when no client can be told how its run ended.
"""

from __future__ import annotations

import socket
from typing import Any

import uvicorn

from ._app import App

__all__ = ["run"]


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: App, drain: float) -> None:
        super().__init__(config)
        self._app = app
        self._drain = drain

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Stop accepting first (uvicorn does it again, harmlessly), then end the sessions.
        for server in self.servers:
            server.close()
        if not self.force_exit:
            await self._app.shutdown(self._drain)
        await super().shutdown(sockets)


def run(app: App, **config: Any) -> None:
    """Serve ``app`` under uvicorn with ``config`` (``uvicorn.Config``'s keyword arguments).

    The completions get the kill grace of a run plus one second to go out.
    """
    server = _Server(uvicorn.Config(app, **config), app, app.config.kill_grace + 1.0)
    server.run()
