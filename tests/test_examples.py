"""The examples under examples/ run: each app under uvicorn on loopback, driven by a client."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from examples.llm_to_browser import Lines, event_of
from websockets.sync.client import connect

from .conftest import ROOT
from .ws.conftest import free_port

pytest.importorskip("starlette")


def _serve(target: str, probe: str = "/") -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", target, "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            assert proc.poll() is None, f"{target} exited with {proc.returncode}"
            try:
                urllib.request.urlopen(f"http://{base}{probe}", timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"{target} did not start"
                time.sleep(0.05)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def mounted() -> Iterator[str]:
    yield from _serve("examples.starlette_mount:app")


@pytest.fixture(scope="module")
def plain() -> Iterator[str]:
    yield from _serve("examples.starlette_mount:plain", "/ccstream/healthz")


@pytest.fixture(scope="module")
def llm() -> Iterator[str]:
    yield from _serve("examples.llm_to_browser:app")


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.url, response.read()


def test_starlette_mount_serves_both_apps(mounted: str) -> None:
    status, _, body = _get(f"http://{mounted}/")
    assert status == 200
    assert json.loads(body) == {
        "app": "host",
        "started_by": "host",
        "ccstream": f"http://{mounted}/ccstream/",
    }
    # The mount point without its slash redirects, so the page's relative addresses work.
    _, final, body = _get(f"http://{mounted}/ccstream")
    assert final.endswith("/ccstream/")
    assert b"ccstream viewer" in body
    assert _get(f"http://{mounted}/ccstream/static/js/main.js")[0] == 200
    health = json.loads(_get(f"http://{mounted}/ccstream/healthz")[2])
    assert health["status"] == "ok"


def test_starlette_mount_runs_commands(mounted: str) -> None:
    with connect(f"ws://{mounted}/ccstream/ws", open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["method"] == "connected"
        params = {"argv": ["echo", "hi"]}
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "execute", "params": params}))
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1].get("method") != "process.completed":
            seen.append(json.loads(ws.recv(timeout=10)))
    output = "".join(m["params"]["data"] for m in seen if m.get("method") == "process.output")
    assert output == "hi\n"
    assert seen[-1]["params"]["status"] == "completed"


def test_the_adapters_lifespan_alone_serves_a_detached_run(plain: str) -> None:
    # A detached run outlives its connection in the server-wide task group the lifespan opens.
    with connect(f"ws://{plain}/ccstream/ws", open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["method"] == "connected"
        params = {"argv": ["sh", "-c", "sleep 0.3; echo late"], "detach": True}
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "execute", "params": params}))
        while True:
            answer = json.loads(ws.recv(timeout=10))
            if answer.get("id") == 1:
                break
        execution_id = answer["result"]["execution_id"]
    with connect(f"ws://{plain}/ccstream/ws", open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["method"] == "connected"
        params = {"execution_id": execution_id, "offsets": {"stdout": 0}}
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "subscribe", "params": params}))
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1].get("method") != "process.completed":
            seen.append(json.loads(ws.recv(timeout=10)))
    output = "".join(m["params"]["data"] for m in seen if m.get("method") == "process.output")
    assert output == "late\n"
    assert seen[-1]["params"]["status"] == "completed"


def test_llm_cli_events_reach_the_browser_one_by_one(llm: str) -> None:
    assert b"new WebSocket" in _get(f"http://{llm}/")[2]
    events: list[dict[str, Any]] = []
    with connect(f"ws://{llm}/events?prompt=hello", open_timeout=10) as ws:
        while not events or events[-1]["type"] != "exit":
            events.append(json.loads(ws.recv(timeout=20)))
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["system", "tool_use"]
    assert "stderr" in kinds
    assert kinds.count("assistant") == 8
    assert kinds[-2:] == ["result", "exit"]
    text = "".join(
        part["text"] for e in events if e["type"] == "assistant" for part in e["message"]["content"]
    )
    assert text.strip() == events[-2]["result"]
    assert events[-1]["returncode"] == 0


def test_lines_joins_split_lines_and_cuts_long_ones() -> None:
    lines = Lines(limit=8)
    assert lines.feed(b'{"a": 1}\n{"b"') == [(b'{"a": 1}', 0)]
    assert lines.feed(b": 2}\n") == [(b'{"b": 2}', 0)]
    assert lines.feed(b"x" * 5) == []
    assert lines.feed(b"y" * 10 + b"\nz") == [(b"xxxxxyyy", 7)]
    assert event_of(b'{"type": "result"}') == {"type": "result"}
    assert event_of(b"not json") == {"type": "text", "text": "not json", "cut_bytes": 0}
    assert event_of(b'{"type": "res', 9)["cut_bytes"] == 9
