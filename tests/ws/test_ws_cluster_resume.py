"""Two nodes on one Redis: output written on one node is read on the other, byte-exact — a
client that dropped its connection resumes there from its offsets, pages and byte ranges come
from there, and a subscriber there hears a killed owner's end as ``node_lost``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import anyio
import pytest

from .._redis import RedisServer
from ._http import get
from ._nodes import LEASE, nodes
from ._raw import Raw, raw

pytestmark = [pytest.mark.anyio, pytest.mark.asyncio_only]

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
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with nodes(redis_server.url, tmp_path, "a", "b") as (a, b):
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

        status, headers, body = get(
            b.port, f"/executions/{eid}/stdout", {"Range": "bytes=50000-50999"}
        )
        assert status == 206, body
        assert headers["content-range"] == f"bytes 50000-50999/{len(EXPECTED)}"
        assert body == EXPECTED.encode()[50000:51000]
        status, _, body = get(a.port, f"/executions/{eid}/merged")
        assert status == 200
        assert body.count(b"\n") == LINES + 1


async def test_a_subscriber_on_the_other_node_hears_a_killed_owner_as_node_lost(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with nodes(redis_server.url, tmp_path, "a", "b") as (a, b):
        async with raw(a.url) as owner, raw(b.url) as other:
            await owner.recv()
            await other.recv()
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
            completed = (await other.until("process.completed", timeout=4 * LEASE))["params"]
            assert time.monotonic() - killed < LEASE + 0.5
            assert (completed["status"], completed["reason"]) == ("failed", "node_lost")
            assert completed["exit_code"] is None
            assert completed["node"] == "a"
            assert completed["unflushed"] == {"stdout": 0, "stderr": 0}
            assert completed["stdout"]["bytes"] == 8
            # Nothing hangs: a late subscriber and a download get the end at once.
            late = await other.call("subscribe", {"execution_id": eid})
            assert late["result"]["state"] == "ended"
            again = (await other.until("process.completed", timeout=5))["params"]
            assert again["reason"] == "node_lost"
            status, _, body = get(b.port, f"/executions/{eid}/stdout")
            assert (status, body) == (200, b"one\ntwo\n")
