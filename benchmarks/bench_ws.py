"""The WebSocket adapter's benchmarks, by hand: throughput, the seed's workload, latency, many
clients. Every server runs as its own process on loopback; contenders are interleaved.

    .venv/bin/python benchmarks/bench_ws.py throughput [--size 1G] [--repeats 3] [--chunk 64K]
        [--encoding binary|text] [--baseline OTHER_CHECKOUT/src]
    .venv/bin/python benchmarks/bench_ws.py syscalls [--size 64M] [--chunk 64K]
    .venv/bin/python benchmarks/bench_ws.py ping [--size 1G] [--baseline OTHER_CHECKOUT/src]
    .venv/bin/python benchmarks/bench_ws.py seed [--lines 1000000] [--repeats 3]
    .venv/bin/python benchmarks/bench_ws.py latency [--lines 300]
    .venv/bin/python benchmarks/bench_ws.py concurrent [--clients 64] [--size 16M]
    .venv/bin/python benchmarks/bench_ws.py slow [--size 200M] [--rate 1M]

``throughput``: a file of --size bytes of 100-character lines sent by ``cat`` to a loopback client
in frames of --chunk bytes (binary, or JSON text with ``--encoding text``), through ccstream-ws,
against the core's own throughput (in process, no network), Debian's ``websocketd --binary`` on
the same file (skipped when not installed) and, with ``--baseline``, ccstream-ws served from
another checkout's ``src`` (``PYTHONPATH``).
``syscalls``: one ``throughput`` transfer with the server under ``strace -c -f``: system calls
per message, and the frames read back from the spool files (at most one ``pread64`` each: the
rest came from the spool's memory).
``ping``: a ``ping`` request every 20 ms during a bulk ``throughput`` transfer, on its own
connection and on a second one; the time to each answer.
``seed``: scripts/large_output.py --no-sleep in text frames, against the script piped into
``cat > /dev/null``; also messages per MB.
``latency``: a child writes a line every 10 ms; time from its write to the client's receipt.
``concurrent``: N executions of --size bytes each to N clients at once; byte-exact, and the
server's RSS growth.
``slow``: a child writes --size bytes while its client reads --rate bytes per second: the child's
run time against the same child with no consumer (piped into ``cat > /dev/null``) and with a
fast client, how much the slow client had when the run ended, the server's RSS growth,
byte-exact.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hashlib
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import psutil
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

import ccstream
from _common import (
    DIGEST_CHILD,
    expected_digest,
    free_port,
    interleave,
    report,
    seed_piped_to_cat,
    wait_port,
)
from ccstream.cli import parse_size
from ccstream_ws import Client, RemoteOutput

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = str(ROOT / "scripts" / "large_output.py")
BIN = Path(sys.executable).parent
MiB = 1 << 20
CHUNK = 64 * 1024
"""Frame size of ``throughput`` unless ``--chunk`` says otherwise (the adapter's default)."""


@contextlib.contextmanager
def ws_server(*extra: str, src: str | None = None) -> Iterator[tuple[str, int]]:
    """``ccstream-ws serve`` on a free port (from the checkout ``src`` when given); yields
    (url, pid)."""
    port = free_port()
    env = None
    if src is not None:
        env = {**os.environ, "PYTHONPATH": src}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from ccstream_ws.cli import main; main()",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
            *extra,
        ],
        env=env,
    )
    try:
        wait_port(port, proc, within=15)
        yield f"ws://127.0.0.1:{port}/ws", proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


