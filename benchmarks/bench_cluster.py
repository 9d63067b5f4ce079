"""Several nodes on one Redis, by hand: follow latency across nodes, and many executions over two
nodes. Every node is a ``ccstream-ws serve --redis`` process on loopback, with a redis-server of
its own started here (and stopped by its pid).

    .venv/bin/python benchmarks/bench_cluster.py latency [--lines 300] [--repeats 3]
    .venv/bin/python benchmarks/bench_cluster.py concurrent [--executions 64] [--size 16M]

``latency``: a child on node A writes a line every 10 ms (its monotonic time); one client reads
it on A (the owner's connection), another on B (``subscribe``, through Redis) at the same time:
the time from the write to each client's receipt. Rounds repeat; the medians of both and their
ratio are reported (target: median on B <= 10 ms).
``concurrent``: N executions of --size bytes each, started alternately on A and B, each read by
a client on the *other* node; byte-exact (sha256), and the RSS growth of each node and Redis'
``used_memory`` at the peak.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from _common import DIGEST_CHILD, expected_digest, free_port, wait_port
from ccstream.cli import parse_size
from ccstream_ws import Client, RemoteOutput

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests._redis import redis_server

BIN = Path(sys.executable).parent
LEASE = 10.0


@contextmanager
def redis() -> Iterator[str]:
    """A redis-server of its own (tests/_redis.py) in a temporary folder; its URL."""
    with (
        tempfile.TemporaryDirectory(prefix="bench_cluster_") as folder,
        redis_server(Path(folder)) as server,
    ):
        yield server.url


@contextmanager
def node(url: str, name: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "ccstream-ws"), "serve", "--port", str(port), "--log-level", "warning",
         "--redis", url, "--node-id", name, "--lease", str(LEASE), "--drain-timeout", "0",
         "--max-executions", "128", "--max-per-connection", "128"],
    )  # fmt: skip
    try:
        wait_port(port, proc)
        yield f"ws://127.0.0.1:{port}/ws", proc
    finally:
        proc.terminate()
        proc.wait(20)


def redis_memory(url: str) -> int:
    """``used_memory`` of the Redis at ``url`` (bytes), by its own INFO."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"INFO memory\r\n")
        data = b""
        while b"used_memory:" not in data or not data.endswith(b"\r\n"):
            data += s.recv(65536)
    for line in data.decode().splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    raise RuntimeError("no used_memory in INFO")


# -- latency ----------------------------------------------------------------------------------

LATENCY_CHILD = """
import sys, time
time.sleep(0.5)
for i in range({lines}):
    sys.stdout.write(f"{{time.monotonic():.6f}}\\n"); sys.stdout.flush()
    time.sleep(0.01)
"""


async def _delays(execution: object) -> list[float]:
    delays: list[float] = []
    pending = b""
    async for event in execution:  # type: ignore[attr-defined]
        if isinstance(event, RemoteOutput):
            now = time.monotonic()  # CLOCK_MONOTONIC is system-wide on Linux
            pending += event.data
            *done, pending = pending.split(b"\n")
            delays += [now - float(line) for line in done]
    return delays


def latency(args: argparse.Namespace) -> None:
    async def round_(a: str, b: str) -> tuple[list[float], list[float]]:
        async with Client(a, compression=None) as owner, Client(b, compression=None) as other:
            execution = await owner.execute(
                [sys.executable, "-c", LATENCY_CHILD.format(lines=args.lines)]
            )
            follower = await other.subscribe(execution.id)
            return await asyncio.gather(_delays(execution), _delays(follower))

    same: list[float] = []
    across: list[float] = []
    with redis() as url, node(url, "a") as (a, _), node(url, "b") as (b, _):
        for n in range(args.repeats):
            on_a, on_b = asyncio.run(round_(a, b))
            same += on_a
            across += on_b
            print(
                f"  round {n + 1}/{args.repeats}: on A median "
                f"{statistics.median(on_a) * 1000:.2f} ms, on B "
                f"{statistics.median(on_b) * 1000:.2f} ms",
                flush=True,
            )
    for name, values in (("read on A (the owner)", same), ("read on B (through Redis)", across)):
        ms = sorted(v * 1000 for v in values)
        print(
            f"{name:28s} {len(ms)} lines: median {statistics.median(ms):.2f} ms, "
            f"p90 {ms[int(len(ms) * 0.9)]:.2f} ms, max {ms[-1]:.2f} ms"
        )
    print(
        f"median B / median A: {statistics.median(across) / statistics.median(same):.2f}x "
        "(target: median on B <= 10 ms)"
    )


