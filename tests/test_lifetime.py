"""No process of a run outlives it when it is killed, nor its host however the host dies.

Real processes on asyncio and trio: descendants that left the process group (``setsid``, a
double fork) are stopped by timeouts, cancels and the linger kill; a host killed with SIGKILL
leaves nothing behind (its watchdog); a later host stops what a dead host and its dead watchdog
left. Every process a test starts is stopped by its id at the end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import anyio
import psutil
import pytest

import ccstream
from ccstream._watchdog import _start_ticks
from tests._helpers import (
    TREE,
    TREE_PROCESSES,
    collect,
    gone,
    kill_by_pid,
    left_after,
    wait_for_count,
)
from tests.conftest import PY

pytestmark = pytest.mark.anyio


def _pids(data: bytes | bytearray) -> list[int]:
    return [int(line) for line in data.split()]


def _kill_pids(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _tree(pid: int) -> set[int]:
    return {pid, *(p.pid for p in psutil.Process(pid).children(recursive=True))}


async def test_timeout_kills_a_setsid_grandchild_that_ignores_sigterm() -> None:
    # The grandchild says its pid once it has its own session and ignores SIGTERM.
    script = "setsid sh -c \"trap '' TERM; echo \\$\\$; exec sleep 60\" & sleep 60"
    data, _, result = await collect(
        ["sh", "-c", script], ccstream.Options(timeout=1.0, kill_grace=0.3)
    )
    (grandchild,) = _pids(data["stdout"])
    try:
        assert result.reason is ccstream.Reason.TIMEOUT
        assert gone(grandchild, within=1.0)
        assert result.escaped_killed == 1
    finally:
        _kill_pids([grandchild])


async def test_cancel_kills_a_setsid_grandchild_and_a_double_forked_daemon() -> None:
    # Each pid is printed from inside the new session, so both have left the group by then.
    script = (
        "setsid sh -c 'echo $$; exec sleep 60' & sleep 0.1; "
        "setsid sh -c 'sleep 60 & echo $!'; sleep 60"
    )
    pids: list[int] = []
    with anyio.fail_after(10):
        async with ccstream.stream(["sh", "-c", script]) as run:
            async for event in run:
                if isinstance(event, ccstream.Output) and event.stream == "stdout":
                    pids += _pids(event.data)
                    if len(pids) == 2:
                        break
            # Wait for the daemon to be re-parented: then only its marker ties it to the run.
            for _ in range(250):
                if psutil.Process(pids[1]).ppid() not in _tree(run.pid):
                    break
                await anyio.sleep(0.02)
    try:
        setsid_child, daemon = pids
        assert run.result.reason is ccstream.Reason.CANCELLED, run.result
        assert gone(setsid_child, within=1.0)
        assert gone(daemon, within=1.0)
        assert run.result.escaped_killed == 2, run.result
    finally:
        _kill_pids(pids)


async def test_run_cancel_reaches_escapees_too() -> None:
    script = "setsid sh -c 'sleep 60 & echo $!'; sleep 60"
    pids: list[int] = []
    with anyio.fail_after(10):
        async with ccstream.stream(["sh", "-c", script]) as run:
            async for event in run:
                if isinstance(event, ccstream.Output) and event.stream == "stdout":
                    pids += _pids(event.data)
                    run.cancel()
    try:
        assert run.result.reason is ccstream.Reason.CANCELLED
        assert gone(pids[0], within=1.0)
    finally:
        _kill_pids(pids)


async def test_escapee_gets_sigterm_then_sigkill_after_the_grace(tmp_path: Path) -> None:
    log = tmp_path / "signals"
    script = (
        f"setsid sh -c \"trap 'echo term >> {log}' TERM; echo \\$\\$; "
        'while :; do sleep 0.05; done" & sleep 60'
    )
    escapee = 0
    with anyio.fail_after(10):
        async with ccstream.stream(["sh", "-c", script], ccstream.Options(kill_grace=0.6)) as run:
            async for event in run:
                if isinstance(event, ccstream.Output) and event.stream == "stdout":
                    (escapee,) = _pids(event.data)
                    start = time.monotonic()
                    run.cancel()
    result = run.result
    try:
        assert gone(escapee, within=0.5)
        # It was asked first, and killed only once the grace ran out.
        assert log.read_text().startswith("term")
        assert time.monotonic() - start >= 0.6
        # Before the linger kill of what holds the pipes, which would come a second later.
        assert not result.lingering_killed
        assert result.escaped_killed >= 1
    finally:
        _kill_pids([escapee])


async def test_escapee_that_exits_on_sigterm_does_not_wait_for_the_grace() -> None:
    script = "setsid sleep 60 & echo $!; sleep 60"
    data, _, result = await collect(
        ["sh", "-c", script], ccstream.Options(timeout=0.3, kill_grace=10)
    )
    (escapee,) = _pids(data["stdout"])
    try:
        assert gone(escapee, within=0.5)
        assert result.duration < 5
        assert result.signal == signal.SIGTERM
    finally:
        _kill_pids([escapee])


async def test_setsid_grandchild_holding_the_pipes_is_killed_after_linger() -> None:
    start = time.monotonic()
    data, _, result = await collect(
        ["sh", "-c", "setsid sleep 60 & echo $!"], ccstream.Options(linger=0.3)
    )
    (grandchild,) = _pids(data["stdout"])
    try:
        assert time.monotonic() - start < 5
        assert result.reason is ccstream.Reason.EXITED
        assert result.exit_code == 0
        assert result.lingering_killed
        assert result.escaped_killed == 1
        assert gone(grandchild, within=1.0)
    finally:
        _kill_pids([grandchild])


async def test_a_run_cannot_set_its_own_marker_or_pose_as_a_watchdog() -> None:
    data, _, result = await collect(
        ["/usr/bin/env"],
        ccstream.Options(env={"CCSTREAM_RUN": "1.2.3.", "CCSTREAM_WATCHDOG": "1"}),
    )
    entries = data["stdout"].decode().split("\n")
    assert "CCSTREAM_RUN=1.2.3." not in entries
    assert not [e for e in entries if e.startswith("CCSTREAM_WATCHDOG=")]
    assert result.ok


def _host(token: str) -> subprocess.Popen[bytes]:
    """``ccstream run`` of :data:`TREE`, with ``token`` in the environment of all it runs."""
    return subprocess.Popen(
        [PY, "-m", "ccstream", "run", "--", "sh", "-c", TREE],
        env={**os.environ, "CCS_TEST_TOKEN": token},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_kill_9_of_a_ccstream_run_host_leaves_no_process_behind() -> None:
    token = uuid.uuid4().hex
    host = _host(token)
    try:
        # The host itself carries the token too.
        started = wait_for_count(token, TREE_PROCESSES + 1)
        assert len(started) >= TREE_PROCESSES + 1
        host.kill()
        host.wait()
        left = left_after(token, within=5.0)
        assert left == [], [p.cmdline() for p in left]
    finally:
        if host.poll() is None:
            host.kill()
            host.wait()
        kill_by_pid(left_after(token, 0))


def test_orphans_of_a_dead_host_are_stopped_and_those_of_live_hosts_kept() -> None:
    token = uuid.uuid4().hex
    dead_host = subprocess.Popen(["true"])
    dead_host.wait()
    live_host = subprocess.Popen(["sleep", "60"])
    procs: list[subprocess.Popen[bytes]] = []
    try:
        dead = f"{dead_host.pid}.{_start_ticks(os.getpid())}.1."
        live = f"{live_host.pid}.{_start_ticks(live_host.pid)}.1."
        for marker in (dead, live):
            procs.append(
                subprocess.Popen(
                    ["sleep", "60"],
                    env={**os.environ, "CCSTREAM_RUN": marker, "CCS_TEST_TOKEN": token},
                    start_new_session=True,
                )
            )
        wait_for_count(token, 2)
        stopped = ccstream.stop_orphaned_runs(grace=0.5)
        assert stopped >= 1
        assert gone(procs[0].pid, within=1.0)
        assert procs[1].poll() is None
    finally:
        for proc in [*procs, live_host]:
            proc.kill()
            proc.wait()


def _watchdogs() -> list[psutil.Process]:
    me = str(os.getpid())
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("CCSTREAM_WATCHDOG") == me and proc.status() != "zombie":
                found.append(proc)
        except psutil.Error:
            continue
    return found


async def test_a_killed_watchdog_is_started_again_at_the_next_run() -> None:
    await ccstream.run(["true"])
    (first,) = _watchdogs()
    # Its own session and no marker: the sweeps of this host's runs cannot reach it.
    assert first.environ().get("CCSTREAM_RUN") is None
    assert os.getsid(first.pid) == first.pid
    first.kill()
    assert gone(first.pid)
    await ccstream.run(["true"])
    (second,) = _watchdogs()
    assert second.pid != first.pid
    assert sys.executable in second.cmdline()[0] or second.cmdline()[0] == sys.executable
