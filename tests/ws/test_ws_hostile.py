"""1,000 malformed or hostile messages get documented errors; other connections stream on."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect

from ccstream_ws import Client, ErrorCode, RemoteOutput

from .conftest import ServerPool

PY = sys.executable
# An internal error would be a bug: hostile input must get a precise answer.
DOCUMENTED = {int(code) for code in ErrorCode} - {int(ErrorCode.INTERNAL_ERROR)}
METHODS = ["execute", "control", "cancel", "status", "stdin", "page", "subscribe", "ping", "pong"]
KEYS = [
    "command",
    "argv",
    "timeout",
    "idle_timeout",
    "cwd",
    "env",
    "stdin",
    "detach",
    "retention",
    "output_options",
    "type",
    "execution_id",
    "data",
    "encoding",
    "eof",
    "line",
    "count",
    "stream",
    "offsets",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.sampled_from(KEYS), children, max_size=4)
    ),
    max_leaves=12,
)
params = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=5) | json_values
requests = st.fixed_dictionaries(
    {
        "jsonrpc": st.sampled_from(["2.0", "2.0", "2.0", "1.0", 2]),
        "method": st.sampled_from(METHODS) | st.text(max_size=10),
    },
    optional={
        "id": st.integers()
        | st.text(max_size=5)
        | st.none()
        | st.booleans()
        | st.lists(st.integers(), max_size=2),
        "params": params,
    },
)
messages = st.one_of(
    requests.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=60),
    st.binary(max_size=60),
    st.sampled_from(
        [
            "[",
            "{}",
            "[]",
            '{"jsonrpc":"2.0"}',
            "[1]" * 5000,
            "[" * 100_000,
            "NaN",
            '{"jsonrpc":"2.0","id":1,"method":"execute","params":{"argv":[]}}',
            "9" * 10_000,
        ]
    ),
)


class Streamer(threading.Thread):
    """Another client streaming a steady counter the whole time; checks every line arrives."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.lines = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # reported by the test
            self.error = exc

    async def _run(self) -> None:
        script = (
            "import itertools, time\nfor i in itertools.count():\n"
            "    print(i, flush=True); time.sleep(0.001)"
        )
        async with Client(self.url) as client:
            execution = await client.execute([PY, "-c", script])
            pending = b""
            async for event in execution:
                if isinstance(event, RemoteOutput):
                    pending += event.data
                    *done, pending = pending.split(b"\n")
                    for line in done:
                        assert int(line) == self.lines, "a line went missing or came twice"
                        self.lines += 1
                if self.stop.is_set() and execution.completion is None:
                    await execution.cancel()
                    self.stop.clear()


async def _send_all(url: str, batch: list[str | bytes]) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    async with connect(url, compression=None, max_size=2**24) as ws:
        json.loads(await ws.recv())  # connected
        for i, message in enumerate(batch):
            await ws.send(message)
            sentinel = f"sentinel-{i}"
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": sentinel, "method": "ping"}))
            while True:
                reply = await asyncio.wait_for(ws.recv(), 10)
                if isinstance(reply, bytes):
                    continue
                answer = json.loads(reply)
                if "error" in answer:
                    errors.append(answer["error"])
                if answer.get("id") == sentinel:
                    assert "result" in answer
                    break
    return errors


def test_hostile_messages_get_documented_errors_while_others_stream(
    servers: ServerPool, kind: str
) -> None:
    server = servers.get(kind, {"allow_shell": False, "allowed_executables": [PY, "true"]})
    streamer = Streamer(server.url)
    streamer.start()
    sent = 0

    @settings(
        max_examples=10,
        deadline=None,
        phases=[Phase.generate],
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(messages, min_size=100, max_size=100))
    def attack(batch: list[str | bytes]) -> None:
        nonlocal sent
        errors = asyncio.run(_send_all(server.url, batch))
        sent += len(batch)
        for error in errors:
            assert error["code"] in DOCUMENTED, error
            assert isinstance(error["message"], str)

    try:
        before = streamer.lines
        attack()
        assert sent >= 1000
        assert streamer.error is None
        assert streamer.lines > before, "the other connection must keep streaming"
    finally:
        streamer.stop.set()
        streamer.join(20)
    assert not streamer.is_alive()
    assert streamer.error is None, streamer.error