# -- many executions --------------------------------------------------------------------------


def concurrent(args: argparse.Namespace) -> None:
    count, size, chunk = args.executions, args.size, args.chunk

    async def one(start: str, read: str, n: int) -> bool:
        async with Client(start, compression=None) as owner, Client(read, compression=None) as r:
            execution = await owner.execute(
                [sys.executable, "-c", DIGEST_CHILD.format(size=size, n=n)],
                output_options={"encoding": "binary", "chunk_size": chunk},
                detach=True,
            )
            follower = await r.subscribe(
                execution.id, output_options={"encoding": "binary", "chunk_size": chunk}
            )
            digest = hashlib.sha256()
            async for event in follower:
                if isinstance(event, RemoteOutput):
                    digest.update(event.data)
            done = await follower.wait()
            await execution.wait()
            exact = digest.hexdigest() == expected_digest(n, size) and done.status == "completed"
            if not exact:
                print(f"  execution {n}: {done.status} {done.reason} {done.params}", flush=True)
            return exact

    async def main(a: str, b: str, procs: list[psutil.Process], url: str) -> None:
        base = [p.memory_info().rss for p in procs]
        base_redis = redis_memory(url)
        peaks = list(base)
        peak_redis = base_redis
        stop = asyncio.Event()

        async def sample() -> None:
            nonlocal peak_redis
            while not stop.is_set():
                for i, p in enumerate(procs):
                    peaks[i] = max(peaks[i], p.memory_info().rss)
                peak_redis = max(peak_redis, await asyncio.to_thread(redis_memory, url))
                await asyncio.sleep(0.1)

        sampler = asyncio.create_task(sample())
        t0 = time.perf_counter()
        results = await asyncio.gather(
            *(one(a, b, n) if n % 2 == 0 else one(b, a, n) for n in range(count))
        )
        took = time.perf_counter() - t0
        stop.set()
        await sampler
        total = count * size
        print(
            f"{count} executions of {size} bytes over two nodes, each read on the other node: "
            f"{sum(results)}/{count} byte-exact, {took:.2f} s, "
            f"{total / (1 << 20) / took:.1f} MiB/s in all"
        )
        for name, b0, peak in zip("AB", base, peaks, strict=True):
            print(
                f"  node {name}: RSS {b0 / (1 << 20):.1f} MiB, "
                f"peak +{(peak - b0) / (1 << 20):.1f} MiB"
            )
        print(
            f"  Redis used_memory {base_redis / (1 << 20):.1f} MiB, "
            f"peak +{(peak_redis - base_redis) / (1 << 20):.1f} MiB "
            f"({(peak_redis - base_redis) / total:.3f}x the bytes written)"
        )

    with redis() as url, node(url, "a") as (a, pa), node(url, "b") as (b, pb):
        asyncio.run(main(a, b, [psutil.Process(pa.pid), psutil.Process(pb.pid)], url))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    lat = sub.add_parser("latency")
    lat.add_argument("--lines", type=int, default=300)
    lat.add_argument("--repeats", type=int, default=3)
    con = sub.add_parser("concurrent")
    con.add_argument("--executions", type=int, default=64)
    con.add_argument("--size", type=parse_size, default=16 << 20)
    con.add_argument("--chunk", type=parse_size, default=1 << 20, help="frame size (1M)")
    args = parser.parse_args()
    {"latency": latency, "concurrent": concurrent}[args.what](args)


if __name__ == "__main__":
    main()
