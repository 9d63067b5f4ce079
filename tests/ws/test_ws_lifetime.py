"""kill -9 of a real server leaves no process of its runs; a restarted server stops what a server
that died with its watchdog left behind.

Each test starts its own server (``ccstream-ws serve``, or hypercorn on trio) and stops it, and
every process of its runs, by id. The runs' processes are found by a token in their environment.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import psutil
import pytest

from tests._helpers import TREE, TREE_PROCESSES, gone, kill_by_pid, left_after, wait_for_count

from ._raw import raw
from .conftest import HERE, Server, free_port

pytestmark = pytest.mark.anyio

RUNS = 3


@contextmanager
def _server(kind: str) -> Iterator[subprocess.Popen[bytes]]:
    port = free_port()
    if kind == "ccstream-ws serve":
        argv = [
            sys.executable,
            "-c",
            "import sys; from ccstream_ws.cli import main; sys.exit(main())",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
    else:
        argv = [sys.executable, str(HERE / "_server.py"), kind, str(port), "{}"]
    proc = subprocess.Popen(argv, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 15
        while True:
            assert proc.poll() is None, f"the server exited with {proc.returncode}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.05)
        proc.port = port  # type: ignore[attr-defined]
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


async def _start_runs(port: int, token: str) -> None:
    async with raw(f"ws://127.0.0.1:{port}/ws") as c:
        await c.recv()
        for _ in range(RUNS):
            answer = await c.call(
                "execute",
                # Detached, so that closing this connection does not end the runs.
                {"command": TREE, "env": {"CCS_TEST_TOKEN": token}, "detach": True},
            )
            assert answer["result"]["status"] == "started", answer


def _watchdog_of(pid: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("CCSTREAM_WATCHDOG") == str(pid):
                found.append(proc)
        except psutil.Error:
            continue
    return found


@pytest.mark.parametrize("kind", ["ccstream-ws serve", "hypercorn-trio"])
async def test_kill_9_of_the_server_leaves_no_process_of_its_runs(kind: str) -> None:
    token = uuid.uuid4().hex
    try:
        with _server(kind) as server:
            await _start_runs(server.port, token)  # type: ignore[attr-defined]
            started = wait_for_count(token, RUNS * TREE_PROCESSES)
            assert len(started) >= RUNS * TREE_PROCESSES
            server.send_signal(signal.SIGKILL)
            server.wait()
            left = left_after(token, within=5.0)
            assert left == [], [p.cmdline() for p in left]
    finally:
        kill_by_pid(left_after(token, 0))


async def test_a_restarted_server_stops_what_a_dead_server_and_its_watchdog_left() -> None:
    token = uuid.uuid4().hex
    try:
        with _server("ccstream-ws serve") as server:
            await _start_runs(server.port, token)  # type: ignore[attr-defined]
            started = wait_for_count(token, RUNS * TREE_PROCESSES)
            assert len(started) >= RUNS * TREE_PROCESSES
            (watchdog,) = _watchdog_of(server.pid)
            # Both at once, as an OOM kill or a container's kill might: nobody is left to clean.
            watchdog.kill()
            server.send_signal(signal.SIGKILL)
            server.wait()
        await anyio.sleep(1.5)
        orphans = left_after(token, 0)
        # Nothing stopped them (the processes in the runs' groups may have died with the
        # server's pipes: SIGPIPE); those that left the groups still run.
        assert len(orphans) >= 2 * RUNS, [p.cmdline() for p in orphans]
        with _server("ccstream-ws serve"):
            # The new server stops them at startup, before it takes work.
            left = left_after(token, within=5.0)
            assert left == [], [p.cmdline() for p in left]
    finally:
        kill_by_pid(left_after(token, 0))


@pytest.mark.parametrize("how", ["cancel", "timeout"])
async def test_cancel_and_timeout_kill_a_setsid_grandchild_and_say_so(
    server: Server, how: str
) -> None:
    # The grandchild says its pid once it has its own session and ignores SIGTERM.
    script = "setsid sh -c \"trap '' TERM; echo \\$\\$; exec sleep 60\" & sleep 60"
    grandchild = None
    try:
        async with raw(server.url) as c:
            await c.recv()
            await c.call(
                "execute", {"command": script, "timeout": 1.0 if how == "timeout" else None}
            )
            output = await c.until("process.output")
            grandchild = int(output["params"]["data"])
            if how == "cancel":
                await c.call("control", {"type": "CANCEL"})
            completed = await c.until("process.completed")
        params = completed["params"]
        assert params["status"] == ("canceled" if how == "cancel" else "timeout"), params
        assert params["escaped_killed"] == 1, params
        assert gone(grandchild, within=1.0)
    finally:
        if grandchild is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(grandchild, signal.SIGKILL)
