"""Shared helpers for the hand-run benchmarks: interleaved repeats and median ratios.

These machines are shared and noisy, so no figure is absolute: every contender runs in the same
process run, interleaved (A, B, C, A, B, C, ...), and we report medians and median ratios.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

SEED_SCRIPT = str(Path(__file__).resolve().parent.parent / "scripts" / "large_output.py")
"""The seed's large-output script."""


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
