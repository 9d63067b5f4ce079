"""The server's spool budget, end to end: ``ccstream-ws serve --max-executions 2 --spool-quota Q
--spool-budget 2Q`` with runs that each write most of their quota, kept ended ones, detached
ones and a stalled reader, while a thread measures the spool directory on disk."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from ._raw import Raw, raw
from .conftest import free_port

pytestmark = pytest.mark.anyio
PY = sys.executable
MiB = 1024 * 1024


def _send_buffer_max() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, ValueError, IndexError):
        return 4 * MiB


# A reader that stops reading must stall the server's reader before the end of a spool: so a
# spool must be larger than what the server's socket can hold unsent (4 MiB on Linux).
QUOTA = max(MiB, 1 << (2 * _send_buffer_max() - 1).bit_length())
BUDGET = 2 * QUOTA
WRITES = QUOTA * 4 // 5 // 65536 * 65536  # each run writes most of its quota
WRITER = f"import sys\nfor _ in range({WRITES // 65536}): sys.stdout.buffer.write(b'x' * 65536)\n"
SLEEPER = "import sys, time\nprint('up', flush=True)\ntime.sleep(60)\n"


def on_disk(root: Path) -> int:
    """Bytes the tree takes on disk: allocated blocks of every file and directory, root too."""
    total = os.lstat(root).st_blocks * 512
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            with contextlib.suppress(FileNotFoundError):  # deleted during the walk
                total += os.lstat(os.path.join(directory, name)).st_blocks * 512
    return total


class DiskSampler:
    """Measures ``root`` every few milliseconds in a thread; ``peak`` is the most it saw."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, on_disk(self.root))
            self.samples += 1
            self._stop.wait(0.005)

    def __enter__(self) -> DiskSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


