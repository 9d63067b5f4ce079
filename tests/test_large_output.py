"""The seed's test: large output while memory stays constant (at CI size)."""

from __future__ import annotations

import psutil
import pytest

import ccstream
from tests.conftest import LARGE_OUTPUT, PY

pytestmark = pytest.mark.anyio
MiB = 1024 * 1024
HOST = psutil.Process()


async def _consume_sampling_rss(
    command: list[str], options: ccstream.Options | None = None
) -> tuple[ccstream.Result, int, int]:
    """Run, count bytes, sample our RSS every 32 frames; return result, start RSS, peak RSS."""
    start = peak = HOST.memory_info().rss
    frames = 0
    async with ccstream.stream(command, options) as run:
        async for event in run:
            if isinstance(event, ccstream.Output):
                frames += 1
                if frames % 32 == 0:
                    peak = max(peak, HOST.memory_info().rss)
    return run.result, start, max(peak, HOST.memory_info().rss)


async def test_seed_large_output_script_streams_in_bounded_memory() -> None:
    lines = 300_000
    result, start, peak = await _consume_sampling_rss(
        [PY, LARGE_OUTPUT, "--lines", str(lines), "--no-sleep"]
    )
    expected = sum(len(f"Line {i}: ") + 101 for i in range(lines))
    assert result.ok
    assert result.stdout == ccstream.StreamStats(bytes=expected, lines=lines)
    assert result.stderr.lines == lines // 10_000
    assert expected > 30 * MiB
    # Two 8 MiB stream buffers are the most the design may hold; far less than the output.
    assert peak - start < 24 * MiB, f"host RSS grew by {(peak - start) / MiB:.1f} MiB"


async def test_memory_is_flat_across_10_mib_and_200_mib_outputs() -> None:
    growth = {}
    for size in (10 * MiB, 200 * MiB):
        result, start, peak = await _consume_sampling_rss(["head", "-c", str(size), "/dev/zero"])
        assert result.stdout.bytes == size
        growth[size] = peak - start
    assert growth[200 * MiB] - growth[10 * MiB] < 8 * MiB, growth
