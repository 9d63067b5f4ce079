"""Shared helpers for the hand-run benchmarks: interleaved repeats and median ratios.

These machines are shared and noisy, so no figure is absolute: every contender runs in the same
process run, interleaved (A, B, C, A, B, C, ...), and we report medians and median ratios.
"""

from __future__ import annotations

import hashlib
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio

import ccstream

SEED_SCRIPT = str(Path(__file__).resolve().parent.parent / "scripts" / "large_output.py")
"""The seed's large-output script."""

MiB = 1 << 20

DIGEST_CHILD = """
import hashlib, sys
size = {size}
block = hashlib.sha256(b"%d" % {n}).digest() * 2048
out = sys.stdout.buffer
while size > 0:
    out.write(block[:size]); size -= len(block)
"""
"""A child writing ``size`` bytes of a pattern of its own (``n``) on stdout; ``.format`` it."""


def expected_digest(n: int, size: int) -> str:
    """The SHA-256 (hex) of what :data:`DIGEST_CHILD` writes for ``n`` and ``size``."""
    block = hashlib.sha256(b"%d" % n).digest() * 2048
    digest = hashlib.sha256()
    left = size
    while left > 0:
        digest.update(block[:left])
        left -= len(block)
    return digest.hexdigest()


def write_blob(directory: Path, size: int) -> Path:
    """A file of ``size`` random bytes in ``directory`` (one random MiB repeated)."""
    path = directory / f"blob-{size}"
    with path.open("wb") as f:
        block = os.urandom(MiB)
        for _ in range(size // MiB):
            f.write(block)
        f.write(block[: size % MiB])
    return path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 (the kernel's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], within: float = 20.0) -> None:
    """Return once 127.0.0.1:``port`` accepts; :class:`RuntimeError` when ``proc`` ended or
    ``within`` seconds passed first."""
    deadline = time.monotonic() + within
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("the server exited") from None
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start") from None
            time.sleep(0.05)


def time_stream(backend: str, argv: list[str], options: ccstream.Options, size: int) -> float:
    """Seconds for ``ccstream.stream(argv, options)`` read to its end on ``backend``, checking
    that the run succeeded and its output was ``size`` bytes."""

    async def main() -> int:
        total = 0
        async with ccstream.stream(argv, options) as run:
            async for event in run:
                if isinstance(event, ccstream.Output):
                    total += len(event.data)
        assert run.result.ok
        return total

    t0 = time.perf_counter()
    total = anyio.run(main, backend=backend)
    assert total == size, total
    return time.perf_counter() - t0


def seed_piped_to_cat(lines: int) -> float:
    """Seconds for the seed's script (``lines`` lines, no sleeps, ``PYTHONUNBUFFERED=1``) piped
    into ``cat > /dev/null``: the baseline of the seed workload benchmarks."""
    t0 = time.perf_counter()
    subprocess.run(
        f"{sys.executable} {SEED_SCRIPT} --lines {lines} --no-sleep | cat > /dev/null",
        shell=True,
        check=True,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    return time.perf_counter() - t0


def interleave(
    contenders: Sequence[tuple[str, Callable[[], float]]], repeats: int
) -> dict[str, list[float]]:
    """Run each contender ``repeats`` times, interleaved; each call returns seconds taken."""
    times: dict[str, list[float]] = {name: [] for name, _ in contenders}
    for round_ in range(repeats):
        for name, fn in contenders:
            times[name].append(fn())
        print(
            f"  round {round_ + 1}/{repeats}: "
            + ", ".join(f"{name} {times[name][-1]:.3f}s" for name, _ in contenders),
            flush=True,
        )
    return times


def report(times: dict[str, list[float]], baseline: str, size: int | None = None) -> None:
    """Print the median time (and MiB/s when ``size`` bytes were moved) and the median of the
    per-round ratios against ``baseline`` (>1 means faster than the baseline)."""
    base = times[baseline]
    for name, values in times.items():
        ratios = [b / v for b, v in zip(base, values, strict=True)]
        rate = f", {size / (1 << 20) / statistics.median(values):8.1f} MiB/s" if size else ""
        print(
            f"{name:34s} median {statistics.median(values):7.3f}s{rate}, "
            f"speed vs {baseline}: {statistics.median(ratios):.2f}x"
        )