@dataclass
class CliServer:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def get(self, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    def evictions(self) -> list[tuple[str, int]]:
        text = self.log.read_text()
        return [(m[1], int(m[2])) for m in re.finditer(r"evicted execution (\w+): (\d+)", text)]


@contextlib.contextmanager
def serve(tmp_path: Path, quota: int, budget: int) -> Iterator[CliServer]:
    """``ccstream-ws serve --max-executions 2`` with ``quota`` and ``budget``, its spools in
    ``tmp_path/spools``, its log in ``tmp_path/server.log``; stopped by its pid."""
    spools = tmp_path / "spools"
    spools.mkdir()
    log = tmp_path / "server.log"
    port = free_port()
    argv = [PY, "-m", "ccstream_ws.cli", "serve", "--port", str(port), "--max-executions", "2"]
    argv += ["--spool-quota", str(quota), "--spool-budget", str(budget), "--spool-dir", str(spools)]
    with log.open("wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.05)
        yield CliServer(port, proc, log)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def budget_server(tmp_path: Path) -> Iterator[CliServer]:
    with serve(tmp_path, QUOTA, BUDGET) as server:
        yield server


async def _run(c: Raw, argv: list[str], **params: Any) -> str:
    """Start ``argv`` on ``c``, read it to its completion; return its execution id."""
    answer = await c.call("execute", {"argv": argv, **params})
    assert "result" in answer, answer
    eid: str = answer["result"]["execution_id"]
    while True:
        message = await c.recv()
        p = message.get("params") or {}
        if message.get("method") == "process.completed" and p.get("execution_id") == eid:
            assert p["status"] == "completed", p
            return eid


async def _read_to_completion(c: Raw) -> tuple[int, list[dict[str, Any]]]:
    """Read ``c`` until ``process.completed``: the binary output bytes, and the notifications."""
    received = 0
    notices: list[dict[str, Any]] = []
    with anyio.fail_after(10):
        while True:
            message = await c.ws.recv()
            if isinstance(message, bytes):
                received += len(message)
                continue
            parsed = json.loads(message)
            if "method" in parsed:
                notices.append(parsed)
                if parsed["method"] == "process.completed":
                    return received, notices


async def _logged(server: CliServer, text: str) -> None:
    """Wait (up to 10 s) until the server's log holds ``text``."""
    with anyio.fail_after(10):
        while text not in server.log.read_text():  # noqa: ASYNC110 - another process's file
            await anyio.sleep(0.05)


def _stalled_socket(port: int) -> socket.socket:
    """A connected socket whose receive buffer is tiny, so an unread stream stalls soon."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    return sock


async def test_spool_budget_bounds_the_disk_and_evicts_oldest_ended_first(
    budget_server: CliServer, tmp_path: Path
) -> None:
    server = budget_server
    spools = tmp_path / "spools"
    writer = [PY, "-c", WRITER]
    with DiskSampler(spools) as disk:
        async with raw(server.url) as a:
            await a.recv()
            # Two ended runs kept by this open connection, then a detached one whose connection
            # closes (kept for the retention): the third evicts the first.
            e1 = await _run(a, writer)
            e2 = await _run(a, writer)
            async with raw(server.url) as b:
                await b.recv()
                e3 = await _run(b, writer, detach=True)
            assert [k for k, _ in server.evictions()] == [e1]

            # A reader of e2 that stops reading: the budget evicts e2 under it all the same.
            sock = _stalled_socket(server.port)
            async with raw(server.url, sock=sock, max_queue=1) as c:
                await c.recv()
                answer = await c.call(
                    "subscribe",
                    {"execution_id": e2, "output_options": {"encoding": "binary"}},
                )
                assert answer["result"]["status"] == "subscribed"
                e4 = await _run(a, writer)
                assert [k for k, _ in server.evictions()] == [e1, e2], server.log.read_text()
                # Reading again: what was on its way, then why the rest is not coming.
                received, notices = await _read_to_completion(c)
                assert received < WRITES  # it was cut off, not done before the eviction
                methods = [m["method"] for m in notices]
                assert methods[-2:] == ["process.expired", "process.completed"], methods
                expired, completed = notices[-2]["params"], notices[-1]["params"]
                assert (expired["execution_id"], expired["reason"]) == (e2, "spool_budget")
                assert "evicted" in completed["output_error"]

            # A long run evicts e3 (ended before e4); a second one at once would need more than
            # the budget even with e4 gone: refused, and e4 is not evicted for nothing.
            answer = await a.call("execute", {"argv": [PY, "-c", SLEEPER]})
            long_id = answer["result"]["execution_id"]
            await a.until("process.output")
            assert [k for k, _ in server.evictions()] == [e1, e2, e3]
            refused = await a.call("execute", {"argv": writer})
            assert refused["error"]["code"] == -32003
            assert refused["error"]["data"]["limit"] == "spool_budget"
            assert refused["error"]["data"]["budget"] == BUDGET
            assert len(server.evictions()) == 3
            status = await a.call("status", {"execution_id": e4})
            assert status["result"]["state"] == "ended"

            # Whoever asks for an evicted execution is told why, by every door.
            for method in ("status", "page", "subscribe"):
                answer = await a.call(method, {"execution_id": e1})
                error = answer["error"]
                assert error["code"] == -32008, (method, error)
                assert error["data"]["reason"] == "spool_budget"
                assert error["data"]["result"]["status"] == "completed"
            code, body = server.get(f"/executions/{e1}/stdout")
            assert (code, body["reason"]) == (410, "spool_budget")
            code, health = server.get("/healthz")
            spool = health["spool"]
            assert spool["budget"] == BUDGET
            assert spool["evicted"] == 3
            assert 0 < spool["used"] <= BUDGET
            await a.call("cancel", {"execution_id": long_id})
    # Each eviction freed what an ended run of WRITES bytes takes, and the disk never held more
    # than the budget, measured by block, all along.
    for _, freed in server.evictions():
        assert WRITES < freed < WRITES + 64 * 1024
    assert disk.samples > 20
    assert WRITES < disk.peak <= BUDGET, disk.peak


async def test_spools_measured_over_the_budget_evict_the_oldest_ended(tmp_path: Path) -> None:
    with serve(tmp_path, MiB, 2 * MiB) as server:
        async with raw(server.url) as a:
            await a.recv()
            ended = await _run(a, [PY, "-c", WRITER.replace(str(WRITES // 65536), "12")])
            answer = await a.call("execute", {"argv": [PY, "-c", SLEEPER]})
            running = answer["result"]["execution_id"]
            await a.until("process.output")
            assert server.evictions() == []
            # The running spool grows past its reservation by what its quota does not count
            # (an order log of millions of tiny frames; here a file put there): the watch
            # measures it and evicts the ended execution to stay within the budget.
            (tmp_path / "spools" / running / "grown").write_bytes(b"\0" * (MiB + MiB // 4))
            await _logged(server, "evicted execution")
            assert [k for k, _ in server.evictions()] == [ended]
            assert "as the spools measured over the budget" in server.log.read_text()
            with anyio.fail_after(10):  # logged as it starts, deleted just after
                while (tmp_path / "spools" / ended).exists():  # noqa: ASYNC110 - a directory
                    await anyio.sleep(0.01)
            answer = await a.call("status", {"execution_id": ended})
            assert answer["error"]["data"]["reason"] == "spool_budget"
            # Over the budget with nothing left to evict: said once in the log.
            (tmp_path / "spools" / running / "grown2").write_bytes(b"\0" * MiB)
            await _logged(server, "nothing left to evict")
            await a.call("cancel", {"execution_id": running})
