"""Searching a spool against ``grep -c`` on the same bytes, interleaved in one run.

A spool of ``--lines`` lines (default 10,000,000, about 400 MB: ``line NNNNNNNN payload...``,
one line in 10,000 holding ``needle``) is written once, and the very same bytes to a plain file.
Each round runs, as separate processes timed from spawn to exit: ``grep -c PATTERN FILE`` and
``ccstream search -c DIR PATTERN`` (the library's :meth:`~ccstream.Spool.search`), for a literal,
a literal with ``-i`` and a regular expression. Reported: the median time, the median of the
per-round speed ratios (grep's time / ours: 1.0x is as fast as grep) and each process's peak
RSS, for the full spool and one tenth of it (memory stays flat when both peaks match).

    .venv/bin/python benchmarks/bench_search.py --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ccstream._events import Output
from ccstream._options import SpoolOptions
from ccstream.spool.local._writer import SpoolWriter

MiB = 1024 * 1024
CASES = [
    ("literal", ["-F"], ["-F"], "needle"),
    ("literal -i", ["-F", "-i"], ["-F", "-i"], "NEEDLE"),
    ("regex", ["-E"], ["-E"], r"needle [0-9]*3 "),
]


def write(directory: Path, plain: Path, lines: int) -> int:
    """The spool and the plain file, the same bytes; returns their size."""
    writer = SpoolWriter(SpoolOptions(directory=directory, keep=True, quota=None))
    offset = seq = 0
    with plain.open("wb") as out:
        for start in range(0, lines, 20_000):
            block = "".join(
                f"line {i:08d} "
                + (f"needle {i} " if i % 10_000 == 3 else "payload of the line ")
                + "abcdefghij\n"
                for i in range(start, min(lines, start + 20_000))
            ).encode()
            out.write(block)
            for at in range(0, len(block), 64 * 1024):
                frame = block[at : at + 64 * 1024]
                writer.append("stdout", [Output("stdout", seq, offset, frame)])
                seq += 1
                offset += len(frame)
            while writer.backlog > 64 * MiB:
                time.sleep(0.001)
    writer.close([(offset, lines), (0, 0)], returncode=0, reason="exited")
    return offset


def timed(argv: list[str]) -> tuple[float, int, bytes]:
    """Seconds from spawn to exit, peak RSS in bytes, and stdout of ``argv``. The peak comes
    from ``/usr/bin/time`` (GNU): a child forked from this process would count this process's
    pages as its own."""
    t0 = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], capture_output=True, check=True)
    elapsed = time.perf_counter() - t0
    return elapsed, int(done.stderr.split()[-1]) * 1024, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    ccstream = [sys.executable, "-m", "ccstream", "search", "-c", "--stream", "stdout"]
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        spools = {}
        for lines in (args.lines // 10, args.lines):
            spool, plain = Path(tmp) / f"spool-{lines}", Path(tmp) / f"plain-{lines}"
            size = write(spool, plain, lines)
            spools[lines] = (spool, plain, size)
            print(f"{lines} lines, {size / MiB:.0f} MiB", flush=True)
        spool, plain, size = spools[args.lines]
        times: dict[str, list[float]] = {}
        peaks: dict[str, list[int]] = {}
        for round_ in range(args.repeats):
            for name, grep_flags, our_flags, pattern in CASES:
                for who, argv in (
                    ("grep", ["grep", "-c", *grep_flags, pattern, str(plain)]),
                    ("ccstream", [*ccstream, *our_flags, str(spool), pattern]),
                ):
                    seconds, peak, out = timed(argv)
                    assert out.strip() == str(args.lines // 10_000).encode(), (who, name, out)
                    times.setdefault(f"{name}: {who}", []).append(seconds)
                    peaks.setdefault(f"{name}: {who}", []).append(peak)
            print(f"  round {round_ + 1}/{args.repeats} done", flush=True)
        print(f"\n{args.lines} lines, {size / MiB:.0f} MiB, {args.repeats} interleaved rounds")
        print(
            "| pattern | grep -c | ccstream search -c | MiB/s (ours) | speed vs grep | peak RSS "
            "grep / ours |"
        )
        print("|---|---|---|---|---|---|")
        for name, _, _, _ in CASES:
            g, c = times[f"{name}: grep"], times[f"{name}: ccstream"]
            ratio = statistics.median(a / b for a, b in zip(g, c, strict=True))
            print(
                f"| {name} | {statistics.median(g):.3f} s | {statistics.median(c):.3f} s | "
                f"{size / MiB / statistics.median(c):.0f} | **{ratio:.2f}x** | "
                f"{max(peaks[f'{name}: grep']) / MiB:.1f} / "
                f"{max(peaks[f'{name}: ccstream']) / MiB:.1f} MiB |"
            )
        small, _, small_size = spools[args.lines // 10]
        _, peak_small, _ = timed([*ccstream, str(small), "needle"])
        _, peak_big, _ = timed([*ccstream, str(spool), "needle"])
        print(
            f"\nhost memory: peak RSS {peak_small / MiB:.1f} MiB over {small_size / MiB:.0f} MiB, "
            f"{peak_big / MiB:.1f} MiB over {size / MiB:.0f} MiB"
        )


if __name__ == "__main__":
    main()
