"""Real servers on loopback for the adapter's tests, one process per (kind, config), shared."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
KINDS = ["uvicorn", "hypercorn-trio"]


# Modules whose tests drive websockets' asyncio client or asyncio itself (``_raw``, the fuzzers,
# hostile peers): they run on asyncio only. The rest run the client on both backends.
ASYNCIO_MODULES = frozenset(
    {
        "test_ws_access",
        "test_ws_budget",
        "test_ws_config",
        "test_ws_drain",
        "test_ws_fanout",
        "test_ws_fuzz",
        "test_ws_hostile",
        "test_ws_layout",
        "test_ws_lifetime",
        "test_ws_logs",
        "test_ws_metrics",
        "test_ws_one_gib_line",
        "test_ws_one_message",
        "test_ws_original_client",
        "test_ws_proxies",
        "test_ws_quota",
        "test_ws_readiness",
        "test_ws_security",
        "test_ws_shutdown",
        "test_ws_spool_handle",
        "test_ws_spool_revoke",
        "test_ws_viewer",
    }
)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """The client runs on asyncio and on trio, against servers on asyncio and on trio; a test
    marked ``asyncio_only`` (or in :data:`ASYNCIO_MODULES`) runs on asyncio."""
    return str(request.param)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the trio runs of the tests that are asyncio's only."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        spec = getattr(item, "callspec", None)
        on_trio = spec is not None and spec.params.get("anyio_backend") == "trio"
        module = item.module.__name__.rpartition(".")[2] if item.module is not None else ""  # type: ignore[attr-defined]
        if on_trio and (item.get_closest_marker("asyncio_only") or module in ASYNCIO_MODULES):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running server process: ``url`` is its ``/ws`` endpoint."""

    kind: str
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid


class ServerPool:
    """Starts each (kind, config) once and stops them all at the end of the session."""

    def __init__(self) -> None:
        self._servers: dict[str, Server] = {}

    def get(self, kind: str, config: dict[str, Any] | None = None) -> Server:
        key = kind + json.dumps(config or {}, sort_keys=True)
        server = self._servers.get(key)
        if server is not None and server.proc.poll() is None:
            return server
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "_server.py"), kind, str(port), json.dumps(config or {})],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{kind} server exited with {proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    proc.kill()
                    raise RuntimeError(f"{kind} server did not start") from None
                time.sleep(0.05)
        server = self._servers[key] = Server(kind, port, proc)
        return server

    def close(self) -> None:
        for server in self._servers.values():
            if server.proc.poll() is None:
                server.proc.send_signal(signal.SIGINT)
        for server in self._servers.values():
            try:
                server.proc.wait(10)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait()


@pytest.fixture(scope="session")
def servers() -> Iterator[ServerPool]:
    pool = ServerPool()
    yield pool
    pool.close()


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """Each server test runs under uvicorn (asyncio) and hypercorn (trio)."""
    return str(request.param)


@pytest.fixture
def server(servers: ServerPool, kind: str) -> Server:
    """A server with the default configuration."""
    return servers.get(kind)
