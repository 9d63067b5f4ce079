"""Several ``ccstream-ws serve --redis`` processes on one real redis-server, on loopback."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ._cli_server import stop
from .conftest import free_port

LEASE = 1.0
"""Seconds of the nodes' lease in these tests: a lost node is finalised within it."""
START_TIMEOUT = 20.0


@dataclass
class Node:
    """One server process: its name, port, process and log."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def kill(self) -> None:
        """SIGKILL the node (as a crash would) and wait for it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def _spawn(redis_url: str, directory: Path, name: str, flags: tuple[str, ...]) -> Node:
    port = free_port()
    log = directory / f"node-{name}.log"
    argv = [sys.executable, "-m", "ccstream_ws.cli", "serve", "--port", str(port)]
    argv += ["--redis", redis_url, "--node-id", name, "--lease", str(LEASE)]
    argv += ["--command-timeout", "2", "--drain-timeout", "0", *flags]
    with log.open("wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
    return Node(name, port, proc, log)


def wait_for_port(
    port: int, proc: subprocess.Popen[bytes], log: Path, deadline: float | None = None
) -> None:
    """Return once 127.0.0.1:``port`` accepts; :class:`RuntimeError` (with ``log``) when
    ``proc`` ended or ``deadline`` (default: :data:`START_TIMEOUT` from now) passed."""
    deadline = time.monotonic() + START_TIMEOUT if deadline is None else deadline
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {log.read_text()}") from None
            time.sleep(0.05)


@contextmanager
def nodes(
    redis_url: str, directory: Path, *names: str, flags: tuple[str, ...] = ()
) -> Iterator[list[Node]]:
    """One node per name on ``redis_url``, started together; each stopped (SIGTERM, by its
    pid; SIGKILL if it does not end) on exit."""
    started = [_spawn(redis_url, directory, name, flags) for name in names]
    try:
        deadline = time.monotonic() + START_TIMEOUT
        for node in started:
            wait_for_port(node.port, node.proc, node.log, deadline)
        yield started
    finally:
        for node in started:
            if node.proc.poll() is None:
                node.proc.send_signal(signal.SIGTERM)
        for node in started:
            if node.proc.poll() is None:
                stop(node.proc, signal.SIGTERM)
