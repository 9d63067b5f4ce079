"""Spool benchmarks, run by hand: bulk throughput, paging a big spool, a slow consumer.

    .venv/bin/python benchmarks/bench_spool.py bulk [--size-mib 1024] [--repeats 5] [--prefault]
    .venv/bin/python benchmarks/bench_spool.py paging [--lines 10000000] [--calls 200]
    .venv/bin/python benchmarks/bench_spool.py slow [--size-mb 500] [--rate-mb 1] [--repeats 3]

``bulk``: 1 GiB through ``cat``, the consumer counts bytes; spooling off against on, interleaved,
with the CPU seconds of the event loop's thread and of the spool's disk thread, and the time the
background deletion of each spool took after its run closed (not in the run's time). ``--prefault``
writes and deletes 1 GiB in the spool's file system just before each spooled round, so the page
cache gets memory the guest touched recently: on VMs that hand freed memory back to the host
(free page reporting), the first touch of a fresh page costs far more than the copy into it.
``--loop-only`` (a diagnostic) makes the disk thread publish each hand-off without writing it,
which leaves what spooling costs the event loop itself.

``paging``: a spool of 10,000,000 lines (``seq``), opened as another process would; the median
time of a page at line 9,000,000 and of a tail of 100 lines, and the bytes each call read.

``slow``: the child writes 500 MB while the consumer reads 1 MB/s; the child's time against a
spooled run nobody reads, the host's RSS growth, and a byte-exact check of everything the
consumer read once the child was done.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import psutil

import ccstream
from _common import MiB, interleave, report, write_blob
from ccstream._options import SpoolOptions
from ccstream.spool._reader import Spool
from ccstream.spool.local._remove import wait_removals


def _prefault(directory: Path, size: int) -> None:
    """Write and delete ``size`` bytes: recently freed page cache for the next writer."""
    scratch = directory / "prefault"
    block = bytes(MiB)
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(size // MiB):
            os.write(fd, block)
    finally:
        os.close(fd)
        scratch.unlink()


# -- bulk -----------------------------------------------------------------------------------------

_disk_cpu: list[float] = []


def _patch_disk_thread_timer() -> None:
    """Record each disk thread's CPU seconds (kernel included) when it ends."""
    from ccstream.spool.local import _disk as _spool_disk

    run = _spool_disk.DiskWriter._run

    def timed(self: _spool_disk.DiskWriter) -> None:
        start = time.thread_time()
        try:
            run(self)
        finally:
            _disk_cpu.append(time.thread_time() - start)

    _spool_disk.DiskWriter._run = timed  # type: ignore[method-assign]


def _bulk_once(
    path: Path, size: int, spool_dir: Path | None, backend: str, cpu: dict[str, list[float]]
) -> float:
    name = f"{backend} {'spool' if spool_dir else 'off'}"

    async def main() -> int:
        total = 0
        options = ccstream.Options(spool=SpoolOptions(directory=spool_dir) if spool_dir else None)
        async with ccstream.stream(["cat", str(path)], options) as run:
            async for event in run:
                if isinstance(event, ccstream.Output):
                    total += len(event.data)
        assert run.result.ok, run.result
        return total

    start = time.perf_counter()
    loop_cpu = time.thread_time()
    total = anyio.run(main, backend=backend)
    cpu.setdefault(f"{name} loop", []).append(time.thread_time() - loop_cpu)
    elapsed = time.perf_counter() - start
    assert total == size, total
    if spool_dir is not None:
        cpu.setdefault(f"{name} disk thread", []).append(_disk_cpu.pop())
        # The spool is deleted in the background once the run closed; wait for that outside
        # the timed part, so one round's deletion does not overlap the next round.
        waited = time.perf_counter()
        wait_removals()
        cpu.setdefault(f"{name} deletion after (wall)", []).append(time.perf_counter() - waited)
    return elapsed


def _skip_disk_writes() -> None:
    """Diagnostic: hand-offs are published as written without touching the disk."""
    from ccstream.spool.local import _disk as _spool_disk

    def submit(self: _spool_disk.DiskWriter, jobs: list[_spool_disk.Job]) -> None:
        self.state = jobs[-1].state
        self.committed_bytes += sum(job.nbytes for job in jobs)

    _spool_disk.DiskWriter.submit = submit  # type: ignore[method-assign]


