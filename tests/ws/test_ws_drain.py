"""The drain on SIGTERM: no new executions, running ones get ``--drain-timeout`` seconds to end
by themselves, then the rest are cancelled with their ``process.completed`` sent, then 1001."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from ._cli_server import serve_cli
from ._http import get_json
from ._raw import Raw, raw
from .conftest import free_port

pytestmark = pytest.mark.anyio


async def _closed_with(client: Raw, code: int) -> None:
    """Read until the server closes; its close code must be ``code``."""

    async def read_all() -> None:
        while True:
            await client.recv(timeout=15)

    with pytest.raises(ConnectionClosed) as info:
        await read_all()
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == code


def _draining(port: int) -> dict[str, Any]:
    """``/readyz`` once it says not ready (the signal reaches the server a moment later)."""
    deadline = time.monotonic() + 5
    while True:
        status, body = get_json(port, "/readyz")
        if status == 503:
            return dict(body)
        assert time.monotonic() < deadline, body
        time.sleep(0.02)


async def test_drain_lets_a_short_run_finish_cancels_a_long_one_then_closes_1001(
    tmp_path: Path,
) -> None:
    port = free_port()
    proc = serve_cli(port, tmp_path / "server.log", "--drain-timeout", "3")
    url = f"ws://127.0.0.1:{port}/ws"
    try:
        async with raw(url) as short, raw(url) as long, raw(url) as detacher, raw(url) as late:
            for c in (short, long, detacher, late):
                await c.recv()
            await short.call("execute", {"command": "sleep 1; echo built; exit 4"})
            await long.call("execute", {"argv": ["sleep", "60"]})
            answer = await detacher.call(
                "execute", {"argv": ["sleep", "60"], "detach": True, "retention": 60}
            )
            detached = answer["result"]["execution_id"]
            assert get_json(port, "/readyz")[0] == 200
            proc.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            # Draining: still answering, not ready, no new executions, reads go on.
            body = _draining(port)
            assert body["ready"] is False
            assert "draining: the server is shutting down" in body["reasons"]
            assert get_json(port, "/healthz")[0] == 200
            refused = await late.call("execute", {"argv": ["true"]})
            assert refused["error"]["code"] == -32003
            assert "shutting down" in refused["error"]["message"]
            followed = await late.call("subscribe", {"execution_id": detached})
            assert followed["result"]["status"] == "subscribed"

            done = (await short.until("process.completed"))["params"]
            assert (done["status"], done["reason"], done["exit_code"]) == ("failed", "exited", 4)
            assert time.monotonic() - signalled < 3  # ended by itself, within the drain

            for client in (long, late):  # the owner of one, the subscriber of the detached one
                params = (await client.until("process.completed", timeout=15))["params"]
                assert (params["status"], params["reason"]) == ("canceled", "cancelled")
                assert time.monotonic() - signalled >= 3  # only after the drain timeout
            assert params["execution_id"] == detached
            for client in (short, long, detacher, late):
                await _closed_with(client, 1001)
        assert proc.wait(15) == -signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = (tmp_path / "server.log").read_text()
    assert "Traceback" not in text, text
    assert "draining: waiting up to 3.0 s for 3 running executions" in text
    assert "draining: 2 executions still running: cancelling them" in text


async def test_a_second_sigterm_cuts_the_drain_short(tmp_path: Path) -> None:
    port = free_port()
    proc = serve_cli(port, tmp_path / "server.log", "--drain-timeout", "60")
    try:
        async with raw(f"ws://127.0.0.1:{port}/ws") as client:
            await client.recv()
            await client.call("execute", {"argv": ["sleep", "60"]})
            proc.send_signal(signal.SIGTERM)
            _draining(port)  # the first signal was seen
            signalled = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            params = (await client.until("process.completed", timeout=15))["params"]
            assert (params["status"], params["reason"]) == ("canceled", "cancelled")
            assert time.monotonic() - signalled < 10
            await _closed_with(client, 1001)
        assert proc.wait(15) == -signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = (tmp_path / "server.log").read_text()
    assert "draining: cut short by a second signal" in text, text
