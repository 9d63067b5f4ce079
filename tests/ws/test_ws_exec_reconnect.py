"""``ccstream-ws exec`` across dropped connections, ``--detach`` and ``ccstream-ws logs``: real
servers on loopback, the command lines as real subprocesses, a relay the tests cut."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from ccstream_ws import Client, RemoteOutput, RPCError
from tests._helpers import gone

from ._relay import Relay
from .conftest import Server, ServerPool

pytestmark = pytest.mark.anyio
PY = sys.executable
CLI = [PY, "-m", "ccstream_ws.cli"]
ID_LINE = re.compile(rb"\Accstream-ws: execution ([0-9a-f]{32})\n")
CHUNKS, LINES = 20, 2000  # 20 chunks of 2,000 8-byte lines: 320 kB, 0.1 s apart

PACED = (
    "import sys, time\n"
    f"for c in range({CHUNKS}):\n"
    f"    lines = range(c * {LINES}, (c + 1) * {LINES})\n"
    "    sys.stdout.buffer.write(b''.join(b'%07d\\n' % i for i in lines))\n"
    "    sys.stdout.flush()\n"
    "    sys.stderr.write('chunk %d\\n' % c)\n"
    "    sys.stderr.flush()\n"
    "    time.sleep(0.1)\n"
)
PACED_OUT = b"".join(b"%07d\n" % i for i in range(CHUNKS * LINES))
PACED_ERR = b"".join(b"chunk %d\n" % c for c in range(CHUNKS))


@pytest.fixture
def uvicorn(servers: ServerPool) -> Server:
    """One server for the command lines' own behaviour (each run is a subprocess of its own:
    they run against one server kind; the protocol's side runs against both)."""
    return servers.get("uvicorn")


def _ours(stderr: bytes) -> list[bytes]:
    return [line for line in stderr.splitlines() if line.startswith(b"ccstream-ws: ")]


def _theirs(stderr: bytes) -> bytes:
    return b"".join(
        line for line in stderr.splitlines(keepends=True) if not line.startswith(b"ccstream-ws: ")
    )


def _wait_for_size(path: Path, size: int, proc: subprocess.Popen[bytes], within: float) -> None:
    deadline = time.monotonic() + within
    while path.stat().st_size < size:
        assert proc.poll() is None, f"exec ended early ({proc.returncode})"
        assert time.monotonic() < deadline, f"{path.stat().st_size} bytes, waiting for {size}"
        time.sleep(0.005)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_exec_survives_two_cuts_byte_exact(server: Server, tmp_path: Path) -> None:
    out, err = tmp_path / "out", tmp_path / "err"
    with Relay(server.port) as relay, out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen(
            [*CLI, "exec", relay.url, "--", PY, "-c", PACED], stdout=o, stderr=e
        )
        try:
            _wait_for_size(out, 60_000, proc, 20)
            relay.cut()
            _wait_for_size(out, 200_000, proc, 20)
            relay.cut(refuse_for=0.5)  # the first attempts are refused: the backoff goes on
            status = proc.wait(30)
        finally:
            _stop(proc)
    assert status == 0, err.read_bytes()
    assert out.read_bytes() == PACED_OUT  # every byte once, in order
    stderr = err.read_bytes()
    assert _theirs(stderr) == PACED_ERR
    ours = _ours(stderr)
    assert ID_LINE.match(stderr)
    assert sum(b"; reconnecting" in line for line in ours) == 2, ours
    assert sum(line.startswith(b"ccstream-ws: reconnected: resuming") for line in ours) == 2
    assert relay.connections >= 3


