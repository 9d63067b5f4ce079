"""SIGTERM to ``ccstream-ws serve``: every reader gets its completion, then close 1001."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from ._cli_server import serve_cli, stop
from ._raw import raw
from .conftest import free_port

pytestmark = pytest.mark.anyio


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_sigterm_sends_each_reader_its_completion_then_1001(tmp_path: Path) -> None:
    port = free_port()
    proc = serve_cli(port, tmp_path / "server.log", "--drain-timeout", "0")
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
    text = (tmp_path / "server.log").read_text()
    assert "Traceback" not in text, text


def test_sigterm_without_connections_exits_at_once(tmp_path: Path) -> None:
    proc = serve_cli(free_port(), tmp_path / "server.log")
    started = time.monotonic()
    assert stop(proc, signal.SIGTERM) == -signal.SIGTERM
    assert time.monotonic() - started < 3
