"""Invariants of the spool, written through a store's sink and read back (no processes).

Segments, frames and index intervals are tiny so that every example crosses many segment
boundaries and checkpoints. Each property runs against every store of ``tests/spool/conftest.py``,
on asyncio and trio, and is checked on a reader opened through the store that writes the spool
and on one opened through a fresh store over the same place, the way another process reads it.
"""

from __future__ import annotations

import os

import hypothesis
from hypothesis import given, settings
from hypothesis import strategies as st

from ccstream._events import Gap, Output, StreamName
from ccstream.spool.local._format import STREAMS
from ccstream.spool.testing import StoreFactory, layouts, quota_scripts, scripts
from tests.spool._helpers import (
    Script,
    follow_all,
    frame_script,
    readers,
    split_lines,
    spool_of,
    streams_of,
    sync,
    walk,
)

stdout_script = scripts(("stdout",))
mixed_script = scripts()
layout = layouts()
quota_script = quota_scripts()
SETTINGS = settings(max_examples=int(os.environ.get("SPOOL_EXAMPLES", "60")), deadline=None)


@SETTINGS
@given(stdout_script, layout, st.integers(1, 7))
def test_walking_pages_from_line_0_yields_every_line_once_in_order(
    store_factory: StoreFactory,
    spool_backend: str,
    script: Script,
    layout: dict[str, int],
    count: int,
) -> None:
    expected = split_lines(streams_of(script)["stdout"])
    with spool_of(script, layout, store_factory) as spooled:
        for spool in readers(spooled):
            pages = walk(spool, count)
            assert [line for page in pages for line in page.lines] == expected
            assert pages[-1].complete
            assert pages[-1].known_lines == len(expected)
            for page in pages:
                assert page.next_line == page.first_line + len(page.lines)
                assert len(page.lines) <= count
            spool.close()


@SETTINGS
@given(stdout_script, layout, st.integers(1, 7))
def test_walking_pages_while_running_yields_each_terminated_line_once_and_no_partial_one(
    store_factory: StoreFactory,
    spool_backend: str,
    script: Script,
    layout: dict[str, int],
    count: int,
) -> None:
    data = streams_of(script)["stdout"]
    terminated = split_lines(data[: data.rfind(b"\n") + 1])
    with spool_of(script, layout, store_factory, close=False) as spooled:
        for spool in readers(spooled):
            pages = walk(spool, count)
            assert [line for page in pages for line in page.lines] == terminated
            assert not pages[-1].complete
            assert pages[-1].known_lines == len(terminated)
            assert not spool.complete
            spool.close()


@SETTINGS
@given(stdout_script, layout, st.integers(0, 40), st.integers(1, 9))
def test_a_page_at_line_k_equals_lines_k_to_k_plus_n(
    store_factory: StoreFactory,
    spool_backend: str,
    script: Script,
    layout: dict[str, int],
    k: int,
    n: int,
) -> None:
    lines = split_lines(streams_of(script)["stdout"])
    with spool_of(script, layout, store_factory) as spooled:
        for spool in readers(spooled):
            page = sync(spool.page, k, n)
            assert page.lines == lines[k : k + n]
            assert page.first_line == k
            assert page.next_line == max(k, min(k + n, len(lines)))
            assert page.complete == (k + n >= len(lines))
            assert page.next_offset == len(b"".join(lines[: page.next_line]))
            tail = sync(spool.tail, n)
            assert tail.lines == lines[-n:]
            assert tail.next_line == len(lines)
            spool.close()


@SETTINGS
@given(mixed_script, layout)
def test_a_merged_replay_equals_the_live_event_sequence(
    store_factory: StoreFactory, spool_backend: str, script: Script, layout: dict[str, int]
) -> None:
    live = [
        (f.stream, f.seq, f.offset, f.data)
        for _, frames in frame_script(script, layout["chunk_size"])
        for f in frames
    ]
    with spool_of(script, layout, store_factory) as spooled:
        for spool in readers(spooled):
            replay = follow_all(spool)
            assert all(isinstance(e, Output) for e in replay)
            frames = [e for e in replay if isinstance(e, Output)]
            assert [(e.stream, e.seq, e.offset, e.data) for e in frames] == live
            spool.close()


