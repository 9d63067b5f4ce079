"""Per-line arrival times: the spool records when each frame arrived (an optional sidecar of
the order log), and a page gives each line the time of the frame holding its first byte."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

import ccstream
from ccstream import Spool
from ccstream.spool import LocalStore
from tests.conftest import PY

pytestmark = pytest.mark.anyio
DATA = Path(__file__).resolve().parent.parent / "data"

TICKS = (
    "import sys, time\n"
    "for i in range(30):\n"
    "    print('out', i, flush=True)\n"
    "    if i % 3 == 0: print('err', i, file=sys.stderr, flush=True)\n"
    "    time.sleep(0.5 if i == 15 else 0.01)\n"
)


async def test_times_are_monotonic_and_within_the_runs_wall_clock_window(tmp_path: Path) -> None:
    before = time.time()
    options = ccstream.Options(spool=ccstream.SpoolOptions(directory=tmp_path / "s", keep=True))
    async with ccstream.stream([PY, "-c", TICKS], options) as run:
        await run.wait()
        after = time.time()
        whole: dict[str, list[float]] = {}
        streams: tuple[tuple[ccstream.StreamName, int], ...] = (("stdout", 30), ("stderr", 10))
        for stream, count in streams:
            page = await run.spool.page(0, 100, stream, times=True)
            assert page.times is not None
            assert len(page.times) == len(page.lines) == count
            assert page.times == sorted(page.times)
            assert before <= page.times[0]
            assert page.times[-1] <= after
            # The child slept 0.5 s after line 15: not all in one frame, not all one time.
            assert page.times[-1] > page.times[0]
            whole[stream] = page.times
        assert (await run.spool.page(0, 100)).times is None  # not asked for
    # The same times read from the directory, as another process would, from any line on.
    with Spool.open(tmp_path / "s") as spool:
        middle = await spool.page(5, 3, times=True)
        tail = await spool.tail(2, "stderr", times=True)
    assert middle.times == whole["stdout"][5:8]
    assert tail.lines == [b"err 24\n", b"err 27\n"]
    assert tail.times == whole["stderr"][-2:]


async def test_lines_of_one_frame_share_its_time_and_a_cut_line_has_one(tmp_path: Path) -> None:
    code = "import sys, time; print('a\\nb\\nc', flush=True); time.sleep(0.2); print('x' * 5000)"
    options = ccstream.Options(spool=ccstream.SpoolOptions(directory=tmp_path / "s"))
    async with ccstream.stream([PY, "-c", code], options) as run:
        await run.wait()
        page = await run.spool.page(0, 10, times=True)
        cut = await run.spool.page(3, 10, times=True, max_bytes=100)
    assert page.lines[:3] == [b"a\n", b"b\n", b"c\n"]
    assert page.times is not None
    assert len(page.times) == 4
    assert page.times[0] == page.times[1] == page.times[2] < page.times[3]
    assert cut.cuts
    assert cut.times == [page.times[3]]


async def test_a_spool_of_the_earlier_format_opens_with_no_times(tmp_path: Path) -> None:
    copy = tmp_path / "old"
    shutil.copytree(DATA / "spool-format-1", copy)
    assert not (copy / "times.log").exists()
    for spool in (Spool.open(copy), LocalStore(tmp_path).open("old")):
        with spool:
            page = await spool.page(0, 10, times=True)
            assert len(page.lines) == 10
            assert page.times is None
            assert spool.source.times(0, 10) is None
            assert (await spool.tail(3, times=True)).times is None


async def test_a_spool_whose_times_file_is_gone_reads_as_one_without_times(tmp_path: Path) -> None:
    options = ccstream.Options(spool=ccstream.SpoolOptions(directory=tmp_path / "s", keep=True))
    async with ccstream.stream(["seq", "100"], options) as run:
        await run.wait()
    (tmp_path / "s" / "times.log").unlink()
    with Spool.open(tmp_path / "s") as spool:
        page = await spool.page(0, 1000, times=True)
    assert len(page.lines) == 100
    assert page.times is None


async def test_the_times_sidecar_holds_one_time_per_order_record(tmp_path: Path) -> None:
    options = ccstream.Options(
        spool=ccstream.SpoolOptions(directory=tmp_path / "s", keep=True), chunk_size=4096
    )
    async with ccstream.stream(["head", "-c", str(1 << 20), "/dev/zero"], options) as run:
        await run.wait()
    order = (tmp_path / "s" / "order.log").stat().st_size
    times = (tmp_path / "s" / "times.log").stat().st_size
    assert order // 40 == times // 8 >= 256
    with Spool.open(tmp_path / "s") as spool:
        stamps = spool.source.times(0, 10_000)
    assert stamps is not None
    assert len(stamps) == order // 40
    assert stamps == sorted(stamps)


async def test_an_empty_page_with_times_has_an_empty_list(tmp_path: Path) -> None:
    options = ccstream.Options(spool=ccstream.SpoolOptions(directory=tmp_path / "s"))
    async with ccstream.stream(["true"], options) as run:
        await run.wait()
        page = await run.spool.page(0, 10, times=True)
    assert page.lines == []
    assert page.times == []


async def test_pages_across_a_quota_gap_keep_their_times(tmp_path: Path) -> None:
    segment = 64 * 1024
    spool = ccstream.SpoolOptions(
        directory=tmp_path / "s", segment_size=segment, quota=4 * segment, on_quota="drop"
    )
    options = ccstream.Options(spool=spool)
    async with ccstream.stream(["seq", "200000"], options) as run:
        await run.wait()
        assert run.spool.gaps
        tail = await run.spool.tail(50, times=True)
        head = await run.spool.page(0, 50, times=True)
    for page in (head, tail):
        assert page.times is not None
        assert len(page.times) == len(page.lines) == 50
        assert page.times == sorted(page.times)
    assert head.times is not None
    assert tail.times is not None
    assert head.times[-1] <= tail.times[0]
