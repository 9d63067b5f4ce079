"""One line of 1 GiB: ``Spool.page``, ``Spool.tail``, ``ccstream page`` and ``ccstream tail`` hold
a bounded amount of memory (a page is cut at its byte bound; the CLI copies the rest in blocks).

Marked ``slow``: it writes a 1 GiB spool once for the module (about a second) and the two CLI
commands each copy the line to a pipe (about a second each).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import psutil
import pytest

from ccstream import Spool
from ccstream._events import Output
from ccstream._options import SpoolOptions
from ccstream.spool._reader import PAGE_BYTES
from ccstream.spool.local._writer import SpoolWriter
from tests.conftest import PY
from tests.spool._helpers import sync

pytestmark = pytest.mark.slow
MiB = 1024 * 1024
GiB = 1024 * MiB
HEAD, TAIL = b"head\n", b"\ntail\n"
# Line 0 "head", line 1 a GiB of "x", line 2 "tail".
SIZE = len(HEAD) + GiB + len(TAIL)
BOUND = 32 * MiB
# ru_maxrss is in KiB on Linux, in bytes on macOS.
MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete spool holding ``HEAD``, a 1 GiB line of ``x``, ``TAIL``; written in 1 MiB
    frames straight through the writer (no child process: the reading is under test)."""
    directory = tmp_path_factory.mktemp("gib") / "spool"
    writer = SpoolWriter(SpoolOptions(directory=directory, keep=True, quota=None))
    block = b"x" * MiB
    offset = 0
    for seq, data in enumerate((HEAD, *([block] * 1024), TAIL)):
        writer.append("stdout", [Output("stdout", seq, offset, data)])
        offset += len(data)
        while writer.backlog > 64 * MiB:  # the disk thread is behind: let it catch up
            time.sleep(0.001)
    writer.close([(offset, 3), (0, 0)], returncode=0, reason="exited")
    return directory


class Peak(threading.Thread):
    """Samples this process's RSS every millisecond until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process()
        self.base = self.peak = self.process.memory_info().rss
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.001)


def test_page_and_tail_on_a_1_gib_line_hold_one_page(big: Path) -> None:
    peak = Peak()
    peak.start()
    tracemalloc.start()
    try:
        with Spool.open(big) as spool:
            # The short line before it fits; the long one starts the next page.
            first = sync(spool.page, 0, 3)
            assert first.lines == [HEAD]
            assert first.next_line == 1
            assert first.cuts == []
            cut_page = sync(spool.page, 1, 1)
            tail = sync(spool.tail, 2)
            small = sync(spool.page, 1, 5, max_bytes=10)
            rest = sync(spool.read, "stdout", cut_page.cuts[0].rest_offset, MiB)
            after = sync(spool.page, cut_page.next_line, 5)
        _, traced = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        peak.stop.set()
        peak.join()
    for page, bound in ((cut_page, PAGE_BYTES), (tail, PAGE_BYTES), (small, 10)):
        assert page.first_line == 1
        assert page.next_line == 2
        assert page.lines == [b"x" * bound]
        (cut,) = page.cuts
        assert (cut.line, cut.offset, cut.kept) == (1, len(HEAD), bound)
        assert cut.kept + cut.omitted == GiB + 1  # the line with its newline
        assert cut.rest_offset == len(HEAD) + bound
        assert page.next_offset == len(HEAD) + GiB + 1
    assert rest == b"x" * MiB
    assert after.lines == [b"tail\n"]
    assert after.complete
    # Pages of 1 MiB and one 1 MiB read, against a 1 GiB line.
    assert traced < 8 * MiB, f"Python allocations peaked at {traced / MiB:.1f} MiB"
    assert peak.peak - peak.base < BOUND, f"RSS grew by {(peak.peak - peak.base) / MiB:.1f} MiB"


def _cli(*args: str) -> tuple[int, int, bytes, int, bytes]:
    """Run ``ccstream ARGS``; read its stdout in blocks. Returns the exit status, the bytes and
    the ``x`` bytes of stdout, the other stdout bytes in order, the command's peak RSS (bytes;
    from wait4, exact) and its stderr."""
    proc = subprocess.Popen(
        [PY, "-m", "ccstream", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    total = xs = 0
    other = bytearray()
    while block := proc.stdout.read(MiB):
        total += len(block)
        xs += block.count(b"x")
        other += block.translate(None, b"x")
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert len(other) < 100
    return proc.returncode, total, bytes(other), usage.ru_maxrss * MAXRSS_UNIT, err


def test_cli_page_and_tail_print_a_1_gib_line_whole_in_bounded_memory(
    big: Path, tmp_path: Path
) -> None:
    small = tmp_path / "small"
    writer = SpoolWriter(SpoolOptions(directory=small, keep=True))
    writer.append("stdout", [Output("stdout", 0, 0, b"a\nb\n")])
    writer.close([(4, 2), (0, 0)], returncode=0, reason="exited")
    status, total, other, baseline, _ = _cli("page", str(small), "--from", "1", "--lines", "1")
    assert (status, total, other) == (0, 2, b"b\n")

    status, total, other, rss, err = _cli("page", str(big), "--from", "1", "--lines", "1")
    assert (status, total, other) == (0, GiB + 1, b"\n")
    assert b"stdout lines 1-1 of 3 known (the run ended); next: --from 2" in err
    assert rss - baseline < BOUND, f"page: peak RSS {rss / MiB:.0f} MiB, {baseline / MiB:.0f} base"

    status, total, other, rss, err = _cli("tail", str(big), "-n", "2")
    assert (status, total, other, err) == (0, GiB + len(TAIL), b"\ntail\n", b"")
    assert rss - baseline < BOUND, f"tail: peak RSS {rss / MiB:.0f} MiB, {baseline / MiB:.0f} base"

    status, total, other, rss, err = _cli("page", str(big))
    assert (status, total, other) == (0, SIZE, b"head\n\ntail\n")
    assert b"stdout lines 0-2 of 3 known" in err
    assert rss - baseline < BOUND


def test_maxrss_unit_is_right_for_this_platform() -> None:
    # A guard for the figures above: this process's own peak is tens of MiB, not KiB or TiB.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * MAXRSS_UNIT
    assert 10 * MiB < own < 16 * GiB
