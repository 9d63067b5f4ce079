"""The spool's line index arithmetic, sans-I/O: checkpoints are true, sparse and complete enough."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccstream.spool._index import Indexer, find_line, find_offset, nth_newline
from ccstream.spool.local._format import CHECKPOINT, Checkpoint

# Bytes rich in newlines, so that short inputs still have many lines.
chunks = st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\x00", b"\n")), max_size=30)


def _index(frames: list[bytes], *, lines: int, nbytes: int, segment: int) -> list[Checkpoint]:
    """Feed ``frames`` the way the writer does (only when due) and decode the checkpoints."""
    indexer = Indexer(every_lines=lines, every_bytes=nbytes, segment_size=segment)
    out = bytearray(CHECKPOINT.pack(0, 1))
    pos = newlines = 0
    line_start = True
    for data in frames:
        if not data:
            continue
        count = data.count(b"\n")
        if indexer.due(pos, pos + len(data), newlines):
            indexer.feed(data, pos, newlines, line_start, out)
        pos += len(data)
        newlines += count
        line_start = data[-1] == 10
    return [
        Checkpoint(n, packed >> 1, bool(packed & 1))
        for n, packed in CHECKPOINT.iter_unpack(bytes(out))
    ]


@given(chunks, st.integers(1, 5), st.integers(1, 64), st.integers(16, 64))
def test_every_checkpoint_states_the_truth_about_its_offset(
    frames: list[bytes], lines: int, nbytes: int, segment: int
) -> None:
    data = b"".join(frames)
    for cp in _index(frames, lines=lines, nbytes=nbytes, segment=segment):
        assert cp.newlines == data[: cp.offset].count(b"\n")
        assert cp.line_start == (cp.offset == 0 or data[cp.offset - 1] == 10)


@given(chunks, st.integers(1, 5), st.integers(1, 64), st.integers(16, 64))
def test_checkpoints_are_sorted_and_every_segment_boundary_has_one(
    frames: list[bytes], lines: int, nbytes: int, segment: int
) -> None:
    cps = _index(frames, lines=lines, nbytes=nbytes, segment=segment)
    offsets = [cp.offset for cp in cps]
    assert offsets == sorted(set(offsets))
    total = len(b"".join(frames))
    # A boundary that data crossed or started at has its checkpoint (the end itself need not).
    for boundary in range(segment, total, segment):
        assert boundary in offsets


@given(chunks, st.integers(1, 5), st.integers(1, 64))
def test_a_gap_between_checkpoints_is_bounded_by_the_interval_plus_one_frame(
    frames: list[bytes], lines: int, nbytes: int
) -> None:
    frames = [f for f in frames if f]
    cps = _index(frames, lines=lines, nbytes=nbytes, segment=1 << 30)
    data = b"".join(frames)
    longest = max((len(f) for f in frames), default=0)
    bounds = [*(cp.offset for cp in cps), len(data)]
    for a, b in itertools.pairwise(bounds):
        assert b - a < nbytes + longest
        assert data[a:b].count(b"\n") < lines + longest + 1


@given(chunks, st.integers(1, 4), st.integers(1, 50), st.integers(16, 64), st.data())
def test_find_line_then_a_scan_gives_the_start_of_every_line(
    frames: list[bytes], lines: int, nbytes: int, segment: int, data: st.DataObject
) -> None:
    whole = b"".join(frames)
    cps = _index(frames, lines=lines, nbytes=nbytes, segment=segment)
    starts = [0] + [i + 1 for i, b in enumerate(whole) if b == 10]
    line = data.draw(st.integers(0, len(starts) - 1))
    cp = find_line(cps.__getitem__, len(cps), line)
    if cp.newlines == line and cp.line_start:
        found = cp.offset
    else:
        found = cp.offset + nth_newline(whole[cp.offset :], line - cp.newlines) + 1
    assert found == starts[line]


def test_find_offset_finds_exact_offsets_only() -> None:
    cps = [Checkpoint(0, 0, True), Checkpoint(3, 10, True), Checkpoint(5, 20, False)]
    assert find_offset(cps.__getitem__, 3, 10) == cps[1]
    assert find_offset(cps.__getitem__, 3, 20) == cps[2]
    assert find_offset(cps.__getitem__, 3, 15) is None
    assert find_offset(cps.__getitem__, 3, 99) is None


@settings(max_examples=200)
@given(st.binary(max_size=2000).map(lambda b: b.replace(b"\x00", b"\n")), st.data())
def test_nth_newline_agrees_with_a_plain_loop(data: bytes, draw: st.DataObject) -> None:
    positions = [i for i, b in enumerate(data) if b == 10]
    if not positions:
        with pytest.raises(ValueError, match="fewer newlines"):
            nth_newline(data, 1)
        return
    k = draw.draw(st.integers(1, len(positions)))
    assert nth_newline(data, k) == positions[k - 1]