@SETTINGS
@given(mixed_script, layout, st.data())
def test_follow_from_any_offset_yields_exactly_the_bytes_from_that_offset(
    store_factory: StoreFactory,
    spool_backend: str,
    script: Script,
    layout: dict[str, int],
    data: st.DataObject,
) -> None:
    expected = streams_of(script)
    offsets: dict[StreamName, int] = {
        s: data.draw(st.integers(0, len(expected[s]) + 2), label=s) for s in expected
    }
    only: tuple[StreamName, ...] = data.draw(st.sampled_from([STREAMS, ("stdout",), ("stderr",)]))
    with spool_of(script, layout, store_factory) as spooled:
        for spool in readers(spooled):
            got: dict[StreamName, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
            for event in follow_all(spool, offsets, only):
                assert isinstance(event, Output)
                assert event.offset == offsets[event.stream] + len(got[event.stream])
                got[event.stream] += event.data
            for s in STREAMS:
                assert bytes(got[s]) == (expected[s][offsets[s] :] if s in only else b"")
            spool.close()


@SETTINGS
@given(quota_script, st.integers(16, 48), st.integers(4, 7), st.integers(1, 4), st.data())
def test_quota_gaps_plus_kept_bytes_account_for_every_byte(
    store_factory: StoreFactory,
    spool_backend: str,
    script: Script,
    segment: int,
    segments: int,
    every: int,
    data: st.DataObject,
) -> None:
    expected = streams_of(script)
    quota = segment * segments
    layout = {"segment_size": segment, "quota": quota, "index_every": every, "index_bytes": segment}
    with spool_of(script, layout, store_factory) as spooled:
        for spool in readers(spooled):
            gaps = {g.stream: g for g in spool.gaps}
            for s in STREAMS:
                size = len(expected[s])
                assert spool.sizes[s] == size
                gap = gaps.get(s)
                kept = size - (gap.bytes if gap else 0)
                if gap is not None:
                    # Whole middle segments: never the head, never the newest one.
                    assert gap.offset >= segment
                    assert gap.offset % segment == 0
                    assert gap.bytes % segment == 0
                    assert gap.offset + gap.bytes < size
                    assert gap.reason == "quota"
                    end = gap.offset + gap.bytes
                    assert gap.lines == expected[s][gap.offset : end].count(b"\n")
                    assert sync(spool.read, s, gap.offset, 10) == b""
                # Each kept byte reads back as it was written.
                got = b"".join(sync(spool.read, s, off, segment) for off in range(0, size, segment))
                assert len(got) == kept
                assert got == (
                    expected[s]
                    if gap is None
                    else expected[s][: gap.offset] + expected[s][gap.offset + gap.bytes :]
                )
            # Kept bytes on disk stay within the quota.
            assert sum(spool.sizes.values()) - sum(g.bytes for g in gaps.values()) <= quota

            # follow: frames and gaps tile each stream exactly, with exact line counts.
            pos: dict[StreamName, int] = {"stdout": 0, "stderr": 0}
            for event in follow_all(spool):
                assert event.offset == pos[event.stream]
                if isinstance(event, Gap):
                    chunk = expected[event.stream][event.offset : event.offset + event.bytes]
                    assert event.lines == chunk.count(b"\n")
                    pos[event.stream] += event.bytes
                else:
                    assert event.data == expected[event.stream][event.offset : event.end]
                    pos[event.stream] = event.end
            assert pos == {s: len(expected[s]) for s in pos}

            # Pages: every line that no gap touches, once, in order; each gap reported.
            lines = split_lines(expected["stdout"])
            starts = [0]
            for line in lines:
                starts.append(starts[-1] + len(line))
            gap = gaps.get("stdout")
            count = data.draw(st.integers(1, 5), label="count")
            seen: list[int] = []
            reported = False
            for page in walk(spool, count):
                seen += range(page.first_line, page.first_line + len(page.lines))
                assert page.lines == lines[page.first_line : page.first_line + len(page.lines)]
                reported = reported or bool(page.gaps)
            untouched = [
                i
                for i in range(len(lines))
                if gap is None or starts[i + 1] <= gap.offset or starts[i] >= gap.offset + gap.bytes
            ]
            assert seen == untouched
            assert reported == (gap is not None)
            hypothesis.event("a stdout gap" if gap is not None else "no stdout gap")
            spool.close()
