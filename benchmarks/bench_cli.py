"""The ``ccstream`` command line: start-up time and bulk throughput, against baselines.

``startup``: ``ccstream run -- true`` (a fresh interpreter each time, as a shell runs it),
beside an interpreter that only starts an asyncio loop (``asyncio.run`` of a no-op: the floor of
any asyncio program) and the bare interpreter (``python -c pass``); target: under 0.15 s.

``bulk``: ``ccstream run cat FILE > /dev/null`` for a file of 100-character lines (1 GiB by
default), against a plain Python read/write loop that runs the same ``cat`` (``os.read`` of
1 MiB, ``os.write`` to stdout); target: at least 0.6x the loop's speed. ``--stats`` (which counts
lines) is timed too.

Each contender's wall time and CPU time (user + system of it and the children it waited for)
are taken per round; on a loaded machine the CPU times are the steadier figure. With ``--src
DIR`` (repeatable) each ccstream contender imports ccstream from that source tree (a checkout's
``src``), so two versions can be compared in the same run. Every contender runs in the same
rounds, interleaved, after one warm-up run; the report gives medians and the median per-round
ratios. Bytecode is cached for every contender (in a cache directory of the benchmark's own,
even where ``PYTHONDONTWRITEBYTECODE`` is set), as for any installed package.

    .venv/bin/python benchmarks/bench_cli.py startup [--repeats 30] [--src OLD/src --src src]
    .venv/bin/python benchmarks/bench_cli.py bulk [--size-mib 1024] [--repeats 5] [--src ...]
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from _common import interleave

SRC = str(Path(__file__).resolve().parent.parent / "src")

CLI = "import sys; from ccstream.cli import main; sys.exit(main())"
"""What the ``ccstream`` entry-point script runs."""

LOOP = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE)
fd = child.stdout.fileno()
while data := os.read(fd, 1 << 20):
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]
sys.exit(child.wait())
"""
"""The baseline of ``bulk``: a plain Python read/write loop around the same command."""


def _env(cache: str, src: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache
    if src is not None:
        env["PYTHONPATH"] = os.path.abspath(src)
    return env


def _timed(
    argv: Sequence[str], env: dict[str, str], cpu: list[float], stdout: int | None = None
) -> float:
    """Wall seconds of one run of ``argv``; its CPU seconds (user + system, its own and its
    waited-for children's) go to ``cpu``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        argv,
        env=env,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.DEVNULL,  # --stats' report
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


Command = tuple[str, list[str], dict[str, str]]
"""A contender: its name, argv and environment."""


Results = tuple[dict[str, list[float]], dict[str, list[float]]]
"""Wall and CPU seconds per contender, one per round."""


def _race(commands: Sequence[Command], repeats: int, stdout: int | None = None) -> Results:
    """One warm-up run of each (bytecode and page caches), then ``repeats`` interleaved rounds."""
    cpu: dict[str, list[float]] = {name: [] for name, _, _ in commands}
    contenders = [
        (name, functools.partial(_timed, argv, env, cpu[name], stdout))
        for name, argv, env in commands
    ]
    for _, fn in contenders:
        fn()
    for values in cpu.values():
        values.clear()
    return interleave(contenders, repeats), cpu


def _report(results: Results, baseline: str, size: int | None = None) -> None:
    """Median wall time (MiB/s when ``size`` bytes were moved), the median per-round speed ratio
    against ``baseline`` (baseline time / contender time), and the same two for CPU time."""
    wall, cpu = results
    print(
        f"{'contender':44s} {'wall':>9s} {'MiB/s':>7s} {'speed':>6s} {'CPU':>9s} {'CPU ratio':>9s}"
    )
    for name, values in wall.items():
        speed = statistics.median(b / v for b, v in zip(wall[baseline], values, strict=True))
        cost = statistics.median(
            c / b for b, c in zip(cpu[baseline], cpu[name], strict=True) if b > 0
        )
        median = statistics.median(values)
        rate = f"{size / (1 << 20) / median:7.0f}" if size else f"{'':7s}"
        print(
            f"{name:44s} {median * 1000:6.0f} ms {rate} {speed:5.2f}x "
            f"{statistics.median(cpu[name]) * 1000:6.0f} ms {cost:8.2f}x"
        )


def _sources(args: argparse.Namespace) -> list[str]:
    return list(args.src) or [SRC]


def _label(src: str, many: bool) -> str:
    return f" [{src}]" if many else ""


def startup(args: argparse.Namespace, cache: str) -> None:
    py = sys.executable
    env = _env(cache, None)
    commands: list[Command] = [
        (
            "asyncio.run(no-op)",
            [py, "-c", "import asyncio\nasync def f(): pass\nasyncio.run(f())"],
            env,
        ),
        ("python -c pass", [py, "-c", "pass"], env),
    ]
    sources = _sources(args)
    for src in sources:
        label = "ccstream run -- true" + _label(src, len(sources) > 1)
        commands.append((label, [py, "-c", CLI, "run", "--", "true"], _env(cache, src)))
    results = _race(commands, args.repeats)
    _report(results, baseline="asyncio.run(no-op)")
    wall = results[0]
    floor = wall["asyncio.run(no-op)"]
    for name, values in wall.items():
        over = statistics.median(v - f for v, f in zip(values, floor, strict=True))
        print(f"{name:44s} wall over asyncio.run: {over * 1000:+6.1f} ms (median per round)")


def _make_file(path: Path, size: int) -> None:
    line = b"x" * 99 + b"\n"
    block = line * 10486  # about 1 MiB of whole lines
    with path.open("wb") as f:
        written = 0
        while written < size:
            f.write(block)
            written += len(block)


def bulk(args: argparse.Namespace, cache: str) -> None:
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        data = Path(tmp) / "lines"
        _make_file(data, args.size_mib << 20)
        size = data.stat().st_size
        cat = ["cat", str(data)]
        commands: list[Command] = [
            ("python read/write loop", [py, "-c", LOOP, *cat], _env(cache, None))
        ]
        sources = _sources(args)
        for src in sources:
            env = _env(cache, src)
            label = _label(src, len(sources) > 1)
            commands.append((f"ccstream run{label}", [py, "-c", CLI, "run", *cat], env))
            commands.append(
                (f"ccstream run --stats{label}", [py, "-c", CLI, "run", "--stats", *cat], env)
            )
        with open(os.devnull, "wb") as devnull:
            results = _race(commands, args.repeats, devnull.fileno())
    _report(results, baseline="python read/write loop", size=size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["startup", "bulk"])
    parser.add_argument("--repeats", type=int, default=None, help="rounds (startup 30, bulk 5)")
    parser.add_argument("--size-mib", type=int, default=1024, help="bulk: file size, MiB")
    parser.add_argument(
        "--src", action="append", default=[], help="a source tree to import ccstream from"
    )
    args = parser.parse_args()
    if args.repeats is None:
        args.repeats = 30 if args.what == "startup" else 5
    with tempfile.TemporaryDirectory(prefix="bench-cli-pyc-") as cache:
        (startup if args.what == "startup" else bulk)(args, cache)


if __name__ == "__main__":
    main()
