"""``execute`` with ``pty`` and ``force_color``, the ``resize`` method, and ``page`` with
``times``, through a real server (uvicorn and hypercorn-trio) and the real client."""

from __future__ import annotations

import sys
import time
from typing import Any

import pytest

from ccstream_ws import Client, RemoteOutput, RPCError

from .conftest import Server

pytestmark = pytest.mark.anyio
PY = sys.executable

RESIZE = r"""
import os, signal, sys, time
def winch(*_):
    s = os.get_terminal_size()
    sys.stdout.write(f"winch {s.lines} {s.columns}\n")
signal.signal(signal.SIGWINCH, winch)
s = os.get_terminal_size()
sys.stdout.write(f"start {os.isatty(1)} {os.isatty(2)} {s.lines} {s.columns}\n")
sys.stderr.write("to stderr\n")
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    time.sleep(0.01)
"""


async def test_pty_execution_sees_a_terminal_and_resize_reaches_it(server: Server) -> None:
    async with Client(server.url) as client:
        execution = await client.execute([PY, "-c", RESIZE], pty={"rows": 30, "cols": 100})
        out = bytearray()
        err = bytearray()
        resized = False
        async for event in execution:
            if not isinstance(event, RemoteOutput):
                continue
            (out if event.stream == "stdout" else err).extend(event.data)
            if b"to stderr\n" in out and not resized:
                resized = True
                status = await client.status(execution.id)
                assert status.params["pty"] == {"rows": 30, "cols": 100, "stderr": "terminal"}
                await execution.resize(40, 120)
                status = await client.status(execution.id)
                assert status.params["pty"] == {"rows": 40, "cols": 120, "stderr": "terminal"}
            if b"winch" in out and out.endswith(b"\n"):
                await execution.cancel()
        assert out.startswith(b"start True True 30 100\n"), out
        assert b"to stderr\n" in out  # the terminal merges stderr into stdout
        assert b"winch 40 120\n" in out
        assert err == b""
        # An ended execution cannot be resized.
        with pytest.raises(RPCError) as ended:
            await execution.resize(10, 10)
        assert ended.value.code == -32007


async def test_pty_with_stderr_on_its_own_pipe(server: Server) -> None:
    code = "import os, sys; print(os.isatty(1), os.isatty(2)); print('e', file=sys.stderr)"
    async with Client(server.url) as client:
        execution = await client.execute([PY, "-c", code], pty={"stderr": "pipe"})
        out, err, completion = await execution.collect()
    assert out == b"True False\n"
    assert err == b"e\n"
    assert completion.params["exit_code"] == 0


async def test_force_color_sets_the_colour_variables(server: Server) -> None:
    code = "import os; print(os.environ.get('FORCE_COLOR'), os.environ.get('CLICOLOR_FORCE'))"
    async with Client(server.url) as client:
        execution = await client.execute([PY, "-c", code], force_color=True)
        out, _, _ = await execution.collect()
    assert out == b"1 1\n"


@pytest.mark.parametrize(
    ("pty", "message"),
    [
        ("yes", "pty must be"),
        ({"rows": 0}, "pty.rows must be an integer from 1 to 65535"),
        ({"cols": 70000}, "pty.cols must be"),
        ({"rows": True}, "pty.rows must be"),
        ({"rows": 2.5}, "pty.rows must be"),
        ({"stderr": "both"}, "pty.stderr must be"),
        ([24, 80], "pty must be"),
    ],
)
async def test_a_bad_pty_is_invalid_params(server: Server, pty: Any, message: str) -> None:
    async with Client(server.url) as client:
        with pytest.raises(RPCError) as refused:
            await client.call("execute", {"argv": ["true"], "pty": pty})
        assert refused.value.code == -32602
        assert message in str(refused.value)
        assert (await client.call("ping"))["pong"] is True  # the connection carries on


async def test_resize_refusals(server: Server) -> None:
    async with Client(server.url) as client:
        plain = await client.execute(["sleep", "5"])
        with pytest.raises(RPCError) as no_terminal:
            await plain.resize(24, 80)
        assert no_terminal.value.code == -32007
        assert "no terminal" in str(no_terminal.value)
        for params, code in (
            ({"execution_id": plain.id, "rows": 0, "cols": 80}, -32602),
            ({"execution_id": plain.id, "rows": 24}, -32602),
            ({"execution_id": "f" * 32, "rows": 24, "cols": 80}, -32002),
        ):
            with pytest.raises(RPCError) as refused:
                await client.call("resize", params)
            assert refused.value.code == code, params
        await plain.cancel()
        await plain.wait()


TICKS = (
    "import sys, time\n"
    "for i in range(20):\n"
    "    print('line', i, flush=True)\n"
    "    time.sleep(0.01)\n"
)


async def test_page_with_times_gives_each_lines_arrival(server: Server) -> None:
    before = time.time()
    async with Client(server.url) as client:
        execution = await client.execute([PY, "-c", TICKS])
        await execution.wait()
        after = time.time()
        timed = await client.call(
            "page", {"execution_id": execution.id, "count": 100, "times": True}
        )
        plain = await client.call("page", {"execution_id": execution.id, "count": 100})
        with pytest.raises(RPCError) as refused:
            await client.call("page", {"execution_id": execution.id, "times": "yes"})
    assert len(timed["lines"]) == 20
    stamps = timed["times"]
    assert len(stamps) == 20
    assert stamps == sorted(stamps)
    # The server runs on this machine: its clock is ours.
    assert before <= stamps[0]
    assert stamps[-1] <= after
    assert stamps[-1] > stamps[0]
    assert "times" not in plain
    assert refused.value.code == -32602
