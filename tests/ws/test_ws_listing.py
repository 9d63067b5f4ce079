"""``list`` (the executions a connection may see) and ``policy`` (what ``execute`` accepts) over
a real server."""

from __future__ import annotations

import sys

import pytest

from ccstream_ws import Client, RPCError

from .conftest import Server, ServerPool

pytestmark = pytest.mark.anyio
PY = sys.executable


async def test_list_shows_running_and_recent_executions_of_every_connection(
    servers: ServerPool, kind: str
) -> None:
    server = servers.get(kind, {"retention": 30})
    async with Client(server.url) as first:
        done = await first.execute([PY, "-c", "print('hi')"], detach=True)
        await done.wait()
        async with Client(server.url) as second:
            running = await second.execute([PY, "-c", "import time; time.sleep(30)"])
            try:
                seen = await first.call("list", {})
                ids = [e["execution_id"] for e in seen["executions"]]
                # Newest first; the other connection's run is listed too.
                assert ids.index(running.id) < ids.index(done.id)
                by_id = {e["execution_id"]: e for e in seen["executions"]}
                assert by_id[running.id]["state"] == "running"
                assert by_id[running.id]["mine"] is False
                assert by_id[done.id]["mine"] is True
                assert by_id[done.id]["result"]["status"] == "completed"
                assert by_id[done.id]["stdout"] == {"bytes": 3, "lines": 1}
                assert seen["scope"] == "all"
                assert seen["running"] >= 1
                only = await first.call("list", {"state": "running"})
                assert running.id in [e["execution_id"] for e in only["executions"]]
                assert done.id not in [e["execution_id"] for e in only["executions"]]
                one = await first.call("list", {"limit": 1})
                assert [e["execution_id"] for e in one["executions"]] == [running.id]
                assert one["total"] == seen["total"]
                for bad in ({"limit": 0}, {"limit": "5"}, {"state": "gone"}):
                    with pytest.raises(RPCError) as refused:
                        await first.call("list", bad)
                    assert refused.value.code == -32602
            finally:
                await running.cancel()


async def test_list_shows_only_a_connections_own_runs_when_the_server_says_so(
    servers: ServerPool,
) -> None:
    server = servers.get("uvicorn", {"list_executions": False})
    async with Client(server.url) as first, Client(server.url) as second:
        mine = await first.execute([PY, "-c", "pass"])
        await mine.wait()
        theirs = await second.execute([PY, "-c", "pass"])
        await theirs.wait()
        seen = await first.call("list", {})
        assert [e["execution_id"] for e in seen["executions"]] == [mine.id]
        assert seen["scope"] == "own"


async def test_policy_says_what_execute_accepts(servers: ServerPool, server: Server) -> None:
    async with Client(server.url) as client:
        default = await client.call("policy", {})
    assert default["shell"] is True
    assert default["allowed_executables"] is None
    strict = servers.get("uvicorn", {"allow_shell": False, "allowed_executables": ["echo"]})
    async with Client(strict.url) as client:
        policy = await client.call("policy", {})
        assert policy["shell"] is False
        assert policy["shell_path"] is None
        assert policy["allowed_executables"] == ["echo"]
        # What it says is what execute does.
        with pytest.raises(RPCError) as refused:
            await client.call("execute", {"command": "echo hi"})
        assert refused.value.code == -32001