def bulk(args: argparse.Namespace) -> None:
    _patch_disk_thread_timer()
    if args.loop_only:
        _skip_disk_writes()
    size = args.size_mib * MiB
    with tempfile.TemporaryDirectory(prefix="ccstream-bench-", dir=args.dir) as tmp:
        root = Path(tmp)
        path = write_blob(root, size)
        cpu: dict[str, list[float]] = {}

        def contender(backend: str, spooled: bool) -> Callable[[], float]:
            def once() -> float:
                spool_dir = root / "spool" if spooled else None
                if spooled and args.prefault:
                    _prefault(root, size)
                return _bulk_once(path, size, spool_dir, backend, cpu)

            return once

        backends = args.backends.split(",")
        contenders = [
            (f"{backend} {'spool' if spooled else 'off'}", contender(backend, spooled))
            for backend in backends
            for spooled in (False, True)
        ]
        print(
            f"{args.size_mib} MiB through cat, {args.repeats} interleaved rounds"
            + (", prefaulted page cache" if args.prefault else "")
            + (", disk writes skipped (loop-side cost only)" if args.loop_only else "")
        )
        times = interleave(contenders, args.repeats)
    for backend in backends:
        print()
        report({k: v for k, v in times.items() if k.startswith(backend)}, f"{backend} off", size)
    print("\nCPU seconds (median):")
    for name, values in cpu.items():
        print(f"  {name:34s} {statistics.median(values):7.3f}")


# -- paging ---------------------------------------------------------------------------------------


class _ReadCounter:
    """Counts the bytes ``os.pread`` and ``os.preadv`` return while active (the spool reads
    with those only: ``preadv`` where it asks for the page cache alone)."""

    def __init__(self) -> None:
        self.bytes = 0
        self._pread = os.pread
        self._preadv = getattr(os, "preadv", None)

    def __enter__(self) -> _ReadCounter:
        pread, preadv = self._pread, self._preadv

        def counting(fd: int, n: int, offset: int) -> bytes:
            data = pread(fd, n, offset)
            self.bytes += len(data)
            return data

        os.pread = counting
        if preadv is not None:

            def counting_v(fd: int, buffers: Any, offset: int, flags: int = 0) -> int:
                n: int = preadv(fd, buffers, offset, flags)
                self.bytes += n
                return n

            os.preadv = counting_v
        return self

    def __exit__(self, *exc: object) -> None:
        os.pread = self._pread
        if self._preadv is not None:
            os.preadv = self._preadv


async def _timed(fn: Callable[[], Awaitable[object]], calls: int) -> tuple[float, int]:
    times = []
    with _ReadCounter() as counter:
        for _ in range(calls):
            start = time.perf_counter()
            await fn()
            times.append(time.perf_counter() - start)
    return statistics.median(times), counter.bytes // calls


def paging(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="ccstream-bench-", dir=args.dir) as tmp:
        spool_dir = Path(tmp) / "spool"

        async def make() -> ccstream.Result:
            options = ccstream.Options(spool=SpoolOptions(directory=spool_dir, keep=True))
            async with ccstream.stream(["seq", "0", str(args.lines - 1)], options) as run:
                await run.wait()
            return run.result

        start = time.perf_counter()
        result = anyio.run(make)
        took = time.perf_counter() - start
        size = result.stdout.bytes
        print(
            f"spool of {result.stdout.lines:,} lines ({size / MiB:.1f} MiB) written in "
            f"{took:.2f} s; index {os.path.getsize(spool_dir / 'stdout.idx') / 1024:.1f} KiB, "
            f"order log {os.path.getsize(spool_dir / 'order.log') / 1024:.1f} KiB"
        )
        anyio.run(_page_calls, spool_dir, args.lines, args.calls, size)


async def _page_calls(spool_dir: Path, lines: int, calls: int, size: int) -> None:
    target = lines * 9 // 10
    with Spool.open(spool_dir) as spool:
        page = await spool.page(target, 100)
        assert page.lines[0] == f"{target}\n".encode(), page.lines[:1]
        assert len(page.lines) == 100
        tail = await spool.tail(100)
        assert tail.lines[-1] == f"{lines - 1}\n".encode()
        for label, fn in (
            (f"page(line={target:,}, count=100)", lambda: spool.page(target, 100)),
            (f"page(line={target:,}, count=1000)", lambda: spool.page(target, 1000)),
            ("tail(100)", lambda: spool.tail(100)),
            ("Spool.open + page + close", lambda: _open_page(spool_dir, target)),
        ):
            median, read = await _timed(fn, calls)
            print(
                f"  {label:34s} median {median * 1000:6.3f} ms, "
                f"read {read / 1024:7.1f} KiB of {size / MiB:.1f} MiB per call"
            )


