"""The ASGI application: WebSocket endpoints, ``/healthz`` and the lifespan that hosts runs.

Mount it in Starlette or FastAPI, or serve it with any ASGI server::

    app = ccstream_ws.App(ccstream_ws.ServerConfig())
    # uvicorn module:app   |   hypercorn -k trio module:app

Routes (relative to where it is mounted): WebSocket ``/ws`` and ``/ws/mcp`` (the original
executor's path; same protocol), HTTP ``GET /healthz`` (alive), ``GET /readyz`` (can take
work), ``GET /metrics`` (Prometheus; unless ``ServerConfig.metrics`` moved it to
:meth:`App.metrics_app`), the browser viewer at ``/`` (with its files under ``/static/`` and its
``POST /login``) and downloads of spooled output at ``/executions/{id}/stdout``, ``stderr`` and
``merged``. Anything else is a 404, or for a WebSocket a refused handshake (HTTP 403). Every HTTP
route but ``/healthz`` and ``/readyz`` answers only for a ``Host`` the server serves
(:func:`ccstream_ws.server._auth.host_allowed`), else 421; ``/metrics`` also needs the token
when one is set, like a WebSocket (:func:`ccstream_ws.server._auth.admit`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread

import ccstream

from .._version import VERSION
from ..exceptions import ConfigError
from ..protocol._codes import CloseCode
from . import _downloads, _login, _metrics_http, _readiness, _redact, _viewer
from ._asgi import ASGIApp, Message, Receive, Scope, Send, header
from ._auth import admit, host_allowed
from ._config import ServerConfig
from ._logs import install_log_filters
from ._policy import allowed_paths
from ._registry import Registry
from ._session import Session

__all__ = ["App"]

log = logging.getLogger("ccstream_ws")

WS_PATHS = ("/ws", "/ws/mcp")
ENDPOINTS = [
    "/",
    "/login",
    "/ws",
    "/ws/mcp",
    "/healthz",
    "/readyz",
    "/metrics",
    "/executions/{id}/{stdout,stderr,merged}",
]


def _route(scope: Scope) -> str:
    path = str(scope.get("path", "/"))
    root = str(scope.get("root_path", ""))
    # Starlette's Mount keeps the full path and sets root_path; other hosts strip it already.
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    return path.rstrip("/") or "/"


def _client(scope: Scope) -> str:
    client = scope.get("client")
    if client:
        return f"{client[0]}:{client[1]}"
    return "unknown"


class App:
    """The ccstream WebSocket adapter as an ASGI 3 application.

    ``config`` holds every policy and limit (:class:`ServerConfig`). Runs live in a task group
    that the ASGI lifespan opens, or :meth:`lifespan` for a host that does not run a mounted
    app's lifespan (Starlette, FastAPI); when neither runs, each run lives in the task group
    of the connection that started it, and that connection's handler returns only once its
    detached runs are released.

    Making one shortens uvicorn's log of a client's invalid UTF-8 to one line
    (:mod:`ccstream_ws.server._logs`).
    """

    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = config or ServerConfig()
        install_log_filters()
        self.registry = Registry(self.config)
        self.metrics = self.registry.metrics
        """The app's counters; :meth:`Metrics.render` is the ``/metrics`` body."""
        self._sessions: set[Session] = set()
        self._cut_short = False
        self._hosted = False  # inside lifespan()
        self._cut: anyio.Event | None = None  # made on the event loop, by drain()
        _redact.install()  # the ASGI server's access log must not print ?token=
        allowed_paths(self.config)  # resolve the allowlist on the server's PATH now, once
        if ccstream.get_max_concurrent_runs() < self.config.max_executions:
            # The core's own process-wide limit would queue runs we have admitted.
            ccstream.set_max_concurrent_runs(self.config.max_executions)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    # -- lifespan -----------------------------------------------------------------------------

    def lifespan(self, app: object = None) -> AbstractAsyncContextManager[None]:
        """The app's lifespan as an async context manager, for a host that does not run a
        mounted app's ASGI lifespan (Starlette and FastAPI do not)::

            adapter = ccstream_ws.App(config)
            api = Starlette(routes=[Mount("/ccstream", app=adapter)], lifespan=adapter.lifespan)

        or, inside a lifespan of the host's own, ``async with adapter.lifespan(): yield``.
        ``app`` (the host application, as Starlette passes it) is not used.

        On entry it checks the spool directory (:class:`ccstream_ws.ConfigError` when it is not
        usable: the host's startup fails before it listens), stops the runs a server killed
        together with its watchdog left behind, and opens the server-wide task group that hosts
        every run (detached ones too) and the spool budget's watch. On exit every run still going
        is killed (its process group, not just the child); call :meth:`drain` and
        :meth:`shutdown` before, while the connections are open, so their readers are told how
        the runs ended. Entered once at a time: a second entry raises :class:`RuntimeError`.
        """
        return self._hosting()

    @asynccontextmanager
    async def _hosting(self) -> AsyncIterator[None]:
        if self._hosted:
            raise RuntimeError("the app's lifespan is already running")
        self._hosted = True
        try:
            problem = await anyio.to_thread.run_sync(
                lambda: _readiness.spool_problem(self.config.spool_directory, create=True)
            )
            if problem is not None:
                where = _readiness.spool_directory(self.config.spool_directory)
                text = f"the spool directory {where} is not usable: {problem}"
                log.error("%s", text)
                raise ConfigError(text)
            # A server that died with its watchdog (both killed at once) left its runs behind;
            # the next one stops them before it takes work (the runs of live hosts are left).
            await anyio.to_thread.run_sync(ccstream.stop_orphaned_runs)
            # With --redis: connected (or the startup fails) before any run, and after them.
            async with (
                self.registry.peers.hosting(self.registry.command),
                anyio.create_task_group() as host,
            ):
                self.registry.host = host
                try:
                    yield
                finally:
                    # Every run still going is killed (its process group, not just the child).
                    self.registry.host = None
                    host.cancel_scope.cancel()
        finally:
            self._hosted = False

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "lifespan.startup":
            return
        started = False
        try:
            async with self._hosting():
                started = True
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
        except (ConfigError, RuntimeError) as exc:
            if started:
                raise
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.shutdown.complete"})

    # -- WebSocket ----------------------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        client = _client(scope)
        if _route(scope) not in WS_PATHS:
            log.info("refused WebSocket from %s: no endpoint at %s", client, scope.get("path"))
            self.metrics.refused("close", CloseCode.POLICY_VIOLATION)
            await send(
                {
                    "type": "websocket.close",
                    "code": CloseCode.POLICY_VIOLATION,
                    "reason": "no such endpoint",
                }
            )
            return
        refusal = admit(scope, self.config)
        if refusal is None and self.registry.connections >= self.config.max_connections:
            refusal = CloseCode.TRY_AGAIN_LATER, "too many connections"
        await send({"type": "websocket.accept", "subprotocol": None, "headers": []})
        if refusal is not None:
            code, reason = refusal
            log.warning("refused WebSocket from %s: %s (close code %d)", client, reason, code)
            self.metrics.refused("close", code)
            await send({"type": "websocket.close", "code": int(code), "reason": reason})
            return
        self.registry.connections += 1
        self.metrics.connections.inc()
        session = Session(self.registry, self._counting(send), client=client)
        log.info("session %s: connected from %s", session.id, client)
        self._sessions.add(session)
        try:
            await session.serve(receive)
        finally:
            self._sessions.discard(session)
            self.registry.connections -= 1

    def _counting(self, send: Send) -> Send:
        """``send``, counting each message that went out (``/metrics``)."""
        sent = self.metrics.sent

        async def counted(message: Message) -> None:
            await send(message)
            if message["type"] == "websocket.send":
                sent(message)

        return counted

    # -- drain and shutdown -------------------------------------------------------------------

    @property
    def draining(self) -> bool:
        """True from the start of :meth:`drain` (or :meth:`shutdown`): ``execute`` is refused
        and ``/readyz`` says not ready."""
        return self.registry.closing

    async def drain(self, timeout: float) -> None:  # noqa: ASYNC109 - the drain's own bound
        """Stop taking executions and wait, at most ``timeout`` seconds, for the running ones
        (detached ones too) to end by themselves; everything else keeps working meanwhile
        (output, ``page``, ``subscribe``, downloads, new connections). :meth:`cut_drain` ends
        the wait at once. Then call :meth:`shutdown` for the rest."""
        self.stop_taking()
        running = sum(e.running for e in self.registry)
        if not running:
            return
        if self._cut_short:
            log.warning("draining: cut short by a second signal")
            return
        cut_short = self._cut = anyio.Event()
        log.info("draining: waiting up to %.1f s for %d running executions", timeout, running)
        with anyio.move_on_after(timeout):
            async with anyio.create_task_group() as group:

                async def cut() -> None:
                    await cut_short.wait()
                    log.warning("draining: cut short by a second signal")
                    group.cancel_scope.cancel()

                async def ended() -> None:
                    for execution in self.registry:
                        await execution.ended.wait()
                    # Runs ended, their readers send the completions: shutdown waits for them.
                    group.cancel_scope.cancel()

                group.start_soon(cut)
                group.start_soon(ended)
        left = sum(e.running for e in self.registry)
        if left:
            log.warning("draining: %d executions still running: cancelling them", left)
        else:
            log.info("draining: every execution ended")

    def stop_taking(self) -> None:
        """Refuse new executions from now on (``/readyz``: not ready); the start of a drain."""
        self.registry.closing = True

    def cut_drain(self) -> None:
        """End a :meth:`drain` in progress now, or skip one not begun (a second SIGTERM or
        SIGINT)."""
        self._cut_short = True
        if self._cut is not None:
            self._cut.set()

    async def shutdown(self, grace: float) -> None:
        """End the service in order: cancel every run, let each connection send its readers'
        ``process.completed`` (status ``canceled``, the true result), then close each with 1001
        (going away). Waits at most ``grace`` seconds for the completions; ``ccstream-ws
        serve`` calls it on SIGTERM/SIGINT, after :meth:`drain`, before the ASGI server drops
        the connections."""
        self.registry.closing = True
        running = [e for e in self.registry if e.running]
        log.info("shutting down: cancelling %d running executions", len(running))
        for execution in running:
            execution.cancel()
        sessions = list(self._sessions)
        with anyio.move_on_after(grace) as waited:
            async with anyio.create_task_group() as group:
                for session in sessions:
                    group.start_soon(session.drain)
        if waited.cancelled_caught:
            log.warning("shutting down: not every completion was sent within %.1f s", grace)
        # A client that stopped reading holds its connection's send lock: do not wait for it.
        with anyio.move_on_after(1.0):
            async with anyio.create_task_group() as group:
                for session in sessions:
                    group.start_soon(session.close, CloseCode.GOING_AWAY, "server shutting down")

    # -- HTTP ---------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, raw_send: Send) -> None:
        send = _metrics_http.counting_refusals(raw_send, self.metrics)
        route = _route(scope)
        method = scope.get("method")
        if route == "/healthz" and method in ("GET", "HEAD"):
            await _json(send, 200, self.health())
        elif route == "/readyz" and method in ("GET", "HEAD"):
            ready = await self.readiness()
            await _json(send, 200 if ready["ready"] else 503, ready)
        elif not host_allowed(scope, self.config):
            host = (header(scope, b"host") or "")[:100]
            log.warning("refused HTTP from %s: Host %r is not served here", _client(scope), host)
            await _json(
                send, 421, {"error": f"Host {host!r} is not served here (see --allow-host)"}
            )
        elif route == "/metrics" and self.config.metrics:
            await _metrics_http.serve(scope, send, self.config, self.metrics)
        elif route == _login.ROUTE:
            await _login.serve(scope, receive, send, self.config)
        elif _viewer.handles(route):
            await _viewer.serve(scope, send, route)
        elif _downloads.handles(route):
            await _downloads.serve(scope, receive, send, route, self.registry)
        else:
            await _json(send, 404, {"error": "not found", "endpoints": ENDPOINTS})

    def metrics_app(self) -> ASGIApp:
        """An ASGI app that serves only this app's ``GET /metrics`` (under the same Host and
        token rules), for a listener of its own: ``ccstream-ws serve --metrics-port``."""

        async def serve(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": int(CloseCode.POLICY_VIOLATION)})
                return
            if _route(scope) != "/metrics":
                await _json(send, 404, {"error": "not found", "endpoints": ["/metrics"]})
            elif not host_allowed(scope, self.config):
                await _json(send, 421, {"error": "this Host is not served here"})
            else:
                await _metrics_http.serve(scope, send, self.config, self.metrics)

        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            await serve(scope, receive, _metrics_http.counting_refusals(send, self.metrics))

        return counted

    async def readiness(self) -> dict[str, Any]:
        """What ``/readyz`` answers: ``ready`` (HTTP 200, else 503) when the app takes an
        ``execute`` now: not draining or shutting down, below ``max_executions``, and its spool
        directory usable (:mod:`ccstream_ws.server._readiness`); ``reasons`` says what is not."""
        reasons: list[str] = []
        if self.draining:
            reasons.append("draining: the server is shutting down")
        running = self.registry.running
        if running >= self.config.max_executions:
            reasons.append(f"at the limit of {self.config.max_executions} running executions")
        problem = await anyio.to_thread.run_sync(
            _readiness.spool_problem, self.config.spool_directory
        )
        if problem is not None:
            where = _readiness.spool_directory(self.config.spool_directory)
            reasons.append(f"the spool directory {where} is not usable: {problem}")
        cluster = self.registry.peers.problem()
        if cluster is not None:
            reasons.append(cluster)
        return {
            "ready": not reasons,
            "status": "ready" if not reasons else "not ready",
            "reasons": reasons,
        }

    def health(self) -> dict[str, Any]:
        """What ``/healthz`` answers: the server's state."""
        executions = list(self.registry)
        running = [e for e in executions if e.running]
        cluster = self.registry.peers.health()
        return {
            **({"cluster": cluster} if cluster is not None else {}),
            "status": "ok",
            "version": VERSION,
            "uptime": time.time() - self.registry.started_at,
            "connections": self.registry.connections,
            "executions": {
                "running": len(running),
                "retained": len(executions) - len(running),
                "detached": sum(e.detached for e in executions),
                "limit": self.config.max_executions,
            },
            "spool": self.registry.spool_health(),
        }


async def _json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
