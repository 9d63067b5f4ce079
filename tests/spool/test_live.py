"""Readers racing the writer: followers and pages while segments are written and dropped under
them, in the writing process and as another process reads (through a store of its own, or
``Spool.open``), on both backends; the race runs against every store of ``conftest.STORES``."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import anyio
import pytest

from ccstream._chunker import Chunker
from ccstream._events import Gap, Output, StreamName
from ccstream._options import SpoolOptions
from ccstream.spool._reader import Spool
from ccstream.spool.local._format import STREAMS
from ccstream.spool.local._writer import SpoolWriter
from ccstream.spool.testing import StoreFactory
from tests.spool._helpers import split_lines, sync

pytestmark = pytest.mark.anyio


def _check_tiling(events: list[Output | Gap], expected: dict[StreamName, bytes]) -> int:
    """Frames and gaps tile each stream exactly; frames hold the right bytes; gap line counts are
    exact. Returns how many gap bytes were seen."""
    pos: dict[StreamName, int] = {"stdout": 0, "stderr": 0}
    gap_bytes = 0
    for event in events:
        data = expected[event.stream]
        if isinstance(event, Gap):
            assert event.offset <= pos[event.stream] < event.offset + event.bytes
            end = event.offset + event.bytes
            assert event.lines == data[event.offset : end].count(b"\n")
            gap_bytes += end - pos[event.stream]
            pos[event.stream] = end
        else:
            assert event.offset == pos[event.stream]
            assert event.data == data[event.offset : event.end]
            pos[event.stream] = event.end
    assert pos == {s: len(expected[s]) for s in STREAMS}
    return gap_bytes


async def test_followers_and_pages_racing_quota_drops_account_for_every_byte(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    rng = random.Random(int(os.environ.get("SPOOL_SEED", "7")))
    segment = 4096
    root = tmp_path / "store"
    root.mkdir()
    store = store_factory(root)
    writer = store.create(
        "race", SpoolOptions(segment_size=segment, quota=6 * segment, index_every=5)
    )
    chunkers = {s: Chunker(s, chunk_size=1024) for s in STREAMS}
    expected: dict[StreamName, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
    results: dict[str, list[Output | Gap]] = {}
    pages_seen: list[bytes] = []

    async def produce() -> None:
        for i in range(400):
            stream: StreamName = "stdout" if rng.random() < 0.8 else "stderr"
            data = b"".join(
                f"{stream} {i} {j} ".encode() + b"x" * rng.randrange(80) + b"\n"
                for j in range(rng.randrange(1, 30))
            )
            expected[stream] += data
            assert writer.append(stream, chunkers[stream].feed(data)) is not None
            if i % 10 == 0:
                writer.flush()
                await anyio.sleep(0.002)
        totals = [(len(expected[s]), bytes(expected[s]).count(b"\n")) for s in STREAMS]
        await writer.aclose(totals)

    async def follow(name: str, spool: Spool) -> None:
        events = []
        async for event in spool.follow(poll_interval=0.005):
            events.append(event)
            if rng.random() < 0.05:
                await anyio.sleep(0.003)  # a reader that falls behind now and then
        results[name] = events

    async def pages(spool: Spool) -> None:
        line = 0
        while True:
            page = await spool.page(line, 7)
            pages_seen.extend(page.lines)
            if page.complete:
                return
            if page.next_line == line:
                await anyio.sleep(0.002)
            line = page.next_line

    live = store.open("race")
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(follow, "in-process", live)
            await anyio.sleep(0.01)
            # Another process reads through a store of its own over the same place.
            other = store_factory(root).open("race")
            tg.start_soon(follow, "other process", other)
            tg.start_soon(pages, store_factory(root).open("race"))
            tg.start_soon(produce)
    final = {s: bytes(expected[s]) for s in STREAMS}
    [gap] = [g for g in writer.state.gaps if g.stream == "stdout"]
    for name in ("in-process", "other process"):
        _check_tiling(results[name], final)
    # A reader from scratch now sees exactly the recorded gaps.
    replay = [e async for e in store_factory(root).open("race").follow()]
    assert _check_tiling(replay, final) == sum(g.bytes for g in writer.state.gaps)
    # Every page line was a real line, in order, once.
    lines = split_lines(final["stdout"])
    it = iter(lines)
    assert all(any(line == candidate for candidate in it) for line in pages_seen)
    assert pages_seen[-1] == lines[-1]
    assert gap.lines > 0
    live.close()
    other.close()
    assert await store.remove("race")


def test_planned_batches_reach_the_files_within_moments_even_if_the_pump_never_idles(
    tmp_path: Path,
) -> None:
    writer = SpoolWriter(SpoolOptions(directory=tmp_path / "spool"))
    chunker = Chunker("stdout", chunk_size=1024)
    try:
        # Small batches, never a flush() from an idle pump, far below the hand-off size.
        deadline = time.monotonic() + 5
        while writer.state.records == 0:
            assert time.monotonic() < deadline, "nothing reached the disk thread"
            assert writer.append("stdout", chunker.feed(b"a line\n")) == 1
            time.sleep(0.005)
        with Spool.open(writer.path) as other:
            deadline = time.monotonic() + 5
            while not sync(other.page).lines:
                assert time.monotonic() < deadline
                time.sleep(0.005)
    finally:
        writer.close()
        writer.remove()