async def _open_page(path: Path, line: int) -> None:
    with Spool.open(path) as spool:
        await spool.page(line, 100)


# -- slow consumer --------------------------------------------------------------------------------


class _RssSampler:
    """Samples this process's RSS every ``interval`` seconds in a thread; keeps the peak."""

    def __init__(self, interval: float = 0.02) -> None:
        self._process = psutil.Process()
        self.start = self.peak = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> _RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


def _slow_once(path: Path, spool_dir: Path, rate: float | None) -> tuple[float, int, str]:
    """One spooled run of ``cat path``: the child's time, the RSS growth, and the SHA-256 of
    what the consumer read (``rate`` bytes/s while the child runs; ``None``: nobody reads)."""

    async def main() -> tuple[float, str]:
        digest = hashlib.sha256()
        options = ccstream.Options(spool=SpoolOptions(directory=spool_dir))
        async with ccstream.stream(["cat", str(path)], options) as run:
            if rate is None:
                await run.wait()
            else:
                start = time.monotonic()
                read = 0
                async for event in run:
                    if isinstance(event, ccstream.Output):
                        digest.update(event.data)
                        read += len(event.data)
                        if not run.spool.complete:
                            # Keep to the rate while the child runs; once it is done, catch up.
                            await anyio.sleep(max(0.0, start + read / rate - time.monotonic()))
        assert run.result.ok
        return run.result.duration, digest.hexdigest()

    with _RssSampler() as rss:
        duration, digest = anyio.run(main)
    shutil.rmtree(spool_dir, ignore_errors=True)
    return duration, rss.peak - rss.start, digest


def slow(args: argparse.Namespace) -> None:
    size = args.size_mb * 1_000_000
    rate = args.rate_mb * 1_000_000
    with tempfile.TemporaryDirectory(prefix="ccstream-bench-", dir=args.dir) as tmp:
        root = Path(tmp)
        path = write_blob(root, size)
        expected = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{args.size_mb} MB through cat, spooled; consumer at {args.rate_mb} MB/s")
        results: dict[str, list[tuple[float, int, str]]] = {"nobody reads": [], "slow reader": []}
        for round_ in range(args.repeats):
            for name, r in (("nobody reads", None), ("slow reader", rate)):
                results[name].append(_slow_once(path, root / "spool", r))
                duration, grown, _ = results[name][-1]
                print(
                    f"  round {round_ + 1}/{args.repeats}: {name}: child {duration:.3f} s, "
                    f"RSS +{grown / MiB:.1f} MiB",
                    flush=True,
                )
    base = [d for d, _, _ in results["nobody reads"]]
    slow_times = [d for d, _, _ in results["slow reader"]]
    ratios = [s / b for s, b in zip(slow_times, base, strict=True)]
    print(f"child time, nobody reads: median {statistics.median(base):.3f} s")
    print(f"child time, slow reader:  median {statistics.median(slow_times):.3f} s")
    print(f"slow / nobody: median ratio {statistics.median(ratios):.2f}x (bar: 1.2x)")
    grown = max(g for _, g, _ in results["slow reader"])
    print(f"host RSS growth with the slow reader: at most {grown / MiB:.1f} MiB (bar: 32 MiB)")
    exact = all(d == expected for _, _, d in results["slow reader"])
    print(f"every byte read back, byte-exact (SHA-256): {exact}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", help="where the spools go (default: the temp directory)")
    sub = parser.add_subparsers(dest="bench", required=True)
    p = sub.add_parser("bulk")
    p.add_argument("--size-mib", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--backends", default="asyncio,trio")
    p.add_argument("--prefault", action="store_true")
    p.add_argument("--loop-only", action="store_true")
    p = sub.add_parser("paging")
    p.add_argument("--lines", type=int, default=10_000_000)
    p.add_argument("--calls", type=int, default=200)
    p = sub.add_parser("slow")
    p.add_argument("--size-mb", type=int, default=500)
    p.add_argument("--rate-mb", type=float, default=1.0)
    p.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    {"bulk": bulk, "paging": paging, "slow": slow}[args.bench](args)


if __name__ == "__main__":
    main()