def test_exec_gives_up_with_255_and_the_server_cancels_the_run(
    uvicorn: Server, tmp_path: Path
) -> None:
    script = "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(60)\n"
    with Relay(uvicorn.port) as relay:
        proc = subprocess.Popen(
            [*CLI, "exec", "--reconnect", "1", relay.url, "--", PY, "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            child = int(proc.stdout.readline())
            relay.cut(refuse_for=30)
            _, stderr = proc.communicate(timeout=30)
        finally:
            _stop(proc)
    assert proc.returncode == 255
    assert ID_LINE.match(stderr), stderr
    assert re.search(rb"could not reconnect within 1\.\d s \(\d+ attempts\)", stderr), stderr
    # Nobody came back within the window (1 s): the server cancelled the run.
    assert gone(child, within=15)


def test_detach_then_logs_f_gets_the_rest_and_the_exit_status(
    uvicorn: Server, tmp_path: Path
) -> None:
    started = subprocess.run(
        [*CLI, "exec", "--detach", uvicorn.url, "--", PY, "-c", PACED + "sys.exit(7)\n"],
        capture_output=True,
        timeout=30,
    )
    assert started.returncode == 0, started.stderr
    assert started.stderr == b""
    execution_id = started.stdout.decode().strip()
    assert re.fullmatch(r"[0-9a-f]{32}", execution_id)
    # exec is gone and the run goes on. logs -f from the start, through a relay cut once:
    # everything once, then the remote status.
    out, err = tmp_path / "out", tmp_path / "err"
    with Relay(uvicorn.port) as relay, out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen([*CLI, "logs", "-f", relay.url, execution_id], stdout=o, stderr=e)
        try:
            _wait_for_size(out, 60_000, proc, 20)
            relay.cut()
            status = proc.wait(30)
        finally:
            _stop(proc)
    assert status == 7, err.read_bytes()
    assert out.read_bytes() == PACED_OUT
    assert _theirs(err.read_bytes()) == PACED_ERR
    assert len(_ours(err.read_bytes())) == 2  # lost, reconnected
    # Ended and kept: logs prints it all again, and says 0 (the output is the answer).
    again = subprocess.run(
        [*CLI, "logs", uvicorn.url, execution_id], capture_output=True, timeout=30
    )
    assert (again.returncode, again.stdout, again.stderr) == (0, PACED_OUT, PACED_ERR)


def test_logs_tail_prints_the_last_lines_of_each_stream(uvicorn: Server) -> None:
    script = "import sys\nfor i in range(1000): print(i)\nprint('e1\\ne2\\ne3', file=sys.stderr)\n"
    done = subprocess.run(
        [*CLI, "exec", uvicorn.url, "--", PY, "-c", script], capture_output=True, timeout=30
    )
    match = ID_LINE.match(done.stderr)
    assert done.returncode == 0, done.stderr
    assert match is not None, done.stderr
    # The server keeps it for exec's reconnect window (60 s) after exec left.
    execution_id = match[1].decode()
    tail = subprocess.run(
        [*CLI, "logs", "--tail", "3", uvicorn.url, execution_id], capture_output=True, timeout=30
    )
    assert tail.returncode == 0, tail.stderr
    assert tail.stdout == b"997\n998\n999\n"
    assert tail.stderr == b"e1\ne2\ne3\n"
    one = subprocess.run(
        [*CLI, "logs", "--tail", "1", uvicorn.url, execution_id], capture_output=True, timeout=30
    )
    assert (one.stdout, one.stderr) == (b"999\n", b"e3\n")
    more = subprocess.run(
        [*CLI, "logs", "--tail", "5000", uvicorn.url, execution_id], capture_output=True, timeout=30
    )
    assert more.stdout == b"".join(b"%d\n" % i for i in range(1000))
    none = subprocess.run(
        [*CLI, "logs", "--tail", "0", uvicorn.url, execution_id], capture_output=True, timeout=30
    )
    assert (none.returncode, none.stdout, none.stderr) == (0, b"", b"")


def test_logs_of_a_running_execution_prints_what_it_wrote_and_ends(uvicorn: Server) -> None:
    script = "import time\nprint('early', flush=True)\ntime.sleep(30)\n"
    started = subprocess.run(
        [*CLI, "exec", "-d", uvicorn.url, "--", PY, "-c", script], capture_output=True, timeout=30
    )
    execution_id = started.stdout.decode().strip()
    try:
        deadline = time.monotonic() + 15
        while True:
            done = subprocess.run(
                [*CLI, "logs", uvicorn.url, execution_id], capture_output=True, timeout=30
            )
            assert done.returncode == 0, done.stderr
            if done.stdout or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert done.stdout == b"early\n"
    finally:
        cancel = subprocess.run(
            [PY, "-c", _CANCEL, uvicorn.url, execution_id], capture_output=True, timeout=30
        )
        assert cancel.returncode == 0, cancel.stderr


_CANCEL = (
    "import sys, anyio\n"
    "from ccstream_ws import Client\n"
    "async def main():\n"
    "    async with Client(sys.argv[1]) as c:\n"
    "        await c.call('cancel', {'execution_id': sys.argv[2]})\n"
    "anyio.run(main)\n"
)


def test_logs_of_an_unknown_execution_is_refused(uvicorn: Server) -> None:
    done = subprocess.run([*CLI, "logs", uvicorn.url, "0" * 32], capture_output=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.startswith(b"ccstream-ws: the server refused: ")
    assert b"-32002" in done.stderr


def test_a_url_without_a_path_goes_to_ws(uvicorn: Server) -> None:
    for url in (f"ws://127.0.0.1:{uvicorn.port}", f"ws://127.0.0.1:{uvicorn.port}/"):
        done = subprocess.run(
            [*CLI, "exec", "-q", url, "--", "echo", "hi"], capture_output=True, timeout=30
        )
        assert (done.returncode, done.stdout, done.stderr) == (0, b"hi\n", b"")


def test_a_command_not_found_exits_127(uvicorn: Server) -> None:
    done = subprocess.run(
        [*CLI, "exec", uvicorn.url, "--", "no-such-command-ccstream"],
        capture_output=True,
        timeout=30,
    )
    assert done.returncode == 127
    assert done.stdout == b""
    assert done.stderr.startswith(b"ccstream-ws: the server refused: command not found")


async def test_an_owner_that_does_not_come_back_in_time_has_its_run_cancelled(
    servers: ServerPool, kind: str
) -> None:
    server = servers.get(kind)
    async with Client(server.url) as first:
        execution = await first.execute(["sleep", "30"], reconnect=2)
        await first.drop()
    assert execution.pid is not None
    await anyio.sleep(0.3)
    assert not await anyio.to_thread.run_sync(gone, execution.pid, 0.1)  # kept for the window
    assert await anyio.to_thread.run_sync(gone, execution.pid, 10.0)


async def test_an_owner_that_comes_back_keeps_the_run_and_gets_the_rest(
    servers: ServerPool, kind: str
) -> None:
    server = servers.get(kind)
    argv = [PY, "-c", "import time; print('a', flush=True); time.sleep(1); print('b')"]
    async with Client(server.url) as first:
        execution = await first.execute(argv, reconnect=5, output_options={"encoding": "binary"})
        first_part = b""
        async for event in execution:
            if isinstance(event, RemoteOutput):
                first_part += event.data
                if first_part == b"a\n":
                    break
        offsets = dict(execution.offsets)
        await first.drop()
    assert offsets == {"stdout": 2, "stderr": 0}
    await anyio.sleep(0.2)
    async with Client(server.url) as again:
        resumed = await again.subscribe(
            execution.id, offsets, output_options={"encoding": "binary"}, owner=True
        )
        out, err, completion = await resumed.collect()
    assert (out, err) == (b"b\n", b"")
    assert completion.status == "completed"
    assert completion.losses == ()


async def test_taking_over_an_execution_without_reconnect_is_refused(
    servers: ServerPool, kind: str
) -> None:
    server = servers.get(kind)
    async with Client(server.url) as client:
        execution = await client.execute(["sleep", "5"], detach=True)
        with pytest.raises(RPCError) as refused:
            await client.subscribe(execution.id, owner=True)
        assert refused.value.code == -32007
        await execution.cancel()


def test_exec_stdin_reaches_the_command_and_ends_it(uvicorn: Server) -> None:
    data = b"".join(b"%d\n" % i for i in range(50_000))  # several stdin messages
    done = subprocess.run(
        [*CLI, "exec", "-q", "--stdin", uvicorn.url, "--", "cat"],
        input=data,
        capture_output=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout == data
