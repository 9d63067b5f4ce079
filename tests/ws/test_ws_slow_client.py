"""A slow client: the child never waits for it, every byte arrives, server memory stays bounded.

The child's output goes to the spool on disk and the client's reader follows it from there, so a
client reading at a fraction of the child's speed leaves the child's run time unchanged. (CI
scale: 20 MiB read at 8 MiB/s; ``benchmarks/bench_ws.py slow`` runs the issue's 200 MB at 1 MB/s.)
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time

import anyio
import psutil
import pytest

from ccstream_ws import Client, RemoteOutput

from .conftest import Server

pytestmark = pytest.mark.anyio
PY = sys.executable
SIZE = 20 * 1024 * 1024
RATE = 8 * 1024 * 1024
CHILD = (
    "import sys\nblock = bytes(range(256)) * 256\nout = sys.stdout.buffer\n"
    f"for _ in range({SIZE} // len(block)): out.write(block)\n"
)


class Peak(threading.Thread):
    """Samples a process's RSS until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.base = self.peak = self.process.memory_info().rss
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.01)


class SlowRead:
    """What the slow client saw: the digest, bytes received when the run was seen to end."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.received = 0
        self.received_at_end: int | None = None
        self.elapsed = 0.0
        self.execution_time = 0.0


async def _watch(server: Server, execution_id: str, read: SlowRead) -> None:
    """From another connection, note how much the slow client had when the run ended."""
    async with Client(server.url) as watcher:
        # Polled: the server has no "ended" notification for a connection that does not read.
        while not (await watcher.status(execution_id)).ended:  # noqa: ASYNC110
            await anyio.sleep(0.02)
    read.received_at_end = read.received


async def _read_slowly(server: Server) -> SlowRead:
    read = SlowRead()
    t0 = time.monotonic()
    async with Client(server.url, compression=None, queue_size=2) as client:
        execution = await client.execute(
            [PY, "-c", CHILD], output_options={"encoding": "binary", "chunk_size": 65536}
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(_watch, server, execution.id, read)
            async for event in execution:
                if isinstance(event, RemoteOutput):
                    read.digest.update(event.data)
                    read.received += len(event.data)
                    # Read at RATE: sleep until the bytes so far are "due".
                    await anyio.sleep(max(0.0, read.received / RATE - (time.monotonic() - t0)))
        completion = execution.completion
    read.elapsed = time.monotonic() - t0
    assert completion is not None
    assert completion.status == "completed"
    assert read.received == SIZE
    read.execution_time = float(completion.execution_time or 0)
    return read


def _expected() -> str:
    return hashlib.sha256(bytes(range(256)) * 256 * (SIZE // 65536)).hexdigest()


async def test_slow_client_never_holds_the_child_back(server: Server) -> None:
    peak = Peak(server.pid)
    peak.start()
    try:
        read = await _read_slowly(server)
    finally:
        peak.stop.set()
        peak.join()
    assert read.digest.hexdigest() == _expected()
    assert read.elapsed >= SIZE / RATE * 0.8  # the client really was slow
    # The child ran at its own speed: it ended while the client had a small part of the output,
    # in a fraction of the client's time.
    assert read.received_at_end is not None
    assert read.received_at_end < SIZE / 2
    assert read.execution_time < read.elapsed / 3
    # The spool's writer keeps a few MiB of recent frames; the reader holds one frame plus the
    # socket's buffers. Far below the output's size.
    assert peak.peak - peak.base < 32 * 1024 * 1024
