"""``ccstream-ws exec`` as a user runs it, and the Python client's account of lost output: real
servers on loopback, the command line as a real subprocess."""

from __future__ import annotations

import json
import os
import re
import resource
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from ccstream_ws import Client, Loss, Notice, RemoteExecution, RemoteOutput
from tests._helpers import gone

from .conftest import HERE, Server, ServerPool, free_port

pytestmark = pytest.mark.anyio
PY = sys.executable
MiB = 1024 * 1024
EXEC = [PY, "-m", "ccstream_ws.cli", "exec"]
TRAPS_SIGTERM = 'trap "exit 0" TERM; echo started; sleep 30 & wait'
"""A child that exits 0 when it gets SIGTERM (``wait`` lets the trap run at once)."""

LINES = 5_000_000  # lines of 10 bytes: 50 MB, fifty times the 1 MiB quota


def _flood(marker: Path) -> str:
    """A child that prints LINES numbered lines at once, then creates ``marker``."""
    return (
        "import sys, pathlib\n"
        "out = sys.stdout.buffer\n"
        f"for start in range(0, {LINES}, 100_000):\n"
        "    out.write(b''.join(b'%09d\\n' % i for i in range(start, start + 100_000)))\n"
        "out.flush()\n"
        f"pathlib.Path({str(marker)!r}).touch()\n"
    )


def _expected() -> bytes:
    return b"".join(b"%09d\n" % i for i in range(LINES))


def _wait_for(marker: Path, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not marker.exists():
        assert time.monotonic() < deadline, "the child did not finish its output"
        time.sleep(0.02)


ID_LINE = re.compile(rb"\Accstream-ws: execution [0-9a-f]{32}\n")
"""The line exec prints first on stderr: the execution id."""


def after_id(stderr: bytes) -> bytes:
    """``stderr`` after exec's first line, the execution id (which must be there)."""
    match = ID_LINE.match(stderr)
    assert match is not None, stderr
    return stderr[match.end() :]


def run_exec(
    url: str, options: list[str], argv: list[str], timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*EXEC, *options, url, "--", *argv], capture_output=True, timeout=timeout)


@pytest.fixture
def quota_server(servers: ServerPool, kind: str) -> Server:
    """A server that keeps at most 1 MiB of each execution's output."""
    return servers.get(kind, {"spool_quota": MiB})


