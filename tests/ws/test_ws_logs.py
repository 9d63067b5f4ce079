"""``ccstream-ws serve``'s log: one format for its own lines and uvicorn's, no secret in it."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import pytest

from ._cli_server import serve_cli, stop
from ._http import get
from ._raw import raw
from .conftest import free_port

pytestmark = pytest.mark.anyio

TOKEN = "log-secret-token-abcdef0123456789"
TEXT_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: "
)


async def _session(tmp_path: Path, *flags: str) -> str:
    """Serve with ``flags`` and a token; a WebSocket with the token in its URL, a run, HTTP
    requests with it in the query (right and wrong), then SIGTERM; the whole log."""
    port = free_port()
    log = tmp_path / "server.log"
    proc = serve_cli(port, log, "--token", TOKEN, *flags)
    try:
        async with raw(f"ws://127.0.0.1:{port}/ws?token={TOKEN}") as client:
            await client.recv()
            await client.call("execute", {"argv": ["echo", "hello"]})
            await client.until("process.completed")
        assert get(port, f"/metrics?token={TOKEN}")[0] == 200
        assert get(port, f"/metrics?token={TOKEN}x")[0] == 401
        assert get(port, "/metrics", {"Authorization": f"Bearer {TOKEN}"})[0] == 200
    finally:
        stop(proc, signal.SIGTERM)
    return log.read_text()


async def test_json_lines_parse_and_include_uvicorns_and_no_token(tmp_path: Path) -> None:
    text = await _session(tmp_path, "--log-format", "json")
    assert TOKEN not in text
    records = [json.loads(line) for line in text.splitlines()]
    loggers = {r["logger"] for r in records}
    assert {"ccstream_ws", "ccstream", "uvicorn.error", "uvicorn.access"} <= loggers, loggers
    for record in records:
        assert set(record) >= {"time", "level", "logger", "message"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["time"])
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    paths = [r["path"] for r in access]
    assert "/metrics?token=[redacted]" in paths, paths
    assert {r["status"] for r in access} >= {200, 401}
    assert all(r["method"] == "GET" for r in access)
    # The refused request's own warning, in the same format.
    assert any("refused HTTP" in r["message"] and r["level"] == "WARNING" for r in records)


async def test_text_lines_share_one_format_and_no_token(tmp_path: Path) -> None:
    text = await _session(tmp_path, "--log-format", "text")
    assert TOKEN not in text
    lines = text.splitlines()
    for line in lines:
        assert TEXT_LINE.match(line), line
    assert any(" INFO uvicorn.access: " in line and "token=[redacted]" in line for line in lines)
    assert any(" INFO uvicorn.error: " in line for line in lines)
    assert any(" INFO ccstream_ws: " in line for line in lines)


async def test_no_access_log_leaves_the_rest(tmp_path: Path) -> None:
    text = await _session(tmp_path, "--log-format", "json", "--no-access-log")
    loggers = {json.loads(line)["logger"] for line in text.splitlines()}
    assert "uvicorn.access" not in loggers
    assert {"ccstream_ws", "uvicorn.error"} <= loggers
