"""Output goes out in batches, and a reply still waits behind at most one: a ``ping`` sent
during a bulk stream is answered while the stream goes on, and every byte arrives in order.
(``benchmarks/bench_ws.py ping`` measures how long the reply takes.)"""

from __future__ import annotations

import hashlib
from pathlib import Path

import anyio
import pytest

from ccstream_ws import Client, RemoteOutput

from .conftest import Server

pytestmark = pytest.mark.anyio
SIZE = 64 * 1024 * 1024


async def test_a_ping_during_a_bulk_stream_is_answered_while_it_streams(
    server: Server, tmp_path: Path
) -> None:
    path = tmp_path / "bulk"
    block = hashlib.sha256(b"bulk").digest() * 2048
    with path.open("wb") as f:
        for _ in range(SIZE // len(block)):
            f.write(block)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    digest = hashlib.sha256()
    received = 0
    after_pong: int | None = None
    started = anyio.Event()

    async with Client(server.url, compression=None) as client:
        execution = await client.execute(
            ["cat", str(path)], output_options={"encoding": "binary", "chunk_size": 65536}
        )

        async def ping() -> None:
            nonlocal after_pong
            await started.wait()
            with anyio.fail_after(10):
                answer = await client.call("ping")
            assert answer["pong"] is True
            after_pong = received

        async with anyio.create_task_group() as tg:
            tg.start_soon(ping)
            with anyio.fail_after(60):
                async for event in execution:
                    if isinstance(event, RemoteOutput):
                        digest.update(event.data)
                        received += len(event.data)
                        started.set()
    assert execution.completion is not None
    assert execution.completion.status == "completed"
    assert received == SIZE
    assert digest.hexdigest() == expected
    assert after_pong is not None
    assert after_pong < SIZE, "the ping was answered only after the whole stream"
