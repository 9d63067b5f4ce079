"""Bulk throughput: 1 GiB through ``cat``, the consumer only counts bytes.

Contenders, interleaved: a plain blocking ``os.read`` loop over a pipe enlarged to 1 MiB (the
ceiling), the same loop counting newlines with ``bytes.count`` (the ceiling of a reader that
counts lines, as ccstream does by default), asyncio ``StreamReader.read(65536)`` (the usual
way), and ccstream on asyncio and on trio.

    .venv/bin/python benchmarks/bench_read_path.py [--size-mib 1024] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time

import ccstream
from _common import interleave, report, time_stream
from ccstream._pipes import make_pipe


def plain_read(path: str, size: int, count_lines: bool = False) -> float:
    r, w = make_pipe(nonblocking_read=False)
    t0 = time.perf_counter()
    proc = subprocess.Popen(["cat", path], stdout=w)
    os.close(w)
    total = lines = 0
    while chunk := os.read(r, 1 << 20):
        total += len(chunk)
        if count_lines:
            lines += chunk.count(b"\n")
    proc.wait()
    os.close(r)
    assert total == size, total
    return time.perf_counter() - t0


def asyncio_streamreader(path: str, size: int) -> float:
    async def main() -> int:
        proc = await asyncio.create_subprocess_exec("cat", path, stdout=asyncio.subprocess.PIPE)
        assert proc.stdout is not None
        total = 0
        while chunk := await proc.stdout.read(65536):
            total += len(chunk)
        await proc.wait()
        return total

    t0 = time.perf_counter()
    total = asyncio.run(main())
    assert total == size, total
    return time.perf_counter() - t0


def ccstream_on(backend: str, path: str, size: int, count_lines: bool = True) -> float:
    return time_stream(backend, ["cat", path], ccstream.Options(count_lines=count_lines), size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    size = args.size_mib << 20
    with tempfile.NamedTemporaryFile(prefix="ccstream-bench-") as f:
        block = os.urandom(1 << 20)
        for _ in range(args.size_mib):
            f.write(block)
        f.flush()
        path = f.name
        print(f"{args.size_mib} MiB through cat, {args.repeats} interleaved rounds")
        times = interleave(
            [
                ("plain blocking os.read (1 MiB pipe)", lambda: plain_read(path, size)),
                (
                    "plain os.read + bytes.count",
                    lambda: plain_read(path, size, count_lines=True),
                ),
                ("asyncio StreamReader.read(64 KiB)", lambda: asyncio_streamreader(path, size)),
                ("ccstream asyncio", lambda: ccstream_on("asyncio", path, size)),
                ("ccstream trio", lambda: ccstream_on("trio", path, size)),
                (
                    "ccstream asyncio, no line count",
                    lambda: ccstream_on("asyncio", path, size, count_lines=False),
                ),
                (
                    "ccstream trio, no line count",
                    lambda: ccstream_on("trio", path, size, count_lines=False),
                ),
            ],
            args.repeats,
        )
    report(times, "plain blocking os.read (1 MiB pipe)", size)
    print()
    report(times, "plain os.read + bytes.count", size)
    print()
    report(times, "asyncio StreamReader.read(64 KiB)", size)


if __name__ == "__main__":
    main()
