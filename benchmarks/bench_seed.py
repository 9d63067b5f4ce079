"""The seed's workload: 1,000,000 lines of ~110 bytes from Python, PYTHONUNBUFFERED=1, no sleeps.

Contenders, interleaved: the script piped into ``cat > /dev/null`` (the baseline), the script run
through ccstream in-process (asyncio and trio; the consumer counts bytes), and through the
``ccstream run`` command line with stdout to /dev/null.

    .venv/bin/python benchmarks/bench_seed.py [--lines 1000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import anyio

import ccstream
from _common import SEED_SCRIPT, interleave, report, seed_piped_to_cat


def through_ccstream(backend: str, lines: int) -> float:
    async def main() -> None:
        total = 0
        command = [sys.executable, SEED_SCRIPT, "--lines", str(lines), "--no-sleep"]
        async with ccstream.stream(command) as run:
            async for event in run:
                if isinstance(event, ccstream.Output):
                    total += len(event.data)
        assert run.result.ok
        assert run.result.stdout.lines == lines

    t0 = time.perf_counter()
    anyio.run(main, backend=backend)
    return time.perf_counter() - t0


def through_cli(lines: int) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ccstream",
            "run",
            "--",
            sys.executable,
            SEED_SCRIPT,
            "--lines",
            str(lines),
            "--no-sleep",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n = args.lines
    print(f"seed workload, {n} lines, {args.repeats} interleaved rounds")
    times = interleave(
        [
            ("script | cat > /dev/null", lambda: seed_piped_to_cat(n)),
            ("ccstream asyncio", lambda: through_ccstream("asyncio", n)),
            ("ccstream trio", lambda: through_ccstream("trio", n)),
            ("ccstream run CLI > /dev/null", lambda: through_cli(n)),
        ],
        args.repeats,
    )
    report(times, "script | cat > /dev/null")
    print("(a speed of 0.87x or more is wall time within 1.15x of the baseline)")


if __name__ == "__main__":
    main()
