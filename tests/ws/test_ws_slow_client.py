"""A slow client: every byte arrives and the server's memory stays bounded.

Until the core's spool is wired in, the child's output waits in the core's bounded hand-off
(8 MiB per stream) and then in the pipe; with the spool the child is not held back at all.
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
SIZE = 12 * 1024 * 1024  # CI size: 12 MB read at about 8 MB/s (the 200 MB at 1 MB/s)
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


async def _read_slowly(server: Server) -> tuple[str, float, float]:
    digest = hashlib.sha256()
    received = 0
    t0 = time.monotonic()
    async with Client(server.url, compression=None, queue_size=2) as client:
        execution = await client.execute(
            [PY, "-c", CHILD], output_options={"encoding": "binary", "chunk_size": 65536}
        )
        async for event in execution:
            if isinstance(event, RemoteOutput):
                digest.update(event.data)
                received += len(event.data)
                # Read at RATE: sleep until the bytes so far are "due".
                await anyio.sleep(max(0.0, received / RATE - (time.monotonic() - t0)))
        completion = execution.completion
    assert completion is not None
    assert completion.status == "completed"
    assert received == SIZE
    return digest.hexdigest(), time.monotonic() - t0, float(completion.execution_time or 0)


def _expected() -> str:
    return hashlib.sha256(bytes(range(256)) * 256 * (SIZE // 65536)).hexdigest()


async def test_slow_client_gets_every_byte_in_bounded_server_memory(server: Server) -> None:
    peak = Peak(server.pid)
    peak.start()
    try:
        digest, elapsed, _ = await _read_slowly(server)
    finally:
        peak.stop.set()
        peak.join()
    assert digest == _expected()
    assert elapsed >= SIZE / RATE * 0.8  # the client really was slow
    # One frame plus socket buffers per connection, plus the core's bounded hand-off: far below
    # the output's size.
    assert peak.peak - peak.base < 48 * 1024 * 1024
