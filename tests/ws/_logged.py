"""A real server whose whole log (stdout and stderr) goes to a file the test reads afterwards."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .conftest import HERE, Server, free_port


@contextmanager
def logged_server(kind: str, config: dict[str, Any], log: Path) -> Iterator[Server]:
    """Start ``_server.py KIND`` with ``config``, logging to ``log``; stop it (by its pid) at
    the end, and wait for it, so the log is complete when the block exits."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "_server.py"), kind, str(port), json.dumps(config)],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{kind} server exited with {proc.returncode}: {log.read_text()}"
                )
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{kind} server did not start") from None
                time.sleep(0.05)
        yield Server(kind, port, proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tracebacks(log: Path) -> list[str]:
    """The lines of ``log`` that start a traceback or report an error."""
    return [
        line
        for line in log.read_text(errors="replace").splitlines()
        if "Traceback" in line or line.startswith("ERROR") or "Exception in ASGI" in line
    ]
