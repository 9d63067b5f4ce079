"""``execute``'s ``on_quota`` over a real server: a client that reads slowly loses nothing to
the quota unless it asked for ``drop``; a run nobody reads drops under ``auto``.

The server has a 1 MiB quota (16 segments of 64 KiB); the child writes 24 MiB, numbered
64 KiB blocks, and records how far it got in a file. The client stops reading for a while
right after the start: the socket's buffers fill and the server's reader falls behind the child.
"""

from __future__ import annotations

import base64
import hashlib
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from ccstream._pipes import PIPE_SIZE

from ._raw import Raw, raw
from .conftest import Server, ServerPool

pytestmark = pytest.mark.anyio
PY = sys.executable
MiB = 1024 * 1024
QUOTA = MiB
BLOCK = 64 * 1024
BLOCKS = 384  # 24 MiB: well past the quota and what the socket buffers hold
CHILD = """
import os, sys
count, progress = int(sys.argv[1]), sys.argv[2]
fd = os.open(progress, os.O_WRONLY | os.O_CREAT, 0o600)
out = sys.stdout.buffer
for i in range(count):
    out.write(b"%08d" % i * 8192)
    out.flush()
    os.pwrite(fd, b"%16d" % ((i + 1) * 65536), 0)
"""
EXPECTED = hashlib.sha256(b"".join(b"%08d" % i * 8192 for i in range(BLOCKS))).hexdigest()


@pytest.fixture
def quota_server(servers: ServerPool, kind: str) -> Server:
    return servers.get(kind, {"spool_quota": QUOTA})


def _progress(path: Path) -> int:
    text = path.read_bytes().strip() if path.exists() else b""
    return int(text) if text else 0


class Received:
    """Every stdout byte and gap one connection was sent, checked as they come."""

    def __init__(self, offset: int = 0) -> None:
        self.pos = offset
        self.bytes = 0
        self.gap_bytes = 0
        self.gaps = 0
        self.digest = hashlib.sha256()
        self.completed: dict[str, Any] | None = None

    async def read_all(self, c: Raw, execution_id: str) -> None:
        while self.completed is None:
            message = await c.recv(timeout=30)
            params = message.get("params", {})
            if params.get("execution_id") != execution_id:
                continue
            method = message.get("method")
            if method == "process.output" and params["type"] == "stdout":
                data = base64.b64decode(params["data"])
                assert params["offset"] == self.pos
                self.digest.update(data)
                self.bytes += len(data)
                self.pos += len(data)
            elif method == "process.gap" and params["type"] == "stdout":
                assert params["offset"] <= self.pos
                self.gap_bytes += params["offset"] + params["bytes"] - self.pos
                self.gaps += 1
                self.pos = params["offset"] + params["bytes"]
            elif method == "process.completed":
                self.completed = params


async def _start(c: Raw, tmp_path: Path, **params: Any) -> str:
    await c.recv()  # the greeting
    answer = await c.call(
        "execute",
        {
            "argv": [PY, "-c", CHILD, str(BLOCKS), str(tmp_path / "progress")],
            "output_options": {"encoding": "base64", "chunk_size": BLOCK},
            **params,
        },
    )
    return str(answer["result"]["execution_id"])


def _subscribe(execution_id: str) -> dict[str, Any]:
    return {
        "execution_id": execution_id,
        "offsets": {"stdout": 0},
        "output_options": {"encoding": "base64", "chunk_size": BLOCK},
    }


async def _stdout_bytes(server: Server, execution_id: str) -> tuple[int, str]:
    async with raw(server.url) as watcher:
        await watcher.recv()
        answer = await watcher.call("status", {"execution_id": execution_id})
        return int(answer["result"]["stdout"]["bytes"]), str(answer["result"]["state"])


async def _held(server: Server, execution_id: str, progress: Path) -> int:
    """Assert that the child makes no progress for 0.3 s; return the bytes the server read."""
    read_then, state = await _stdout_bytes(server, execution_id)
    wrote_then = _progress(progress)
    await anyio.sleep(0.3)
    read_now, _ = await _stdout_bytes(server, execution_id)
    assert state == "running"
    assert read_now == read_then < BLOCKS * BLOCK
    assert _progress(progress) == wrote_then <= read_then + PIPE_SIZE + BLOCK
    return read_then


