"""Host memory while streaming 10 MiB, 100 MiB and 1 GiB: peak RSS growth over the idle baseline.

Each measurement runs in a fresh Python process: it imports ccstream, runs a tiny warm-up command,
takes its RSS as the idle baseline, streams ``head -c SIZE /dev/zero`` (the consumer counts bytes),
and reports its peak RSS (``ru_maxrss``) minus that baseline. Sizes are interleaved over rounds.

    .venv/bin/python benchmarks/bench_memory.py [--repeats 3] [--spool]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

MiB = 1 << 20

CHILD = r"""
import json, resource, sys
import anyio, psutil
import ccstream

size = int(sys.argv[1])

async def consume(command):
    total = 0
    async with ccstream.stream(command) as run:
        async for event in run:
            if isinstance(event, ccstream.Output):
                total += len(event.data)
    return total

async def main():
    await consume(["true"])
    base = psutil.Process().memory_info().rss
    total = await consume(["head", "-c", str(size), "/dev/zero"])
    assert total == size, total
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"base": base, "peak": peak}))

anyio.run(main)
"""


def measure(size: int) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(size)], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, int] = json.loads(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = [10 * MiB, 100 * MiB, 1024 * MiB]
    growth: dict[int, list[float]] = {s: [] for s in sizes}
    base: dict[int, list[float]] = {s: [] for s in sizes}
    for round_ in range(args.repeats):
        for size in sizes:
            m = measure(size)
            growth[size].append((m["peak"] - m["base"]) / MiB)
            base[size].append(m["base"] / MiB)
        print(
            f"  round {round_ + 1}: "
            + ", ".join(f"{s // MiB} MiB +{growth[s][-1]:.1f} MiB" for s in sizes),
            flush=True,
        )
    for size in sizes:
        print(
            f"{size // MiB:5d} MiB output: idle baseline {statistics.median(base[size]):.1f} MiB, "
            f"peak growth {statistics.median(growth[size]):+.1f} MiB (median of {args.repeats})"
        )
    spread = max(statistics.median(v) for v in growth.values()) - min(
        statistics.median(v) for v in growth.values()
    )
    print(f"spread of the growth across sizes: {spread:.1f} MiB")


if __name__ == "__main__":
    main()
