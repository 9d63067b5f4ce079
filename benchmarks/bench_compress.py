"""Compression on the seed's workload: bytes on the wire against raw bytes, and the throughput cost.

The seed's script (``scripts/large_output.py --no-sleep``) runs through ccstream in text mode with
64 KiB frames; each contender handles every frame: raw (the baseline, frames only counted),
independent gzip (each frame alone) and streaming gzip (one context per stream), both with the 20%
rule. The consumer is in-process, as an adapter would be.

    .venv/bin/python benchmarks/bench_compress.py [--lines 1000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import anyio

import ccstream
from _common import interleave, report
from ccstream._compress import Mode

SCRIPT = str(Path(__file__).resolve().parent.parent / "scripts" / "large_output.py")
sent: dict[str, tuple[int, int, int]] = {}
stdout_frame_sizes: list[list[int]] = []


def contender(name: str, mode: Mode | None, lines: int) -> float:
    async def main() -> None:
        raw = wire = compressed = 0
        compressors: dict[str, ccstream.Compressor] = {}
        frame_sizes: list[int] = []
        command = [sys.executable, SCRIPT, "--lines", str(lines), "--no-sleep"]
        async with ccstream.stream(command, ccstream.Options(mode="text")) as run:
            async for event in run:
                if not isinstance(event, ccstream.Output):
                    continue
                raw += len(event.data)
                if mode is None and event.stream == "stdout":
                    frame_sizes.append(len(event.data))
                if mode is None:
                    wire += len(event.data)
                    continue
                compressor = compressors.get(event.stream)
                if compressor is None:
                    compressor = ccstream.Compressor("gzip", mode=mode)
                    compressors[event.stream] = compressor
                packed = compressor.compress(event.data)
                wire += len(packed.payload)
                compressed += packed.encoding is not None
        sent[name] = (raw, wire, compressed)
        if mode is None:
            stdout_frame_sizes.append(frame_sizes)

    t0 = time.perf_counter()
    anyio.run(main)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n = args.lines
    print(f"seed workload, {n} lines, text mode, 64 KiB frames, {args.repeats} rounds")
    times = interleave(
        [
            ("raw frames", lambda: contender("raw frames", None, n)),
            ("gzip independent", lambda: contender("gzip independent", "independent", n)),
            ("gzip streaming", lambda: contender("gzip streaming", "streaming", n)),
        ],
        args.repeats,
    )
    report(times, "raw frames")
    # Frame boundaries depend on timing, so the ratio is measured on one recorded sequence of
    # stdout frames (the script's output is deterministic), the same for both modes.
    sizes = stdout_frame_sizes[0]
    data = b"".join(f"Line {i}: ".encode() + b"x" * 100 + b"\n" for i in range(n))
    assert sum(sizes) == len(data), (sum(sizes), len(data))
    print(f"stdout as one live run framed it: {len(sizes)} frames, {len(data)} bytes")
    modes: tuple[Mode, ...] = ("independent", "streaming")
    for mode in modes:
        compressor = ccstream.Compressor("gzip", mode=mode)
        wire = compressed = pos = 0
        for size in sizes:
            packed = compressor.compress(data[pos : pos + size])
            pos += size
            wire += len(packed.payload)
            compressed += packed.encoding is not None
        print(
            f"gzip {mode:11s}: {wire} bytes on the wire, {wire / len(data):.2%} of raw; "
            f"{compressed} of {len(sizes)} frames compressed"
        )


if __name__ == "__main__":
    main()
