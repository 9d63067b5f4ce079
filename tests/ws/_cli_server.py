"""``ccstream-ws serve`` itself in a subprocess, its whole log captured to a file."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path


def serve(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``ccstream-ws serve *args`` run to its end (at most 30 s) with ``env`` as its only
    ``CCSTREAM_WS_*`` variables; its output as text."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CCSTREAM_WS_")}
    return subprocess.run(
        [sys.executable, "-m", "ccstream_ws.cli", "serve", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def serve_cli(port: int, log: Path, *flags: str) -> subprocess.Popen[bytes]:
    """Start the CLI server on 127.0.0.1:``port`` (stdout and stderr into ``log``) and wait
    until it listens. The caller stops it by its id."""
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ccstream_ws.cli", "serve", "--port", str(port), *flags],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise RuntimeError(f"the server did not start: {log.read_text()}") from None
            time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes], signal_number: int) -> int:
    """Send ``signal_number``; the exit status (killed after 15 s if it does not exit)."""
    if proc.poll() is None:
        proc.send_signal(signal_number)
    try:
        return proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
