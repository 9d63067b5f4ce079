"""A client written for the original executor works unchanged, at /ws/mcp and at /ws."""

from __future__ import annotations

import pytest

from ._raw import raw
from .conftest import Server

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("path", ["/ws/mcp", "/ws"])
async def test_original_session_connected_execute_output_completed(
    server: Server, path: str
) -> None:
    async with raw(f"ws://127.0.0.1:{server.port}{path}") as c:
        hello = await c.recv()
        assert hello["jsonrpc"] == "2.0"
        assert hello["method"] == "connected"
        assert {"session_id", "version", "capabilities"} <= set(hello["params"])
        assert {"execute", "control", "stream"} <= set(hello["params"]["capabilities"])

        answer = await c.call("execute", {"command": "echo hello; echo oops >&2", "timeout": None})
        result = answer["result"]
        assert result["status"] == "started"
        assert isinstance(result["pid"], int)
        assert isinstance(result["pgid"], int)

        completed = await c.until("process.completed")
        methods = [m.get("method") for m in c.seen]
        assert methods.index("process.started") < methods.index("process.output")
        out = "".join(
            m["params"]["data"]
            for m in c.seen
            if m.get("method") == "process.output" and m["params"]["type"] == "stdout"
        )
        err = "".join(
            m["params"]["data"]
            for m in c.seen
            if m.get("method") == "process.output" and m["params"]["type"] == "stderr"
        )
        assert out == "hello\n"
        assert err == "oops\n"
        params = completed["params"]
        assert params["status"] == "completed"
        assert params["exit_code"] == 0
        assert params["execution_time"] >= 0


async def test_original_session_failure_status(server: Server) -> None:
    async with raw(f"ws://127.0.0.1:{server.port}/ws/mcp") as c:
        await c.recv()
        await c.call("execute", {"command": "exit 7"})
        completed = await c.until("process.completed")
        assert completed["params"]["status"] == "failed"
        assert completed["params"]["exit_code"] == 7


async def test_original_control_pause_resume_cancel(server: Server) -> None:
    async with raw(f"ws://127.0.0.1:{server.port}/ws/mcp") as c:
        await c.recv()
        await c.call("execute", {"command": "echo ready; sleep 30", "timeout": None})
        await c.until("process.output")
        assert (await c.call("control", {"type": "PAUSE"}))["result"]["status"] == "paused"
        assert (await c.call("control", {"type": "RESUME"}))["result"]["status"] == "resumed"
        assert (await c.call("control", {"type": "CANCEL"}))["result"]["status"] == "canceled"
        completed = await c.until("process.completed")
        assert completed["params"]["status"] == "canceled"
        assert completed["params"]["reason"] == "cancelled"
        # Nothing runs any more: the original answer for a control without a process.
        answer = await c.call("control", {"type": "CANCEL"})
        assert answer["error"]["code"] == -32002


async def test_timeout_completes_with_status_timeout(server: Server) -> None:
    async with raw(server.url) as c:
        await c.recv()
        await c.call("execute", {"command": "sleep 30", "timeout": 0.3})
        completed = await c.until("process.completed")
        assert completed["params"]["status"] == "timeout"
        assert completed["params"]["reason"] == "timeout"
        assert completed["params"]["exit_code"] < 0  # killed by a signal, reported truthfully


async def test_json_pong_is_accepted(server: Server) -> None:
    async with raw(server.url) as c:
        await c.recv()
        await c.send({"jsonrpc": "2.0", "method": "pong"})  # a notification: no answer
        answer = await c.call("ping")
        assert answer["result"]["pong"] is True
        assert [m for m in c.seen if "error" in m] == []
