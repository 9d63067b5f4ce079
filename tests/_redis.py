"""A real redis-server for the tests: started on a free loopback port, stopped by its pid.

Use :func:`redis_server` as a context manager, or the ``redis_server`` fixture (session scope)
from ``tests/conftest.py``. The server keeps nothing on disk (``--save ''``, no AOF) unless asked,
so a restart of it is a restart with empty data: the case the epoch check exists for.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REDIS_SERVER = shutil.which("redis-server") or (
    "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
)
START_TIMEOUT = 10.0
"""Seconds a starting server has to accept a connection."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    """One redis-server process on 127.0.0.1:``port``; :meth:`restart` starts it again empty."""

    port: int
    directory: Path
    args: Sequence[str] = ()
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS_SERVER is not None
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        argv += ["--maxmemory-policy", "noeviction", *self.args]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while not _ping(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server by its pid (SIGKILL when ``kill``) and wait for it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill() if kill else self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        """Kill the server and start it again on the same port with no data."""
        self.stop(kill=True)
        self.start()


def require_redis() -> str:
    """The redis-server path, or skip the test with the reason."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (`make packages` installs it as root with apt)")
    return REDIS_SERVER


@contextmanager
def redis_server(directory: Path, *args: str) -> Iterator[RedisServer]:
    """A started :class:`RedisServer` with extra ``args``; stopped on exit."""
    require_redis()
    server = RedisServer(port=_free_port(), directory=directory, args=args)
    server.start()
    try:
        yield server
    finally:
        server.stop()
