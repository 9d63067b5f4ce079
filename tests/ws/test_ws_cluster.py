"""Two ``ccstream-ws serve --redis`` nodes on one real Redis: any node answers for any
execution; ``cancel``, ``control`` and ``stdin`` reach the node that runs it; a killed node's
executions are finalised as ``node_lost`` by the other; a Redis that lost its data is told."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from .._redis import RedisServer, redis_server
from ._http import get, get_json
from ._nodes import LEASE, Node, nodes, wait_for_port
from ._raw import Raw, raw
from .conftest import HERE, free_port

pytestmark = [pytest.mark.anyio, pytest.mark.asyncio_only]


@pytest.fixture(scope="module")
def pair(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Node]]:
    """Nodes a and b on the session's Redis, for the tests that kill neither."""
    with nodes(redis_server.url, tmp_path_factory.mktemp("pair"), "a", "b") as started:
        yield started


async def test_status_on_another_node_names_the_owner_then_the_result(pair: list[Node]) -> None:
    a, b = pair
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
    pair: list[Node],
) -> None:
    a, b = pair
    async with raw(a.url) as owner, raw(b.url) as other:
        await owner.recv()
        await other.recv()
        cat = await owner.call("execute", {"argv": ["cat"], "stdin": True})
        eid = cat["result"]["execution_id"]
        fed = await other.call("stdin", {"execution_id": eid, "data": "through b\n", "eof": False})
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


LINES = 3000
WRITER = (
    "import sys, time\n"
    f"for i in range({LINES}):\n"
    "    print(f'line {i:05d} ' + 'x' * 40)\n"
    "    if i % 300 == 0: sys.stdout.flush(); time.sleep(0.05)\n"
    "print('to stderr', file=sys.stderr)\n"
)
EXPECTED = "".join(f"line {i:05d} " + "x" * 40 + "\n" for i in range(LINES))


async def _output_until(client: Raw, count: int) -> dict[str, str]:
    """The text of the ``process.output`` frames, per stream, until ``count`` stdout bytes."""
    got = {"stdout": "", "stderr": ""}
    while len(got["stdout"]) < count:
        message = await client.until("process.output")
        got[message["params"]["type"]] += message["params"]["data"]
    return got


async def test_resume_on_the_other_node_gets_exactly_the_rest_and_pages_and_ranges_match(
    pair: list[Node],
) -> None:
    a, b = pair
    async with raw(a.url) as owner:
        await owner.recv()
        started = await owner.call(
            "execute", {"argv": [sys.executable, "-c", WRITER], "detach": True}
        )
        eid = started["result"]["execution_id"]
        before = await _output_until(owner, 10_000)
    # The connection is gone mid-run; the rest comes from the other node.
    async with raw(b.url) as other:
        await other.recv()
        offsets = {name: len(text.encode()) for name, text in before.items()}
        answer = await other.call("subscribe", {"execution_id": eid, "offsets": offsets})
        assert answer["result"]["status"] == "subscribed"
        rest = {"stdout": "", "stderr": ""}
        while True:
            message = await other.recv()
            method = message.get("method")
            if method == "process.output":
                rest[message["params"]["type"]] += message["params"]["data"]
            elif method == "process.gap":
                raise AssertionError(message)
            elif method == "process.completed":
                completed = message["params"]
                break
        assert before["stdout"] + rest["stdout"] == EXPECTED
        assert before["stderr"] + rest["stderr"] == "to stderr\n"
        assert (completed["status"], completed["exit_code"]) == ("completed", 0)
        assert completed["stdout"]["bytes"] == len(EXPECTED)

        page = (
            await other.call(
                "page", {"execution_id": eid, "stream": "stdout", "line": 1234, "count": 3}
            )
        )["result"]
        assert page["lines"] == EXPECTED.splitlines(keepends=True)[1234:1237]
        assert page["complete"] is False
        assert page["known_lines"] == LINES

    status, headers, body = get(b.port, f"/executions/{eid}/stdout", {"Range": "bytes=50000-50999"})
    assert status == 206, body
    assert headers["content-range"] == f"bytes 50000-50999/{len(EXPECTED)}"
    assert body == EXPECTED.encode()[50000:51000]
    status, _, body = get(a.port, f"/executions/{eid}/merged")
    assert status == 200
    assert body.count(b"\n") == LINES + 1


