"""PTY mode's read path: bytes through a pseudo-terminal against a pipe, the consumer only
counts bytes.

Contenders, interleaved: a plain blocking ``os.read`` loop over a PTY's master side (output
processing off, as ccstream sets it: the baseline), ccstream with ``Options(pty=True)`` on
asyncio and on trio, and ccstream on a pipe (the same command, for scale).

    .venv/bin/python benchmarks/bench_pty.py [--size-mib 256] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time

import ccstream
from _common import interleave, report, time_stream
from ccstream._pty import Pty
from ccstream._terminal import open_terminal, read_terminal


def plain_pty(size: int) -> float:
    master, slave = open_terminal(Pty())
    os.set_blocking(master, True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(["head", "-c", str(size), "/dev/zero"], stdout=slave, stderr=slave)
    os.close(slave)
    total = 0
    while chunk := read_terminal(master, 1 << 16):
        total += len(chunk)
    proc.wait()
    os.close(master)
    assert total == size, total
    return time.perf_counter() - t0


def ccstream_on(backend: str, size: int, *, pty: bool) -> float:
    argv = ["head", "-c", str(size), "/dev/zero"]
    return time_stream(backend, argv, ccstream.Options(pty=pty), size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    size = args.size_mib << 20
    print(f"{args.size_mib} MiB of head -c /dev/zero, {args.repeats} interleaved rounds")
    times = interleave(
        [
            ("plain blocking os.read (PTY)", lambda: plain_pty(size)),
            ("ccstream asyncio, PTY", lambda: ccstream_on("asyncio", size, pty=True)),
            ("ccstream trio, PTY", lambda: ccstream_on("trio", size, pty=True)),
            ("ccstream asyncio, pipe", lambda: ccstream_on("asyncio", size, pty=False)),
        ],
        args.repeats,
    )
    report(times, "plain blocking os.read (PTY)", size)


if __name__ == "__main__":
    main()
