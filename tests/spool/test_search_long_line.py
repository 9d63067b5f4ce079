"""Search over one very long line holds a bounded amount of memory: the peak is the same for a
line of 10 MB and of 200 MB (the proving size of the 1 GiB case), and the match is found with
its exact column, whichever side of a block boundary it lies on."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import anyio
import pytest

from ccstream._events import Output
from ccstream._options import SpoolOptions
from ccstream.spool import Match, Spool
from ccstream.spool.local._writer import SpoolWriter
from tests.spool._helpers import sync

MiB = 1024 * 1024
BOUND = 8 * MiB


def _write(directory: Path, size: int) -> None:
    """``head``, one line of ``size`` bytes of ``x`` with ``needle`` across a 1 MiB boundary
    and at its end, then ``tail``; written in 1 MiB frames straight through the writer."""
    writer = SpoolWriter(SpoolOptions(directory=directory, keep=True, quota=None))
    line = bytearray(b"x" * size)
    line[3 * MiB - 3 : 3 * MiB + 3] = b"needle"
    line[-6:] = b"needle"
    data = b"head\n" + bytes(line) + b"\ntail\n"
    del line
    offset = 0
    for seq, start in enumerate(range(0, len(data), MiB)):
        chunk = data[start : start + MiB]
        writer.append("stdout", [Output("stdout", seq, offset, chunk)])
        offset += len(chunk)
        while writer.backlog > 64 * MiB:
            time.sleep(0.001)
    writer.close([(offset, 2), (0, 0)], returncode=0, reason="exited")


def _search(directory: Path, pattern: str, regex: bool) -> tuple[list[Match], int]:
    async def main() -> list[Match]:
        with Spool.open(directory) as spool, anyio.fail_after(60):
            return [m async for m in spool.search(pattern, regex=regex, max_line_bytes=100)]

    tracemalloc.start()
    try:
        found = sync(main)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return found, peak


@pytest.mark.parametrize(("pattern", "regex"), [("needle", False), ("ne+dle$", True)])
def test_searching_a_long_line_holds_the_same_memory_for_10_mb_and_200_mb(
    tmp_path: Path, pattern: str, regex: bool
) -> None:
    peaks = []
    for size in (10 * 1000 * 1000, 200 * 1000 * 1000):
        directory = tmp_path / f"spool-{size}"
        _write(directory, size)
        found, peak = _search(directory, pattern, regex)
        assert len(found) == 1
        match = found[0]
        assert (match.line, match.offset, match.text) == (1, 5, b"x" * 100)
        assert match.length == size
        assert match.omitted == size - 100
        # The first match in the line: the literal's at the block boundary; the regex's at
        # the end ("$" holds only there).
        assert match.column == (3 * MiB - 3 if not regex else size - 6)
        peaks.append(peak)
        assert peak < BOUND, f"{peak / MiB:.1f} MiB for a line of {size} bytes"
    assert abs(peaks[1] - peaks[0]) < 2 * MiB, peaks
