"""SIGTERM to ``ccstream-ws serve``: every reader gets its completion, then close 1001."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import anyio
import pytest
from websockets.exceptions import ConnectionClosed

from ._raw import raw
from .conftest import free_port

pytestmark = pytest.mark.anyio


def _serve(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccstream_ws.cli", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("the server did not start") from None
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_sigterm_sends_each_reader_its_completion_then_1001() -> None:
    port = free_port()
    proc = _serve(port)
    try:
        url = f"ws://127.0.0.1:{port}/ws"
        async with raw(url) as owner, raw(url) as follower:
            for c in (owner, follower):
                assert (await c.recv())["method"] == "connected"
            started = (await owner.call("execute", {"argv": ["sleep", "30"]}))["result"]
            eid, pid = started["execution_id"], started["pid"]
            await follower.call("subscribe", {"execution_id": eid})
            proc.send_signal(signal.SIGTERM)
            for c in (owner, follower):
                completed = await c.until("process.completed")
                params = completed["params"]
                assert (params["execution_id"], params["status"]) == (eid, "canceled")
                assert params["reason"] == "cancelled"
                assert params["signal"] == "SIGTERM"  # the run's true end: killed by our TERM
                with pytest.raises(ConnectionClosed) as info:
                    await c.recv(timeout=10)
                assert info.value.rcvd is not None
                assert info.value.rcvd.code == 1001
        # uvicorn re-raises the signal once it has shut down: the status says SIGTERM ended it.
        assert proc.wait(15) == -signal.SIGTERM
        assert not _alive(pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert "Traceback" not in stderr, stderr
    assert "1012" not in stderr


async def test_sigterm_without_connections_exits_at_once() -> None:
    proc = _serve(free_port())
    try:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == -signal.SIGTERM
        assert time.monotonic() - started < 3
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
    await anyio.sleep(0)
