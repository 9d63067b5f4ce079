"""``ccstream-ws serve``'s uvicorn server: drain, then end the connections in order.

On SIGTERM or SIGINT the app drains (:meth:`App.drain`): no new executions, the running ones
get ``drain_timeout`` seconds to end by themselves while the listeners stay open (``/readyz``
answers 503, output and downloads flow). Then the listeners close and the app ends its
connections (:meth:`App.shutdown`: the rest cancelled, every reader's ``process.completed``,
close 1001) before uvicorn drops them. A second SIGTERM or SIGINT during the drain cuts it short
(the shutdown itself still sends the completions).

uvicorn on its own closes every WebSocket with 1012 first and runs the app's lifespan shutdown
only after, when no client can be told how its run ended.

``--metrics-port``: a second listener on loopback in the same event loop, serving only
``/metrics`` (:meth:`App.metrics_app`); its socket is bound before the server starts, so a port
in use is an error before anything listens.
"""

from __future__ import annotations

import asyncio
import socket
from types import FrameType
from typing import Any

import uvicorn

from ..exceptions import ConfigError
from ._app import App

__all__ = ["run"]


class _Server(uvicorn.Server):
    def __init__(
        self,
        config: uvicorn.Config,
        app: App,
        grace: float,
        metrics: tuple[uvicorn.Config, socket.socket] | None,
    ) -> None:
        super().__init__(config)
        self._app = app
        self._grace = grace
        self._metrics = metrics
        self._loop: asyncio.AbstractEventLoop | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.should_exit:
            super().handle_exit(sig, frame)
            if self._loop is not None:  # at once, not at uvicorn's next tick
                self._loop.call_soon_threadsafe(self._app.stop_taking)
            return
        # A later signal cuts the drain short, rather than uvicorn's force exit: that would
        # skip the shutdown that kills the runs' process groups and tells their readers.
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._app.cut_drain)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)
        if self._metrics is None:
            return
        config, sock = self._metrics
        if not config.loaded:
            config.load()

        def create_protocol(_loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Protocol:
            # As uvicorn makes its own (Server.startup); one server state, so the shutdown
            # waits for these connections too.
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state={}, _loop=_loop
            )

        server = await self._loop.create_server(create_protocol, sock=sock)
        self.servers.append(server)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if not self.force_exit:
            await self._app.drain(self._app.config.drain_timeout)
        # Stop accepting (uvicorn does it again, harmlessly), then end the sessions.
        for server in self.servers:
            server.close()
        if not self.force_exit:
            await self._app.shutdown(self._grace)
        await super().shutdown(sockets)


def _listen(port: int) -> socket.socket:
    try:
        return socket.create_server(("127.0.0.1", port))
    except OSError as exc:
        raise ConfigError(f"cannot listen for /metrics on 127.0.0.1:{port}: {exc}") from None


def run(app: App, *, metrics_port: int | None = None, **config: Any) -> None:
    """Serve ``app`` under uvicorn with ``config`` (``uvicorn.Config``'s keyword arguments);
    ``metrics_port`` adds a listener on ``127.0.0.1`` that serves only ``/metrics``.

    The completions get the kill grace of a run plus one second to go out.
    """
    metrics = None
    if metrics_port is not None:
        sock = _listen(metrics_port)
        metrics_config = uvicorn.Config(
            app.metrics_app(),
            lifespan="off",
            ws="none",
            log_config=None,
            access_log=config.get("access_log", True),
            proxy_headers=False,
        )
        metrics = metrics_config, sock
    server = _Server(uvicorn.Config(app, **config), app, app.config.kill_grace + 1.0, metrics)
    try:
        server.run()
    finally:
        if metrics is not None:
            metrics[1].close()
    if not server.started:
        raise SystemExit(3)  # uvicorn's STARTUP_FAILURE; it logged why