def test_the_remote_exit_code_passes_through_without_comment(server: Server) -> None:
    done = run_exec(server.url, [], ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert done.returncode == 3
    assert done.stdout == b"out\n"
    assert after_id(done.stderr) == b"err\n"


def test_timeout_of_a_child_that_traps_sigterm_and_exits_0_exits_124(server: Server) -> None:
    done = run_exec(server.url, ["--timeout", "1"], ["sh", "-c", TRAPS_SIGTERM])
    assert done.returncode == 124
    assert done.stdout == b"started\n"
    assert after_id(done.stderr) == (
        b"ccstream-ws: timed out after 1 s (the child exited 0 after SIGTERM)\n"
    )


def test_idle_timeout_of_a_child_that_traps_sigterm_exits_124(server: Server) -> None:
    # Options after URL work too: the command is what follows "--".
    done = subprocess.run(
        [*EXEC, server.url, "--idle-timeout", "0.5", "--", "sh", "-c", TRAPS_SIGTERM],
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 124
    assert after_id(done.stderr) == (
        b"ccstream-ws: idle timeout: no output for 0.5 s (the child exited 0 after SIGTERM)\n"
    )


def test_a_connection_failure_exits_255_with_a_message() -> None:
    done = run_exec(f"ws://127.0.0.1:{free_port()}/ws", [], ["true"])
    assert done.returncode == 255
    assert done.stderr.startswith(b"ccstream-ws: ")
    assert b"cannot connect" in done.stderr


def test_a_closed_stdout_cancels_the_run_and_exits_141_quietly(server: Server) -> None:
    done = subprocess.run(
        f"{shlex.join(EXEC)} -q {server.url} -- yes | head -c 10; exit ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        timeout=60,
    )
    assert done.stdout == b"y\ny\ny\ny\ny\n"
    assert done.returncode == 128 + signal.SIGPIPE
    assert done.stderr == b""  # no traceback, no message: | head is no error


def test_a_closed_stdout_cancels_the_remote_run(server: Server) -> None:
    # The child prints its pid, then floods: once head has its line, exec's stdout is closed.
    flood = "import os, sys\nprint(os.getpid(), flush=True)\nwhile True: print('y' * 99)\n"
    done = subprocess.run(
        f"{shlex.join(EXEC)} -q {server.url} -- {shlex.join([PY, '-c', flood])} | head -n 1",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        timeout=60,
    )
    assert done.stderr == b""
    assert gone(int(done.stdout), within=10)


def test_sigint_cancels_the_run_and_exits_130(server: Server) -> None:
    proc = subprocess.Popen(
        [*EXEC, server.url, "--", "sh", "-c", "echo $$; sleep 30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        child = int(proc.stdout.readline())
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert after_id(err) == b"ccstream-ws: interrupted; the remote run is cancelled\n"
    assert gone(child, within=10)


def test_help_documents_the_exit_statuses_and_on_quota() -> None:
    done = subprocess.run([*EXEC, "--help"], capture_output=True, timeout=30, check=True)
    text = done.stdout.decode()
    for status in ("124", "126", "127", "141", "251", "252", "253", "254", "255", "128+N"):
        assert f"  {status} " in text
    assert "--on-quota {pause,drop,auto}" in text


def test_exec_tells_every_gap_and_exits_251(quota_server: Server, tmp_path: Path) -> None:
    # stdout is a pipe nobody reads until the child is done: exec falls fifty quotas behind,
    # the server drops the middle, and exec must say how much on stderr and not exit 0.
    marker = tmp_path / "done"
    proc = subprocess.Popen(
        [*EXEC, "--on-quota", "drop", quota_server.url, "--", PY, "-c", _flood(marker)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(marker)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    full = _expected()
    lines = after_id(err).decode().splitlines()
    lost = [
        re.fullmatch(
            r"ccstream-ws: stdout: (\d+) bytes \((\d+) lines\) lost( in \d+ gaps)?: "
            r"dropped by the spool's disk quota before they were read",
            line,
        )
        for line in lines
    ]
    matches = [m for m in lost if m is not None]
    assert len(matches) == 1, err
    lost_bytes, lost_lines = int(matches[0][1]), int(matches[0][2])
    assert lost_bytes > 0
    assert len(out) + lost_bytes == len(full)
    assert out.count(b"\n") + lost_lines == LINES
    assert out.startswith(full[: 64 * 1024])
    assert out.endswith(full[-64 * 1024 :])
    assert proc.returncode == 251
    assert lines[-1] == "ccstream-ws: the command exited 0 but output was lost: exit status 251"


async def test_the_clients_completion_carries_every_gap(
    quota_server: Server, tmp_path: Path
) -> None:
    marker = tmp_path / "done"
    async with Client(quota_server.url, compression=None, queue_size=4) as client:
        execution = await client.execute(
            [PY, "-c", _flood(marker)], output_options={"encoding": "binary"}, on_quota="drop"
        )
        # Not reading: the client's queue fills, the socket stops being read, the server falls
        # behind the child by far more than the quota.
        await anyio.to_thread.run_sync(_wait_for, marker)
        data = bytearray()
        skipped = 0
        async for event in execution:
            if isinstance(event, RemoteOutput) and event.stream == "stdout":
                assert event.offset == len(data) + skipped
                data += event.data
            elif isinstance(event, Notice) and event.method == "process.gap":
                skipped += event.params["bytes"]
    completion = execution.completion
    assert completion is not None
    assert completion.status == "completed"
    assert completion.gaps, "the server dropped nothing: the test did not fall behind"
    full = _expected()
    kept = bytearray()
    position = 0
    for gap in completion.gaps:
        assert gap.stream == "stdout"
        assert gap.reason == "quota"
        kept += full[position : gap.offset]
        position = gap.offset + gap.bytes
    kept += full[position:]
    assert bytes(data) == bytes(kept)
    assert completion.losses == (
        Loss(
            "stdout",
            "quota",
            sum(g.bytes for g in completion.gaps),
            sum(g.lines for g in completion.gaps),
            len(completion.gaps),
        ),
    )
    assert len(data) + completion.lost_bytes == len(full)
    assert completion.output_error is None


async def test_a_whole_output_has_no_losses(server: Server) -> None:
    async with Client(server.url, compression=None) as client:
        execution = await client.execute(
            ["sh", "-c", "seq 1 100000; echo err >&2"], output_options={"encoding": "binary"}
        )
        out, err, completion = await execution.collect()
    assert err == b"err\n"
    assert out.count(b"\n") == 100_000
    assert completion.losses == ()
    assert completion.gaps == ()
    assert completion.lost_bytes == 0


@pytest.fixture
def small_disk_server(tmp_path: Path) -> Iterator[Server]:
    """A uvicorn server that may write no file past 1 MiB (RLIMIT_FSIZE): its spool disk is full
    after 1 MiB, as a real full disk fails writes (Python ignores SIGXFSZ, so writes get EFBIG).
    """
    port = free_port()
    config = {"spool_directory": str(tmp_path / "spools")}
    log = (tmp_path / "server.log").open("wb")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (MiB, MiB))

    proc = subprocess.Popen(
        [PY, str(HERE / "_server.py"), "uvicorn", str(port), json.dumps(config)],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=limit,  # a test server, started from the test's own thread
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            assert proc.poll() is None, "the server exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.05)
        yield Server("uvicorn", port, proc)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_a_full_spool_disk_is_told_and_exits_252(small_disk_server: Server, tmp_path: Path) -> None:
    done = run_exec(small_disk_server.url, [], [PY, "-c", _flood(tmp_path / "done")])
    assert done.returncode == 252, done.stderr
    err = done.stderr.decode()
    lost = re.search(
        r"^ccstream-ws: stdout: (\d+) bytes \((\d+) lines\) lost: they never reached the spool",
        err,
        re.MULTILINE,
    )
    assert lost is not None, err
    assert int(lost[1]) > 0
    assert len(done.stdout) + int(lost[1]) <= LINES * 10
    assert done.stdout == _expected()[: len(done.stdout)]
    assert re.search(
        r"^ccstream-ws: the run was stopped: its spool could not be written: .*File too large",
        err,
        re.MULTILINE,
    ), err


async def test_bytes_the_server_counted_but_never_sent_are_a_loss() -> None:
    # Scripted events (a server whose spool read failed is hard to make): what the completion
    # counts beyond what arrived and was announced is a "not_sent" loss, with the server's word.
    execution = RemoteExecution(Client("ws://127.0.0.1:9/ws"), 16)
    execution._expect({"encoding": "binary"}, None)
    await execution._put(RemoteOutput("stdout", 0, b"a\nb\n"))
    await execution._put(
        Notice(
            "process.gap",
            {"type": "stdout", "offset": 4, "bytes": 4, "lines": 2, "reason": "quota"},
        )
    )
    await execution._put(RemoteOutput("stdout", 8, b"e\n"))
    await execution._put(RemoteOutput("stderr", 0, b"whole\n"))
    completion = execution._completion(
        {
            "status": "completed",
            "reason": "exited",
            "exit_code": 0,
            "stdout": {"bytes": 16, "lines": 8},
            "stderr": {"bytes": 6, "lines": 1},
            "output_error": "reading the spool failed: gone",
        }
    )
    assert completion.losses == (
        Loss("stdout", "quota", 4, 2, 1),
        Loss("stdout", "not_sent", 6, 3, 0, "reading the spool failed: gone"),
    )
    assert completion.lost_bytes == 10
    assert completion.output_error == "reading the spool failed: gone"
