"""One line of 1 GiB over a real server: ``page`` answers a bounded page that reports the cut,
the server's memory stays flat, another connection's ``ping`` is answered within 100 ms while
the pages are served, and the HTTP download streams the line in bounded memory.

Marked ``slow``: the child writes 1 GiB (a few seconds through the pipe and the spool), and the
download reads it back once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import anyio
import pytest

from ccstream_ws import Client, LineCut

from .conftest import ServerPool
from .test_ws_slow_client import Peak

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
PY = sys.executable
MiB = 1024 * 1024
GiB = 1024 * MiB
CHILD = (
    "import sys\nout = sys.stdout.buffer\nblock = b'x' * (1 << 20)\n"
    "for _ in range(1024): out.write(block)\nout.write(b'\\ntail\\n')\n"
)
BOUND = 32 * MiB
# Another client, in its own process so that nothing the test's client does delays it: pings
# every 5 ms from "ready" until its stdin closes, then prints each ping's round trip (seconds).
PINGER = """
import json, sys, threading, time
import anyio
from ccstream_ws import Client, LineCut

async def main(url):
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    times = []
    async with Client(url) as client:
        await client.call("ping")
        print("ready", flush=True)
        while not done.is_set():
            t0 = time.monotonic()
            await client.call("ping")
            times.append(time.monotonic() - t0)
            await anyio.sleep(0.005)
    print(json.dumps(times), flush=True)

anyio.run(main, sys.argv[1])
"""


class Pinger:
    """The ``PINGER`` process: :meth:`start` returns once it pings, :meth:`finish` stops it and
    returns its round trips (both block: run them in a worker thread)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [PY, "-c", PINGER, self.url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline() == "ready\n"

    def finish(self) -> list[float]:
        assert self.proc is not None
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.close()
        times: list[float] = json.loads(self.proc.stdout.readline())
        assert self.proc.wait(10) == 0
        return times

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _download(url: str, headers: dict[str, str]) -> tuple[int, int, bytes]:
    """GET ``url`` read in 1 MiB blocks: status, bytes, and the bytes that are not ``x``."""
    request = urllib.request.Request(url, headers=headers)
    total = 0
    other = bytearray()
    with urllib.request.urlopen(request, timeout=60) as response:
        while block := response.read(MiB):
            total += len(block)
            other += block.translate(None, b"x")
            assert len(other) < 100
        return int(response.status), total, bytes(other)


async def test_page_on_a_1_gib_line_is_bounded_and_never_stalls_another_connection(
    servers: ServerPool, kind: str
) -> None:
    server = servers.get(kind, {"spool_quota": 4 * GiB})
    async with Client(server.url) as client:
        # Nothing streamed to this client: the output is read back with page and a download.
        execution = await client.execute([PY, "-c", CHILD], output_options={"head_bytes": 0})
        with anyio.fail_after(60):
            completion = await execution.wait()
        assert completion.status == "completed"
        assert completion.params["stdout"] == {"bytes": GiB + 6, "lines": 2}

        peak = Peak(server.pid)
        peak.start()
        pinger = Pinger(server.url)
        try:
            await anyio.to_thread.run_sync(pinger.start)
            pages = [
                await execution.page(0, 5, max_bytes=max_bytes)
                for max_bytes in (None, 2 * MiB, 64 * MiB, 10) * 8
            ]
            pages.append(await execution.page(1, 5))
            latencies = await anyio.to_thread.run_sync(pinger.finish)
            base = f"{server.http}/executions/{execution.id}/stdout"
            rest = pages[0].cuts[0].rest_offset
            ranged = await anyio.to_thread.run_sync(
                _download, base, {"Range": f"bytes={rest}-{rest + MiB - 1}"}
            )
            whole = await anyio.to_thread.run_sync(_download, base, {})
        finally:
            peak.stop.set()
            peak.join()
            pinger.kill()

    for page, bound in zip(pages[:-1], (MiB, 2 * MiB, 2 * MiB, 10) * 8, strict=True):
        assert page.max_bytes == bound, "the default, or the client's choice up to the limit"
        assert page.lines == (b"x" * bound,)
        assert (page.first_line, page.next_line, page.complete) == (0, 1, False)
        assert page.cuts == (LineCut(0, 0, bound, GiB + 1 - bound, bound),)
        assert page.next_offset == GiB + 1
    assert pages[-1].lines == (b"tail\n",)
    assert pages[-1].cuts == ()
    assert pages[-1].complete
    assert ranged == (206, MiB, b"")
    assert whole == (200, GiB + 6, b"\ntail\n")
    assert len(latencies) >= 3
    assert max(latencies) < 0.1, f"ping waited {max(latencies) * 1000:.0f} ms"
    grew = peak.peak - peak.base
    assert grew < BOUND, f"the server grew by {grew / MiB:.1f} MiB"