async def test_a_killed_node_is_finalised_node_lost_within_the_lease_and_nothing_hangs(
    tmp_path: Path,
) -> None:
    # A Redis of its own: no other test's node may finalise it first.
    with redis_server(tmp_path) as redis, nodes(redis.url, tmp_path, "a", "b") as (a, b):
        async with raw(a.url) as owner, raw(b.url) as other, raw(b.url) as canceller:
            for client in (owner, other, canceller):
                await client.recv()
            started = await owner.call(
                "execute", {"command": "echo one; echo two; sleep 30", "detach": True}
            )
            eid = started["result"]["execution_id"]
            await other.call("subscribe", {"execution_id": eid})
            got = ""
            while got != "one\ntwo\n":
                got += (await other.until("process.output"))["params"]["data"]
            await anyio.sleep(0.3)  # a lease renewal records the progress
            a.kill()
            killed = time.monotonic()
            answers: list[dict[str, Any]] = []

            async def cancel() -> None:
                answers.append(await canceller.call("cancel", {"execution_id": eid}))

            async with anyio.create_task_group() as group:
                group.start_soon(cancel)
                completed = (await other.until("process.completed", timeout=4 * LEASE))["params"]
                lost_after = time.monotonic() - killed
            # Within the lease (and some slack for a loaded machine), never a success.
            assert lost_after < LEASE + 1.0, lost_after
            assert (completed["status"], completed["reason"]) == ("failed", "node_lost")
            assert completed["exit_code"] is None
            assert completed["node"] == "a"
            assert completed["finalised_by"] == "b"
            assert completed["stdout"]["bytes"] == 8
            assert completed["unflushed"] == {"stdout": 0, "stderr": 0}
            status = (await other.call("status", {"execution_id": eid}))["result"]
            assert status["state"] == "ended"
            assert status["result"]["reason"] == "node_lost"
            # Sent to a dead node: it waited for it in vain, or found it down. Never a no-op.
            error = answers[0]["error"]
            assert error["code"] == -32011, error
            assert error["data"]["reason"] in ("node_down", "timeout")
            assert error["data"]["node"] == "a"
            down = await canceller.call("cancel", {"execution_id": eid})
            assert down["error"]["code"] == -32007  # ended, as node_lost
            # Nothing hangs: a late subscriber and a download get the end at once.
            late = await canceller.call("subscribe", {"execution_id": eid})
            assert late["result"]["state"] == "ended"
            again = (await canceller.until("process.completed", timeout=5))["params"]
            assert again["reason"] == "node_lost"
            status_code, _, body = get(b.port, f"/executions/{eid}/stdout")
            assert (status_code, body) == (200, b"one\ntwo\n")
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
        deadline = time.monotonic() + 5
        while True:  # ready again once its heartbeat reached the restarted Redis
            status, ready = get_json(a.port, "/readyz")
            if status == 200:
                break
            assert time.monotonic() < deadline, ready
            assert "is unreachable" in ready["reasons"][0]
            await _sleep(0.05)
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


async def test_a_trio_node_and_an_asyncio_node_serve_each_others_executions(
    pair: list[Node], redis_server: RedisServer, tmp_path: Path
) -> None:
    a, _ = pair
    port = free_port()
    config = {"redis": redis_server.url, "node_id": "t", "lease": LEASE}
    log = tmp_path / "node-t.log"
    with log.open("wb") as sink:
        trio_node = subprocess.Popen(  # noqa: ASYNC220 - started once, before any I/O
            [
                sys.executable,
                str(HERE / "_server.py"),
                "hypercorn-trio",
                str(port),
                json.dumps(config),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, trio_node, log)
        url = f"ws://127.0.0.1:{port}/ws"
        async with raw(url) as on_trio, raw(a.url) as on_asyncio:
            await on_trio.recv()
            await on_asyncio.recv()
            # Started on trio, fed and read on asyncio.
            cat = await on_trio.call("execute", {"argv": ["cat"], "stdin": True, "detach": True})
            eid = cat["result"]["execution_id"]
            await on_asyncio.call("subscribe", {"execution_id": eid})
            fed = await on_asyncio.call("stdin", {"execution_id": eid, "data": "hi\n", "eof": True})
            assert fed["result"]["bytes"] == 3
            assert (await on_asyncio.until("process.output"))["params"]["data"] == "hi\n"
            done = (await on_asyncio.until("process.completed"))["params"]
            assert (done["status"], done["exit_code"]) == ("completed", 0)
            # Started on asyncio, cancelled and read on trio.
            sleeper = await on_asyncio.call("execute", {"command": "echo up; sleep 30"})
            other = sleeper["result"]["execution_id"]
            await on_trio.call("subscribe", {"execution_id": other})
            assert (await on_trio.until("process.output"))["params"]["data"] == "up\n"
            canceled = await on_trio.call("cancel", {"execution_id": other})
            assert canceled["result"]["status"] == "canceled"
            # Its reader here hears it (told before the cancel acts: maybe before the answer).
            heard = [m for m in on_trio.seen if m.get("method") == "process.canceled"]
            if not heard:
                heard = [await on_trio.until("process.canceled")]
            assert heard[0]["params"]["execution_id"] == other
            end = (await on_trio.until("process.completed"))["params"]
            assert (end["status"], end["reason"]) == ("canceled", "cancelled")
    finally:
        trio_node.send_signal(signal.SIGINT)
        try:
            trio_node.wait(15)
        except subprocess.TimeoutExpired:
            trio_node.kill()
            trio_node.wait()
