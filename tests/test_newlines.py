"""The adaptive newline count: exact whichever way it takes, frame after frame."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ccstream._newlines import SPARSE_LINE, NewlineCounter

# Frames drawn from few byte values make newlines dense; from all of them, sparse; so a
# sequence of both switches the counter's way back and forth.
_dense = st.binary(max_size=512).map(lambda b: bytes(x & 0x0B for x in b))
_frames = st.lists(st.one_of(st.binary(max_size=4096), _dense), max_size=40)


@given(_frames)
def test_adaptive_newline_count_equals_bytes_count_for_every_frame(frames: list[bytes]) -> None:
    counter = NewlineCounter()
    for data in frames:
        assert counter.count(data) == data.count(b"\n")


def test_both_ways_are_taken() -> None:
    """A dense frame switches to ``bytes.count``, a sparse one back to ``replace``: the counts
    stay exact across the switches."""
    counter = NewlineCounter()
    dense = b"a\n" * 1000
    sparse = b"x" * (SPARSE_LINE * 10) + b"\n"
    assert counter._sparse
    assert counter.count(dense) == 1000
    assert not counter._sparse
    assert counter.count(sparse) == 1
    assert counter._sparse
    assert counter.count(b"") == 0
    assert counter.count(b"\n" * 7) == 7
    assert not counter._sparse
