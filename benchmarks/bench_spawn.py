"""Per-run cost of a tiny command: ``await ccstream.run(["true"])``, many times in one process.

With ``--src DIR`` (repeatable) each contender imports ccstream from that source tree (a
checkout's ``src``), so two versions can be compared; rounds are interleaved (A, B, A, B, ...)
and each round is a fresh process that times ``--runs`` runs after one warm-up run (which
starts the watchdog, where there is one).

    .venv/bin/python benchmarks/bench_spawn.py --src /tmp/base/src --src src [--rounds 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

CHILD = """
import statistics, sys, time
import anyio, ccstream

async def main(runs):
    await ccstream.run(["true"])
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await ccstream.run(["true"])
        times.append(time.perf_counter() - t0)
    print(statistics.median(times))

anyio.run(main, int(sys.argv[1]), backend=sys.argv[2])
"""


def one_round(src: str, runs: int, backend: str) -> float:
    env = {**os.environ, "PYTHONPATH": os.path.abspath(src)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(runs), backend],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", action="append", default=[])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--backend", default="asyncio")
    args = parser.parse_args()
    sources = args.src or ["src"]
    medians: dict[str, list[float]] = {s: [] for s in sources}
    for r in range(args.rounds):
        for src in sources:
            medians[src].append(one_round(src, args.runs, args.backend))
        print(
            f"  round {r + 1}: " + ", ".join(f"{s} {medians[s][-1] * 1e6:.0f} µs" for s in sources),
            flush=True,
        )
    base = medians[sources[0]]
    for src, values in medians.items():
        ratios = [v / b for v, b in zip(values, base, strict=True)]
        print(
            f"{src:40s} median per run {statistics.median(values) * 1e6:7.0f} µs, "
            f"cost vs {sources[0]}: {statistics.median(ratios):.3f}x"
        )


if __name__ == "__main__":
    main()