@pytest.mark.parametrize("on_quota", ["auto", "pause"])
async def test_a_slow_reader_gets_every_byte_while_the_child_waits(
    quota_server: Server, tmp_path: Path, on_quota: str
) -> None:
    params = {} if on_quota == "auto" else {"on_quota": on_quota}
    with anyio.fail_after(60):
        async with raw(quota_server.url, max_queue=2) as c:
            eid = await _start(c, tmp_path, **params)
            await anyio.sleep(0.7)  # not reading: the socket fills, the quota is reached
            await _held(quota_server, eid, tmp_path / "progress")
            got = Received()
            await got.read_all(c, eid)
    assert got.gaps == 0
    assert got.bytes == BLOCKS * BLOCK
    assert got.digest.hexdigest() == EXPECTED
    assert got.completed is not None
    assert got.completed["status"] == "completed"


async def test_drop_gives_counted_gaps_that_add_up_to_the_output(
    quota_server: Server, tmp_path: Path
) -> None:
    with anyio.fail_after(60):
        async with raw(quota_server.url, max_queue=2) as c:
            eid = await _start(c, tmp_path, on_quota="drop")
            await anyio.sleep(0.7)  # the child runs on past the quota
            got = Received()
            await got.read_all(c, eid)
    assert got.gaps >= 1
    assert got.gap_bytes > 0
    assert got.bytes + got.gap_bytes == BLOCKS * BLOCK
    assert got.completed is not None
    assert got.completed["stdout"]["bytes"] == BLOCKS * BLOCK


async def test_auto_drops_for_a_detached_run_nobody_reads(
    quota_server: Server, tmp_path: Path
) -> None:
    async with raw(quota_server.url) as c:
        eid = await _start(c, tmp_path, detach=True)
    # The owner left: nobody reads, so the run is not held and ends by itself.
    deadline = time.monotonic() + 20
    while (state := await _stdout_bytes(quota_server, eid))[1] != "ended":
        assert time.monotonic() < deadline, f"still {state}"
        await anyio.sleep(0.05)
    async with raw(quota_server.url) as c:
        await c.recv()
        await c.call("subscribe", _subscribe(eid))
        got = Received()
        await got.read_all(c, eid)
    assert got.gap_bytes > 0
    assert got.bytes + got.gap_bytes == BLOCKS * BLOCK


async def test_pause_holds_a_detached_run_until_a_reader_comes_back(
    quota_server: Server, tmp_path: Path
) -> None:
    async with raw(quota_server.url) as c:
        eid = await _start(c, tmp_path, detach=True, on_quota="pause")
    await anyio.sleep(0.3)
    await _held(quota_server, eid, tmp_path / "progress")
    with anyio.fail_after(60):
        async with raw(quota_server.url) as c:
            await c.recv()
            await c.call("subscribe", _subscribe(eid))
            got = Received()
            await got.read_all(c, eid)
    # What was in flight to the owner when it left may be gone; nothing after it is.
    assert got.bytes + got.gap_bytes == BLOCKS * BLOCK
    assert got.gap_bytes <= 16 * MiB
    assert got.bytes > (BLOCKS * BLOCK) // 3
    assert got.completed is not None
    assert got.completed["status"] == "completed"


async def test_on_quota_is_validated(server: Server) -> None:
    async with raw(server.url) as c:
        hello = await c.recv()
        assert "on_quota" in hello["params"]["capabilities"]
        for bad in ("later", 1, None, ["pause"]):
            answer = await c.call("execute", {"argv": ["true"], "on_quota": bad})
            assert answer["error"]["code"] == -32602, answer
            assert "on_quota" in answer["error"]["message"]


def test_parse_execute_reads_on_quota() -> None:
    from ccstream_ws.protocol._params import parse_execute

    assert parse_execute({"argv": ["x"]}, MiB).on_quota == "auto"
    for choice in ("auto", "pause", "drop"):
        assert parse_execute({"argv": ["x"], "on_quota": choice}, MiB).on_quota == choice