def make_file(size: int) -> str:
    """A file of ``size`` bytes of 100-character lines (99 printable characters and a newline)."""
    fd, path = tempfile.mkstemp(prefix="bench_ws_")
    alphabet = bytes(range(0x21, 0x7F))
    rows = bytes(alphabet[b % len(alphabet)] for b in os.urandom(99 * 128))
    lines = b"".join(rows[i * 99 : (i + 1) * 99] + b"\n" for i in range(128))
    block = (lines * (MiB // len(lines) + 1))[:MiB]
    with os.fdopen(fd, "wb") as f:
        for _ in range(size // MiB):
            f.write(block)
        f.write(block[: size % MiB])
    return path


# -- throughput ---------------------------------------------------------------------------------


def _core_cat(path: str, size: int, options: ccstream.Options) -> float:
    async def main() -> None:
        total = 0
        async with ccstream.stream(["cat", path], options) as run:
            async for event in run:
                if isinstance(event, ccstream.Output):
                    total += len(event.data)
        assert total == size

    t0 = time.perf_counter()
    anyio.run(main)
    return time.perf_counter() - t0


def core_cat(path: str, size: int) -> float:
    """The core's own throughput: unspooled, no line count."""
    return _core_cat(path, size, ccstream.Options(count_lines=False))


def core_spooled_cat(path: str, size: int, chunk: int) -> float:
    """The core as the adapter drives it: frames of ``chunk`` bytes, spooled with the adapter's
    per-execution spool options, no network."""
    from ccstream_ws.server._budget import memory_pool, spool_options
    from ccstream_ws.server._config import ServerConfig

    # Removed when the run closes (the adapter keeps it for its retention time).
    options = spool_options(ServerConfig(), "bench", chunk, pool=memory_pool())
    spool = dataclasses.replace(options, keep=False)
    return _core_cat(path, size, ccstream.Options(chunk_size=chunk, read_size=MiB, spool=spool))


def ws_cat(url: str, path: str, size: int, chunk: int, encoding: str) -> float:
    async def main() -> None:
        total = 0
        async with Client(url, compression=None) as client:
            execution = await client.execute(
                ["cat", path], output_options={"encoding": encoding, "chunk_size": chunk}
            )
            async for event in execution:
                if isinstance(event, RemoteOutput):
                    total += len(event.data)
        assert total == size, (total, size)

    t0 = time.perf_counter()
    asyncio.run(main())
    return time.perf_counter() - t0


def websocketd_cat(port: int, size: int) -> float:
    async def main() -> None:
        total = 0
        async with connect(f"ws://127.0.0.1:{port}/", compression=None, max_size=None) as ws:
            with contextlib.suppress(ConnectionClosed):
                async for message in ws:
                    total += len(message)
        assert total == size, (total, size)

    t0 = time.perf_counter()
    asyncio.run(main())
    return time.perf_counter() - t0


def server_cpu(pid: int, cpu: list[float], fn: Callable[[], float]) -> Callable[[], float]:
    """``fn``, noting the CPU seconds (user and system, all threads) process ``pid`` spent
    during each call in ``cpu``: unlike wall time, near the same on a loaded machine."""
    process = psutil.Process(pid)

    def timed() -> float:
        before = process.cpu_times()
        elapsed = fn()
        after = process.cpu_times()
        cpu.append(after.user + after.system - before.user - before.system)
        return elapsed

    return timed


def throughput(args: argparse.Namespace) -> None:
    size, chunk, encoding = args.size, args.chunk, args.encoding
    cpu: dict[str, list[float]] = {}
    path = make_file(size)
    print(
        f"throughput: {size / MiB:.0f} MiB of 100-character lines from cat, "
        f"{encoding} frames of {chunk // 1024} KiB"
    )
    ours = f"ccstream-ws {encoding} frames"
    try:
        with contextlib.ExitStack() as stack:
            url, pid = stack.enter_context(ws_server())
            contenders = [
                ("core in-process (no network)", lambda: core_cat(path, size)),
                ("core spooled as the adapter", lambda: core_spooled_cat(path, size, chunk)),
                (
                    ours,
                    server_cpu(
                        pid,
                        cpu.setdefault(ours, []),
                        lambda: ws_cat(url, path, size, chunk, encoding),
                    ),
                ),
            ]
            if args.baseline:
                base_url, base_pid = stack.enter_context(ws_server(src=args.baseline))
                name = f"baseline {encoding} frames"
                contenders.append(
                    (
                        name,
                        server_cpu(
                            base_pid,
                            cpu.setdefault(name, []),
                            lambda: ws_cat(base_url, path, size, chunk, encoding),
                        ),
                    )
                )
            websocketd = shutil.which("websocketd")
            if websocketd:
                port = free_port()
                proc = subprocess.Popen(
                    [
                        websocketd,
                        "--binary",
                        "--port",
                        str(port),
                        "--address",
                        "127.0.0.1",
                        "--loglevel",
                        "error",
                        "cat",
                        path,
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                stack.callback(proc.wait, 10)
                stack.callback(proc.terminate)
                wait_port(port, proc, within=15)
                name = "websocketd --binary"
                contenders.append(
                    (
                        name,
                        server_cpu(
                            proc.pid, cpu.setdefault(name, []), lambda: websocketd_cat(port, size)
                        ),
                    )
                )
            else:
                print("  websocketd not installed: skipped")
            times = interleave(contenders, args.repeats)
        report(times, ours, size)
        print("server CPU (user + system, median):")
        for name, values in cpu.items():
            per_gib = statistics.median(values) * (1 << 30) / size
            print(
                f"  {name:32s} {per_gib:.2f} s per GiB, "
                f"{per_gib * 1e6 / ((1 << 30) / chunk):.0f} us per {chunk // 1024} KiB of output"
            )
    finally:
        os.unlink(path)


def syscalls(args: argparse.Namespace) -> None:
    size, chunk = args.size, args.chunk
    path = make_file(size)
    out = Path(tempfile.mkdtemp(prefix="bench_ws_strace_")) / "strace.txt"
    messages: list[int] = []

    async def main(url: str) -> None:
        total = 0
        async with Client(url, compression=None) as client:
            execution = await client.execute(
                ["cat", path], output_options={"encoding": "binary", "chunk_size": chunk}
            )
            async for event in execution:
                if isinstance(event, RemoteOutput):
                    total += len(event.data)
        assert total == size, (total, size)
        assert execution.completion is not None
        messages.append(int(execution.completion.params["messages"]))

    try:
        with ws_server() as (url, pid):
            asyncio.run(main(url))  # a warm-up, not traced
            messages.clear()
            tracer = subprocess.Popen(
                ["strace", "-c", "-f", "-o", str(out), "-p", str(pid)], stderr=subprocess.DEVNULL
            )
            time.sleep(1.0)  # strace attaches to every thread
            asyncio.run(main(url))
            tracer.send_signal(2)
            tracer.wait(30)
        calls: dict[str, int] = {}
        for line in out.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 5 and fields[0][0].isdigit() and fields[-1] != "total":
                calls[fields[-1]] = int(fields[3])
    finally:
        os.unlink(path)
        shutil.rmtree(out.parent, ignore_errors=True)
    n = messages[0]
    total = sum(calls.values())
    top = sorted(calls.items(), key=lambda kv: -kv[1])[:10]
    read_back = calls.get("pread64", 0)
    print(
        f"syscalls: {size / MiB:.0f} MiB in {n} binary messages of {chunk // 1024} KiB: "
        f"{total / n:.1f} system calls per message in the server (strace -c -f)\n  "
        + ", ".join(f"{name} {count / n:.2f}" for name, count in top)
        + f"\n  frames read back from the spool files: at most {read_back} (pread64), "
        f"so at least {100 * (1 - read_back / n):.1f}% of the frames came from memory"
    )


def _ping_during_bulk(url: str, path: str, size: int, chunk: int) -> dict[str, list[float]]:
    """Seconds to each ``ping`` answer during one bulk transfer: sent every 20 ms on the
    transfer's own connection (the answer queues behind what the sockets hold) and on a second
    connection (the server's own delay)."""
    waits: dict[str, list[float]] = {"same connection": [], "second connection": []}

    async def main() -> None:
        total = 0
        done = asyncio.Event()

        async def pings(client: Client, name: str) -> None:
            while not done.is_set():
                await asyncio.sleep(0.02)
                t0 = time.perf_counter()
                await client.call("ping")
                if not done.is_set():
                    waits[name].append(time.perf_counter() - t0)

        async with Client(url, compression=None) as client, Client(url) as other:
            execution = await client.execute(
                ["cat", path], output_options={"encoding": "binary", "chunk_size": chunk}
            )
            tasks = [
                asyncio.create_task(pings(client, "same connection")),
                asyncio.create_task(pings(other, "second connection")),
            ]
            async for event in execution:
                if isinstance(event, RemoteOutput):
                    total += len(event.data)
            done.set()
            await asyncio.gather(*tasks)
        assert total == size, (total, size)

    asyncio.run(main())
    return waits


def ping(args: argparse.Namespace) -> None:
    size = args.size
    path = make_file(size)
    print(f"ping every 20 ms during a bulk stream of {size / MiB:.0f} MiB (target: within 20 ms)")
    try:
        servers = [("ccstream-ws", None)]
        if args.baseline:
            servers.append(("baseline", args.baseline))
        for name, src in servers:
            with ws_server(src=src) as (url, _):
                for where, values in _ping_during_bulk(url, path, size, args.chunk).items():
                    ms = sorted(w * 1000 for w in values)
                    print(
                        f"  {name}, {where}: {len(ms)} answers, median {statistics.median(ms):.2f}"
                        f" ms, p90 {ms[int(len(ms) * 0.9)]:.2f} ms, max {ms[-1]:.2f} ms"
                    )
    finally:
        os.unlink(path)


# -- the seed's workload -------------------------------------------------------------------------


def ws_seed(url: str, lines: int, counts: list[float]) -> float:
    async def main() -> None:
        total = 0
        async with Client(url, compression=None) as client:
            execution = await client.execute(
                [sys.executable, SCRIPT, "--lines", str(lines), "--no-sleep"]
            )
            async for event in execution:
                if isinstance(event, RemoteOutput):
                    total += len(event.data)
        assert execution.completion is not None
        assert execution.completion.status == "completed"
        stats = execution.completion.params
        assert stats["stdout"]["lines"] == lines
        counts.append(
            stats["messages"] / ((stats["stdout"]["bytes"] + stats["stderr"]["bytes"]) / 1e6)
        )

    t0 = time.perf_counter()
    asyncio.run(main())
    return time.perf_counter() - t0


def seed(args: argparse.Namespace) -> None:
    print(f"seed: scripts/large_output.py --lines {args.lines} --no-sleep, text frames")
    counts: list[float] = []
    with ws_server() as (url, _):
        times = interleave(
            [
                ("piped into cat > /dev/null", lambda: seed_piped_to_cat(args.lines)),
                ("ccstream-ws text frames", lambda: ws_seed(url, args.lines, counts)),
            ],
            args.repeats,
        )
    report(times, "piped into cat > /dev/null")
    ratios = [
        w / c
        for w, c in zip(
            times["ccstream-ws text frames"], times["piped into cat > /dev/null"], strict=True
        )
    ]
    print(
        f"wall time ccstream-ws / piped: median {statistics.median(ratios):.2f}x "
        f"(target <= 1.3x); messages per MB: median {statistics.median(counts):.1f} "
        f"(target <= 20)"
    )


# -- latency --------------------------------------------------------------------------------------

LATENCY_CHILD = """
import sys, time
for i in range({lines}):
    sys.stdout.write(f"{{time.monotonic():.6f}}\\n"); sys.stdout.flush()
    time.sleep(0.01)
"""


def latency(args: argparse.Namespace) -> None:
    async def main(url: str) -> list[float]:
        delays: list[float] = []
        async with Client(url, compression=None) as client:
            execution = await client.execute(
                [sys.executable, "-c", LATENCY_CHILD.format(lines=args.lines)]
            )
            pending = b""
            async for event in execution:
                if isinstance(event, RemoteOutput):
                    now = time.monotonic()  # CLOCK_MONOTONIC is system-wide on Linux
                    pending += event.data
                    *done, pending = pending.split(b"\n")
                    delays += [now - float(line) for line in done]
        return delays

    with ws_server() as (url, _):
        delays = asyncio.run(main(url))
    delays.sort()
    ms = [d * 1000 for d in delays]
    print(
        f"latency over {len(ms)} lines, one every 10 ms: median {statistics.median(ms):.2f} ms, "
        f"p90 {ms[int(len(ms) * 0.9)]:.2f} ms, max {ms[-1]:.2f} ms (target: median <= 5 ms)"
    )


# -- many clients ---------------------------------------------------------------------------------


def concurrent(args: argparse.Namespace) -> None:
    clients, size = args.clients, args.size

    async def one(url: str, n: int) -> bool:
        digest = hashlib.sha256()
        async with Client(url, compression=None) as client:
            execution = await client.execute(
                [sys.executable, "-c", DIGEST_CHILD.format(size=size, n=n)],
                output_options={"encoding": "binary"},
            )
            async for event in execution:
                if isinstance(event, RemoteOutput):
                    digest.update(event.data)
        return digest.hexdigest() == expected_digest(n, size)

    async def main(url: str) -> list[bool]:
        return list(await asyncio.gather(*(one(url, n) for n in range(clients))))

    with ws_server("--max-executions", str(clients), "--max-connections", str(clients + 8)) as (
        url,
        pid,
    ):
        server = psutil.Process(pid)
        time.sleep(0.5)
        base = server.memory_info().rss
        peak = base
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                with contextlib.suppress(psutil.Error):
                    peak = max(peak, server.memory_info().rss)
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        t0 = time.perf_counter()
        try:
            results = asyncio.run(main(url))
        finally:
            stop.set()
            sampler.join()
        elapsed = time.perf_counter() - t0
    total = clients * size
    print(
        f"concurrent: {clients} executions x {size / MiB:.0f} MiB to {clients} clients: "
        f"{sum(results)}/{clients} byte-exact, {elapsed:.2f} s "
        f"({total / MiB / elapsed:.0f} MiB/s); server RSS {base / MiB:.0f} -> peak "
        f"{peak / MiB:.0f} MiB, growth {(peak - base) / MiB:.1f} MiB (target <= 128 MiB)"
    )


# -- a slow client -------------------------------------------------------------------------------


class RssPeak:
    """Samples a process's RSS in a thread while the ``with`` block runs."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.base = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


async def _read_at(url: str, command: list[str], size: int, rate: float | None) -> dict[str, float]:
    """Run ``command`` and read its stdout at ``rate`` bytes/s (None: as fast as it comes)."""
    digest = hashlib.sha256()
    received = 0
    at_end: list[int] = []
    t0 = time.perf_counter()

    async def watch(execution_id: str) -> None:
        # From a second connection: how much the client had when the run ended.
        async with Client(url) as watcher:
            while not (await watcher.status(execution_id)).ended:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        at_end.append(received)

    async with Client(url, compression=None, queue_size=2) as client:
        execution = await client.execute(
            command, output_options={"encoding": "binary", "chunk_size": 65536}
        )
        watcher = asyncio.create_task(watch(execution.id))
        async for event in execution:
            if isinstance(event, RemoteOutput):
                digest.update(event.data)
                received += len(event.data)
                if rate is not None:
                    await asyncio.sleep(max(0.0, received / rate - (time.perf_counter() - t0)))
        await watcher
    completion = execution.completion
    assert completion is not None
    assert completion.status == "completed", completion
    assert received == size, (received, size)
    return {
        "child": float(completion.execution_time or 0),
        "client": time.perf_counter() - t0,
        "at_end": float(at_end[0]),
        "exact": float(digest.hexdigest() == expected_digest(0, size)),
    }


def slow(args: argparse.Namespace) -> None:
    size, rate = args.size, args.rate
    command = [sys.executable, "-c", DIGEST_CHILD.format(size=size, n=0)]
    print(
        f"slow client: a child writes {size / MiB:.0f} MiB, its client reads "
        f"{rate / MiB:.2f} MiB/s (about {size / rate:.0f} s)"
    )
    t0 = time.perf_counter()
    subprocess.run(shlex.join(command) + " | cat > /dev/null", shell=True, check=True)
    alone = time.perf_counter() - t0
    with ws_server() as (url, pid):
        fast = asyncio.run(_read_at(url, command, size, None))
        time.sleep(0.5)
        with RssPeak(pid) as rss:
            slow_run = asyncio.run(_read_at(url, command, size, rate))
    print(
        f"  no consumer (piped into cat > /dev/null): {alone:.2f} s; with a fast client: child "
        f"{fast['child']:.2f} s\n"
        f"  with the slow client: child {slow_run['child']:.2f} s "
        f"({slow_run['child'] / alone:.2f}x no consumer), client {slow_run['client']:.1f} s; "
        f"the client had {slow_run['at_end'] / MiB:.1f} MiB when the run ended\n"
        f"  byte-exact: {'yes' if slow_run['exact'] and fast['exact'] else 'NO'}; server RSS "
        f"{rss.base / MiB:.0f} -> peak {rss.peak / MiB:.0f} MiB, growth "
        f"{(rss.peak - rss.base) / MiB:.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "which",
        choices=["throughput", "syscalls", "ping", "seed", "latency", "concurrent", "slow"],
    )
    parser.add_argument("--size", type=parse_size, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lines", type=int, default=None)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--rate", type=parse_size, default=MiB, help="slow: bytes per second")
    parser.add_argument("--chunk", type=parse_size, default=CHUNK, help="throughput: frame bytes")
    parser.add_argument("--encoding", choices=["binary", "text"], default="binary")
    parser.add_argument("--baseline", help="throughput: another checkout's src to serve from")
    args = parser.parse_args()
    if args.which == "throughput":
        args.size = args.size or 1 << 30
        throughput(args)
    elif args.which == "syscalls":
        args.size = args.size or 64 * MiB
        syscalls(args)
    elif args.which == "ping":
        args.size = args.size or 1 << 30
        ping(args)
    elif args.which == "seed":
        args.lines = args.lines or 1_000_000
        seed(args)
    elif args.which == "latency":
        args.lines = args.lines or 300
        latency(args)
    elif args.which == "slow":
        args.size = args.size or 200 * MiB
        slow(args)
    else:
        args.size = args.size or 16 * MiB
        concurrent(args)


if __name__ == "__main__":
    main()
