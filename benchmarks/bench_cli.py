"""The ``ccstream`` command line: start-up time and bulk throughput, against baselines.

``startup``: wall time of ``ccstream run -- true`` (a fresh interpreter each time, as a shell
runs it), beside the bare interpreter (``python -c pass``) and an interpreter that only starts
an asyncio loop (``asyncio.run`` of a no-op: the floor of any asyncio program); target: under
0.15 s median.

``bulk``: ``ccstream run -- cat FILE > /dev/null`` for a file of 100-character lines (1 GiB by
default), against a plain Python read/write loop that runs the same ``cat`` (``os.read`` of
1 MiB, ``os.write`` to stdout); target: at least 0.6x the loop's speed. ``--stats`` (which counts
lines) is timed too.

With ``--src DIR`` (repeatable) each ccstream contender imports ccstream from that source tree
(a checkout's ``src``), so two versions can be compared in the same run. Every contender runs
in the same rounds, interleaved, and the report gives medians and the median per-round ratio.
Bytecode is cached for every contender (a warm-up round not counted fills a cache directory of
its own, even where ``PYTHONDONTWRITEBYTECODE`` is set), as for any installed package.

    .venv/bin/python benchmarks/bench_cli.py startup [--repeats 30] [--src OLD/src --src src]
    .venv/bin/python benchmarks/bench_cli.py bulk [--size-mib 1024] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from _common import interleave, report

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


def _timed(argv: Sequence[str], env: dict[str, str], stdout: int | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        argv,
        env=env,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.DEVNULL,  # --stats' report
    )
    return time.perf_counter() - t0


def _contender(
    argv: Sequence[str], env: dict[str, str], stdout: int | None = None
) -> Callable[[], float]:
    return lambda: _timed(argv, env, stdout)


def _sources(args: argparse.Namespace) -> list[str]:
    return list(args.src) or [SRC]


def _label(src: str, many: bool) -> str:
    return f" [{src}]" if many else ""


def startup(args: argparse.Namespace, cache: str) -> None:
    py = sys.executable
    env = _env(cache, None)
    contenders = [
        ("python -c pass", _contender([py, "-c", "pass"], env)),
        (
            "python: asyncio.run(no-op)",
            _contender([py, "-c", "import asyncio\nasync def f(): pass\nasyncio.run(f())"], env),
        ),
    ]
    sources = _sources(args)
    for src in sources:
        contenders.append(
            (
                "ccstream run -- true" + _label(src, len(sources) > 1),
                _contender([py, "-c", CLI, "run", "--", "true"], _env(cache, src)),
            )
        )
    for _, fn in contenders:  # warm-up: fills the bytecode cache
        fn()
    times = interleave(contenders, args.repeats)
    report(times, baseline=contenders[0][0])
    for name, values in times.items():
        ordered = sorted(values)
        print(f"{name:34s} median {ordered[len(ordered) // 2] * 1000:6.1f} ms")


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
        with open(os.devnull, "wb") as devnull:
            out = devnull.fileno()
            contenders = [
                (
                    "python read/write loop",
                    _contender([py, "-c", LOOP, *cat], _env(cache, None), out),
                )
            ]
            sources = _sources(args)
            for src in sources:
                env = _env(cache, src)
                label = _label(src, len(sources) > 1)
                contenders.append(
                    (f"ccstream run{label}", _contender([py, "-c", CLI, "run", *cat], env, out))
                )
                contenders.append(
                    (
                        f"ccstream run --stats{label}",
                        _contender(
                            [py, "-c", CLI, "run", "--stats", *cat],
                            env,
                            out,
                        ),
                    )
                )
            for _, fn in contenders:  # warm-up: page cache and bytecode cache
                fn()
            times = interleave(contenders, args.repeats)
        report(times, baseline=contenders[0][0], size=size)


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
