"""Two ``ccstream-ws serve --redis`` nodes on one real Redis: any node answers for any
execution; ``cancel``, ``control`` and ``stdin`` reach the node that runs it; a killed node's
executions are finalised as ``node_lost`` by the other; a Redis that lost its data is told."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from .._redis import RedisServer, redis_server
from ._http import get_json
from ._nodes import LEASE, nodes
from ._raw import raw

pytestmark = [pytest.mark.anyio, pytest.mark.asyncio_only]


async def test_status_on_another_node_names_the_owner_then_the_result(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with nodes(redis_server.url, tmp_path, "a", "b") as (a, b):
        async with raw(a.url) as owner, raw(b.url) as other:
            await owner.recv()
            await other.recv()
            started = await owner.call("execute", {"command": "sleep 0.5; exit 3"})
            eid = started["result"]["execution_id"]
            status = (await other.call("status", {"execution_id": eid}))["result"]
            assert (status["state"], status["node"], status["pid"]) == (
                "running",
                "a",
                started["result"]["pid"],
            )
            done = (await owner.until("process.completed"))["params"]
            assert done["exit_code"] == 3
            deadline = time.monotonic() + 5
            while True:
                status = (await other.call("status", {"execution_id": eid}))["result"]
                if status["state"] == "ended":
                    break
                assert time.monotonic() < deadline, status
                await _sleep(0.05)
            assert status["result"]["exit_code"] == 3
            assert status["result"]["status"] == "failed"
            for unknown in (eid[:8] + "0" * 24, "nope"):
                missing = await other.call("status", {"execution_id": unknown})
                assert missing["error"]["code"] == -32002


async def test_cancel_pause_and_stdin_through_another_node_reach_the_owners_child(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with nodes(redis_server.url, tmp_path, "a", "b") as (a, b):
        async with raw(a.url) as owner, raw(b.url) as other:
            await owner.recv()
            await other.recv()
            cat = await owner.call("execute", {"argv": ["cat"], "stdin": True})
            eid = cat["result"]["execution_id"]
            fed = await other.call(
                "stdin", {"execution_id": eid, "data": "through b\n", "eof": False}
            )
            assert fed["result"] == {"status": "ok", "bytes": 10, "eof": False}
            out = await owner.until("process.output")
            assert out["params"]["data"] == "through b\n"
            paused = await other.call("control", {"execution_id": eid, "type": "PAUSE"})
            assert paused["result"]["status"] == "paused"
            # The owner's reader hears it; so does the connection that asked (it reads none).
            assert (await owner.until("process.paused"))["params"]["execution_id"] == eid
            assert (await other.until("process.paused"))["params"]["execution_id"] == eid
            assert (await other.call("status", {"execution_id": eid}))["result"]["state"] in (
                "paused",
                "running",  # the owner records it with its next renewal
            )
            await other.call("control", {"execution_id": eid, "type": "RESUME"})
            canceled = await other.call("cancel", {"execution_id": eid})
            assert canceled["result"] == {"status": "canceled", "execution_id": eid}
            done = (await owner.until("process.completed"))["params"]
            assert (done["status"], done["reason"]) == ("canceled", "cancelled")
            # Ended: the other node says so rather than sending it nowhere.
            deadline = time.monotonic() + 5
            while True:
                again = await other.call("cancel", {"execution_id": eid})
                if again.get("error", {}).get("code") == -32007:
                    break
                assert time.monotonic() < deadline, again
                await _sleep(0.05)
            nostdin = await owner.call("execute", {"argv": ["sleep", "5"]})
            refused = await other.call(
                "stdin", {"execution_id": nostdin["result"]["execution_id"], "data": "x"}
            )
            assert refused["error"]["code"] == -32007


async def test_a_killed_node_is_finalised_node_lost_within_the_lease_and_commands_fail(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with nodes(redis_server.url, tmp_path, "a", "b") as (a, b):
        async with raw(a.url) as owner, raw(b.url) as other, raw(b.url) as canceller:
            for client in (owner, other, canceller):
                await client.recv()
            started = await owner.call(
                "execute", {"command": "echo before; sleep 30", "detach": True}
            )
            eid = started["result"]["execution_id"]
            await owner.until("process.output")
            await _sleep(0.3)  # one lease renewal records the progress
            a.kill()
            killed = time.monotonic()
            answers: list[dict[str, Any]] = []

            async def cancel() -> None:
                answers.append(await canceller.call("cancel", {"execution_id": eid}))

            async with anyio.create_task_group() as group:
                group.start_soon(cancel)
                deadline = time.monotonic() + 5 * LEASE
                while True:
                    status = (await other.call("status", {"execution_id": eid}))["result"]
                    if status["state"] == "ended":
                        break
                    assert time.monotonic() < deadline, status
                    await anyio.sleep(0.05)
                lost_after = time.monotonic() - killed
            assert lost_after < LEASE + 0.3, lost_after
            result = status["result"]
            assert (result["status"], result["reason"]) == ("failed", "node_lost")
            assert result["exit_code"] is None
            assert result["node"] == "a"
            assert result["finalised_by"] == "b"
            assert result["stdout"]["bytes"] == 7
            assert result["unflushed"] == {"stdout": 0, "stderr": 0}
            # Sent to a dead node: it waited for it in vain, or found it down. Never a no-op.
            error = answers[0]["error"]
            assert error["code"] == -32011, error
            assert error["data"]["reason"] in ("node_down", "timeout")
            assert error["data"]["node"] == "a"
            down = await canceller.call("cancel", {"execution_id": eid})
            assert down["error"]["code"] == -32007  # ended, as node_lost
            health = get_json(b.port, "/healthz")[1]["cluster"]
            assert health["node"] == "b"
            assert health["finalised"] == 1
            assert health["redis"]["connected"] is True


async def test_redis_restarted_empty_is_told_as_store_lost_never_another_execution(
    tmp_path: Path,
) -> None:
    with redis_server(tmp_path) as redis, nodes(redis.url, tmp_path, "a", "b") as (a, b):
        async with raw(a.url) as owner:
            await owner.recv()
            started = await owner.call("execute", {"argv": ["sleep", "30"], "detach": True})
            eid = started["result"]["execution_id"]
        redis.restart()
        async with raw(b.url) as other:
            await other.recv()
            deadline = time.monotonic() + 5
            while True:
                answer = await other.call("subscribe", {"execution_id": eid})
                if answer.get("error", {}).get("code") == -32012:
                    break
                assert time.monotonic() < deadline, answer
                await _sleep(0.1)
            assert answer["error"]["data"]["reason"] == "epoch"
            assert answer["error"]["data"]["epoch"] == eid[:8]
            status, body = get_json(b.port, f"/executions/{eid}/stdout")
            assert (status, body["reason"], body["code"]) == (410, "epoch", -32012)
        status, ready = get_json(a.port, "/readyz")
        assert status == 200, ready
        deadline = time.monotonic() + 5
        while True:  # the owner sees it at its next heartbeat
            health = get_json(a.port, "/healthz")[1]["cluster"]["redis"]
            if health["lost_epochs"]:
                break
            assert time.monotonic() < deadline, health
            await _sleep(0.05)
        assert health["lost_epochs"] == [eid[:8]]
        assert health["epoch"] not in (None, eid[:8])


async def _sleep(seconds: float) -> None:
    await anyio.sleep(seconds)
