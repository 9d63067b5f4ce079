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


@pytest.fixture
def anyio_backend() -> str:
    """The client runs on asyncio (websockets); the servers cover asyncio and trio."""
    return "asyncio"


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
