"""Several ``ccstream-ws serve --redis`` processes on one real redis-server, on loopback."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from ._cli_server import serve_cli, stop
from .conftest import free_port

LEASE = 1.0
"""Seconds of the nodes' lease in these tests: a lost node is finalised within it."""


@dataclass
class Node:
    """One server process: its name, port and process."""

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


@contextmanager
def node(redis_url: str, directory: Path, name: str, *flags: str) -> Iterator[Node]:
    """A node named ``name`` on ``redis_url``; stopped (SIGTERM, by its pid) on exit."""
    port = free_port()
    log = directory / f"node-{name}.log"
    proc = serve_cli(
        port,
        log,
        "--redis",
        redis_url,
        "--node-id",
        name,
        "--lease",
        str(LEASE),
        "--command-timeout",
        "2",
        "--drain-timeout",
        "0",
        *flags,
    )
    try:
        yield Node(name, port, proc, log)
    finally:
        if proc.poll() is None:
            stop(proc, signal.SIGTERM)


@contextmanager
def nodes(redis_url: str, directory: Path, *names: str) -> Iterator[list[Node]]:
    """One node per name on ``redis_url``."""
    with ExitStack() as stack:
        yield [stack.enter_context(node(redis_url, directory, name)) for name in names]
