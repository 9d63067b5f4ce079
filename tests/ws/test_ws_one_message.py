"""One message must not break a connection: lone surrogates, infinite ids, a disconnect during a
request, bytes that are not UTF-8 in argv, and invalid UTF-8 frames each get their documented
answer, and the server logs no traceback for any of them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from ccstream_ws import Client, ErrorCode, RemoteOutput

from ._logged import logged_server, tracebacks
from ._raw import raw
from .conftest import KINDS, Server

pytestmark = pytest.mark.anyio
PY = sys.executable


@pytest.fixture(scope="module", params=KINDS)
def logged(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Path]]:
    """A server of each kind for this module, with its log in a file."""
    kind = str(request.param)
    log = tmp_path_factory.mktemp("logs") / f"{kind}.log"
    with logged_server(kind, {}, log) as server:
        yield server, log


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ('{"jsonrpc":"2.0","id":1,"method":"\\ud800"}', ErrorCode.INVALID_REQUEST),
        ('{"jsonrpc":"2.0","id":"\\ud800","method":"ping"}', ErrorCode.INVALID_REQUEST),
        ('{"jsonrpc":"2.0","id":1e400,"method":"ping"}', ErrorCode.INVALID_REQUEST),
        (
            '{"jsonrpc":"2.0","id":1,"method":"execute","params":{"argv":["true"],"cwd":"\\ud800"}}',
            ErrorCode.INVALID_PARAMS,
        ),
        (
            '{"jsonrpc":"2.0","id":1,"method":"execute","params":{"argv":["echo","\\udce9"]}}',
            ErrorCode.INVALID_PARAMS,
        ),
        (
            '{"jsonrpc":"2.0","id":1,"method":"execute","params":{"argv":["true"],'
            '"env":{"A":"\\ud800"}}}',
            ErrorCode.INVALID_PARAMS,
        ),
        (
            '{"jsonrpc":"2.0","id":1,"method":"execute","params":{"argv":["true"],'
            '"timeout":1' + "0" * 400 + "}}",
            ErrorCode.INVALID_PARAMS,
        ),
        (
            '{"jsonrpc":"2.0","id":1,"method":"page","params":{"execution_id":"x","count":null}}',
            ErrorCode.INVALID_PARAMS,
        ),
        (
            '{"jsonrpc":"2.0","id":1,"method":"status","params":{"execution_id":"\\udfff"}}',
            ErrorCode.INVALID_PARAMS,
        ),
    ],
)
async def test_one_hostile_message_gets_its_error_and_the_connection_carries_on(
    logged: tuple[Server, Path], message: str, code: int
) -> None:
    server, log = logged
    async with raw(server.url) as client:
        await client.recv()
        await client.send(message)
        answer = await client.recv()
        assert answer["error"]["code"] == code, answer
        pong = await client.call("ping")
        assert pong["result"]["pong"] is True
    assert tracebacks(log) == []


async def test_a_disconnect_right_after_a_request_logs_no_traceback(
    logged: tuple[Server, Path],
) -> None:
    server, log = logged
    for _ in range(20):
        async with raw(server.url) as client:
            await client.recv()
            started = await client.call("execute", {"argv": ["echo", "hi"]})
            execution_id = started["result"]["execution_id"]
            await client.until("process.completed")
            page = {"execution_id": execution_id, "count": 10}
            await client.send({"jsonrpc": "2.0", "id": 9, "method": "page", "params": page})
            # Gone before the answer: the server's send fails inside its task groups.
            client.ws.transport.abort()
    async with raw(server.url) as client:
        await client.recv()
        assert "result" in await client.call("ping")
    assert tracebacks(log) == []


UTF8 = "caf\u00e9"
LATIN1 = os.fsdecode(b"caf\xe9.txt")  # not UTF-8: a surrogate escape, as in sys.argv
REPORT = (
    "import os, sys\n"
    "out = sys.stdout.buffer\n"
    "for arg in sys.argv[1:]: out.write(os.fsencode(arg) + b'|')\n"
    "out.write(os.getcwdb() + b'|' + os.environb[b'CCS_VALUE'])\n"
)


async def test_arguments_cwd_and_env_that_are_not_utf8_reach_the_child_byte_exact(
    logged: tuple[Server, Path], tmp_path: Path
) -> None:
    server, log = logged
    directory = tmp_path / os.fsdecode(b"dir\xff")
    directory.mkdir()
    async with Client(server.url) as client:
        execution = await client.execute(
            [PY, "-c", REPORT, LATIN1, UTF8],
            cwd=str(directory),
            env={"CCS_VALUE": os.fsdecode(b"\xfe\xff")},
            output_options={"encoding": "binary"},
        )
        out = b""
        async for event in execution:
            if isinstance(event, RemoteOutput):
                out += event.data
        assert execution.completion is not None
        assert execution.completion.exit_code == 0
    assert out == b"caf\xe9.txt|caf\xc3\xa9|" + os.fsencode(directory) + b"|\xfe\xff"
    assert tracebacks(log) == []


async def test_argv_is_echoed_in_a_form_that_tells_the_bytes(
    logged: tuple[Server, Path],
) -> None:
    server, log = logged
    argv: list[Any] = ["echo", UTF8, {"base64": "Y2Fm6S50eHQ="}]
    async with raw(server.url) as client:
        await client.recv()
        answer = await client.call("execute", {"argv": argv})
        execution_id = answer["result"]["execution_id"]
        started = await client.until("process.started")
        assert started["params"]["argv"] == argv
        output = await client.until("process.output")
        assert output["params"]["data"] == "caf\u00e9 caf\ufffd.txt\n"
        await client.until("process.completed")
        status = await client.call("status", {"execution_id": execution_id})
        assert status["result"]["argv"] == argv
    assert tracebacks(log) == []


def test_ccstream_ws_exec_passes_arguments_that_are_not_utf8(
    logged: tuple[Server, Path],
) -> None:
    server, log = logged
    script = "import os, sys; sys.stdout.buffer.write(os.fsencode(sys.argv[1]))"
    done = subprocess.run(
        [PY, "-m", "ccstream_ws.cli", "exec", server.url, "--", PY, "-c", script, b"caf\xe9.txt"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"caf\xe9.txt"
    assert tracebacks(log) == []


async def test_invalid_utf8_in_a_text_frame_closes_1007_and_logs_one_line(
    logged: tuple[Server, Path],
) -> None:
    server, log = logged
    if server.kind != "uvicorn":
        pytest.skip("hypercorn drops such a connection without a close frame (docs/protocol.md)")
    before = sum("1007" in line for line in log.read_text().splitlines())
    for data in (b'{"a":"\xff"}', b"\xc3", b"\xed\xa0\x80"):
        async with connect(server.url, compression=None) as ws:
            await ws.recv()
            await ws.send(data, text=True)  # a text frame with these bytes, unchecked
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None, "closed without a close frame"
        assert closed.value.rcvd.code == 1007
    lines = [line for line in log.read_text().splitlines() if "1007" in line]
    assert len(lines) - before == 3, lines
    assert tracebacks(log) == []
