"""Tests for the sans-I/O chunker: scripted bytes in, frames out, synchronously."""

from __future__ import annotations

import codecs
import itertools
from dataclasses import dataclass
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccstream._chunker import MIN_CHUNK_SIZE, Chunker, ChunkMode
from ccstream._events import Output
from ccstream.exceptions import InvalidOption

MODES: tuple[ChunkMode, ...] = get_args(ChunkMode)
TEXT_MODES: tuple[ChunkMode, ...] = ("text", "lines")
EMOJI = "😀".encode()  # F0 9F 98 80

# Small chunks so that inputs of a few hundred bytes cross many frame boundaries.
chunk_sizes = st.integers(min_value=MIN_CHUNK_SIZE, max_value=64)

# Valid text, raw bytes and hand-picked troublemakers (truncated, overlong, surrogate, out of range)
# mixed together, so that cuts land inside and around broken sequences as well as good ones.
utf8ish = st.lists(
    st.one_of(
        st.text(max_size=8).map(str.encode),
        st.binary(max_size=4),
        st.sampled_from(
            [
                b"\n",
                b"\r\n",
                EMOJI,
                b"\xe2\x82",  # euro sign missing its last byte
                b"\xf0\x9f",  # emoji missing two bytes
                b"\x80",  # lone continuation byte
                b"\xed\xa0\x80",  # encoded surrogate
                b"\xc0\xaf",  # overlong '/'
                b"\xf4\x90\x80\x80",  # above U+10FFFF
                b"\xff",
            ]
        ),
    ),
    max_size=60,
).map(b"".join)

valid_utf8 = st.text(max_size=300).map(str.encode)


@dataclass(frozen=True)
class Emitted:
    """One frame and whether flush() (rather than feed()) produced it."""

    frame: Output
    flushed: bool


@st.composite
def reads(draw: st.DrawFn, data: bytes) -> list[bytes]:
    """``data`` split into reads at arbitrary points, empty reads included."""
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=20)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def run(
    chunker: Chunker, pieces: list[bytes], idle_flushes: frozenset[int] = frozenset()
) -> list[Emitted]:
    """Feed every piece, flushing after the pieces whose index is in ``idle_flushes``, then flush
    at end of input; check the bookkeeping properties after every call."""
    emitted: list[Emitted] = []
    fed = chunker.offset
    for index, piece in enumerate(pieces):
        emitted += [Emitted(frame, False) for frame in chunker.feed(piece)]
        fed += len(piece)
        assert chunker.offset == fed
        if index in idle_flushes:
            emitted += [Emitted(frame, True) for frame in chunker.flush()]
            assert chunker.pending == 0
    emitted += [Emitted(frame, True) for frame in chunker.flush()]
    assert chunker.pending == 0
    assert chunker.offset == fed
    return emitted


def count_invalid(data: bytes) -> int:
    """Oracle: bytes inside the ranges strict decoding reports, restarting after each error.

    Deliberately not the chunker's method (an "ignore" round trip), so the two check each other.
    """
    count = 0
    pos = 0
    while True:
        try:
            data[pos:].decode("utf-8")
        except UnicodeDecodeError as error:
            count += error.end - error.start
            pos += error.end
        else:
            return count


def frames_of(emitted: list[Emitted]) -> list[Output]:
    return [item.frame for item in emitted]


# --- properties -----------------------------------------------------------------------------------


@given(st.data(), utf8ish, chunk_sizes, st.sampled_from(MODES))
def test_frames_concatenate_to_input_for_any_split(
    data: st.DataObject, payload: bytes, chunk_size: int, mode: ChunkMode
) -> None:
    pieces = data.draw(reads(payload))
    idle = data.draw(st.frozensets(st.integers(0, len(pieces))))
    emitted = run(Chunker("stdout", chunk_size=chunk_size, mode=mode), pieces, idle)
    assert b"".join(f.data for f in frames_of(emitted)) == payload
    assert all(type(f.data) is bytes for f in frames_of(emitted))


@given(st.data(), utf8ish, chunk_sizes, st.sampled_from(MODES))
def test_no_frame_exceeds_chunk_size(
    data: st.DataObject, payload: bytes, chunk_size: int, mode: ChunkMode
) -> None:
    pieces = data.draw(reads(payload))
    idle = data.draw(st.frozensets(st.integers(0, len(pieces))))
    emitted = run(Chunker("stdout", chunk_size=chunk_size, mode=mode), pieces, idle)
    assert all(1 <= len(f.data) <= chunk_size for f in frames_of(emitted))


@given(
    st.data(),
    utf8ish,
    chunk_sizes,
    st.sampled_from(MODES),
    st.integers(0, 2**40),
    st.integers(0, 2**20),
)
def test_offsets_contiguous_and_seq_increments(
    data: st.DataObject, payload: bytes, chunk_size: int, mode: ChunkMode, offset: int, seq: int
) -> None:
    pieces = data.draw(reads(payload))
    idle = data.draw(st.frozensets(st.integers(0, len(pieces))))
    chunker = Chunker("stderr", chunk_size=chunk_size, mode=mode, offset=offset, seq=seq)
    frames = frames_of(run(chunker, pieces, idle))
    assert [f.seq for f in frames] == list(range(seq, seq + len(frames)))
    expected = offset
    for frame in frames:
        assert frame.stream == "stderr"
        assert frame.offset == expected
        expected = frame.end
    assert chunker.offset == offset + len(payload)


@given(st.data(), valid_utf8, chunk_sizes, st.sampled_from(TEXT_MODES))
def test_text_frames_never_split_a_code_point(
    data: st.DataObject, payload: bytes, chunk_size: int, mode: ChunkMode
) -> None:
    pieces = data.draw(reads(payload))
    for frame in frames_of(run(Chunker("stdout", chunk_size=chunk_size, mode=mode), pieces)):
        frame.data.decode("utf-8")  # strict: raises if a code point was split
        assert frame.invalid_bytes == 0


@given(st.data(), utf8ish, chunk_sizes, st.sampled_from(TEXT_MODES))
def test_invalid_bytes_counted_same_as_whole_input_decode(
    data: st.DataObject, payload: bytes, chunk_size: int, mode: ChunkMode
) -> None:
    pieces = data.draw(reads(payload))
    frames = frames_of(run(Chunker("stdout", chunk_size=chunk_size, mode=mode), pieces))
    assert sum(f.invalid_bytes for f in frames) == count_invalid(payload)
    assert all(f.invalid_bytes == count_invalid(f.data) for f in frames)


@given(st.data(), utf8ish, chunk_sizes)
def test_line_frames_end_at_newline_unless_line_longer_than_chunk_or_flushed(
    data: st.DataObject, payload: bytes, chunk_size: int
) -> None:
    pieces = data.draw(reads(payload))
    idle = data.draw(st.frozensets(st.integers(0, len(pieces))))
    for item in run(Chunker("stdout", chunk_size=chunk_size, mode="lines"), pieces, idle):
        if item.flushed or not item.frame.ends_mid_line:
            continue
        # Cut mid-line by feed(): only a full window without any newline, backed off by at most
        # 3 bytes to keep a code point whole.
        assert b"\n" not in item.frame.data
        assert len(item.frame.data) >= chunk_size - 3


@given(st.data(), utf8ish, chunk_sizes, st.sampled_from(MODES))
def test_only_bytes_that_could_still_complete_are_held_back(
    data: st.DataObject, payload: bytes, chunk_size: int, mode: ChunkMode
) -> None:
    chunker = Chunker("stdout", chunk_size=chunk_size, mode=mode)
    for piece in data.draw(reads(payload)):
        chunker.feed(piece)
        held = payload[chunker.offset - chunker.pending : chunker.offset]
        if mode == "binary":
            assert held == b""
        elif mode == "text":
            # A valid-so-far prefix of one sequence: the decoder would also wait for more.
            assert len(held) <= 3
            assert codecs.utf_8_decode(held, "strict", False) == ("", 0)
        else:
            assert b"\n" not in held
            assert len(held) < chunk_size


@given(st.data(), st.binary(max_size=300), chunk_sizes)
def test_binary_reads_are_cut_into_full_frames_but_the_last(
    data: st.DataObject, payload: bytes, chunk_size: int
) -> None:
    chunker = Chunker("stdout", chunk_size=chunk_size)
    for piece in data.draw(reads(payload)):
        frames = chunker.feed(piece)
        assert chunker.pending == 0
        assert b"".join(f.data for f in frames) == piece
        assert all(len(f.data) == chunk_size for f in frames[:-1])
        assert all(f.invalid_bytes == 0 for f in frames)
    assert chunker.flush() == []


# --- options --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "options"),
    [
        ("stdout", {"chunk_size": MIN_CHUNK_SIZE - 1}),
        ("stdout", {"chunk_size": 0}),
        ("stdout", {"chunk_size": -65536}),
        ("stdout", {"chunk_size": True}),
        ("stdout", {"chunk_size": 64.0}),
        ("stdout", {"chunk_size": "64"}),
        ("stdout", {"mode": "utf-8"}),
        ("stdout", {"mode": "Lines"}),
        ("stdout", {"offset": -1}),
        ("stdout", {"seq": -1}),
        ("stdout", {"seq": False}),
        ("stdin", {}),
    ],
)
def test_invalid_options_are_rejected(stream: Any, options: dict[str, Any]) -> None:
    with pytest.raises(InvalidOption):
        Chunker(stream, **options)


def test_invalid_option_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        Chunker("stdout", chunk_size=8)


def test_smallest_chunk_size_is_accepted() -> None:
    chunker = Chunker("stdout", chunk_size=MIN_CHUNK_SIZE, mode="lines")
    assert chunker.pending == 0
    assert chunker.offset == 0


# --- text mode ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", TEXT_MODES)
def test_emoji_straddling_chunk_boundary_moves_whole_to_next_frame(mode: ChunkMode) -> None:
    data = b"a" * 14 + EMOJI + b"b" * 14  # the emoji occupies bytes 14..17; the cut would be at 16
    chunker = Chunker("stdout", chunk_size=16, mode=mode)
    frames = chunker.feed(data) + chunker.flush()  # lines mode holds "bb" back as a partial line
    assert [f.data for f in frames] == [b"a" * 14, EMOJI + b"b" * 12, b"bb"]
    assert [f.offset for f in frames] == [0, 14, 30]


def test_emoji_straddling_chunk_boundary_is_split_in_binary_mode() -> None:
    data = b"a" * 14 + EMOJI + b"b" * 14
    frames = Chunker("stdout", chunk_size=16).feed(data)
    assert [f.data for f in frames] == [data[:16], data[16:]]


def test_emoji_fed_byte_by_byte_is_held_until_complete() -> None:
    chunker = Chunker("stdout", chunk_size=16, mode="text")
    for i, byte in enumerate(EMOJI[:-1]):
        assert chunker.feed(bytes([byte])) == []
        assert chunker.pending == i + 1
    [frame] = chunker.feed(EMOJI[-1:])
    assert frame.data == EMOJI
    assert frame.invalid_bytes == 0
    assert chunker.pending == 0


def test_lone_continuation_byte_is_kept_and_counted() -> None:
    chunker = Chunker("stdout", chunk_size=16, mode="text")
    [frame] = chunker.feed(b"ab\x80cd")
    assert frame.data == b"ab\x80cd"
    assert frame.invalid_bytes == 1
    assert frame.text == "ab\ufffdcd"
    assert chunker.pending == 0


def test_run_of_continuation_bytes_at_boundary_is_cut_anyway() -> None:
    # Nothing could ever complete these, so there is no lead byte to move back to.
    data = b"\x80" * 40
    frames = Chunker("stdout", chunk_size=16, mode="text").feed(data)
    assert [len(f.data) for f in frames] == [16, 16, 8]
    assert [f.invalid_bytes for f in frames] == [16, 16, 8]


def test_truncated_sequence_at_end_of_input_is_held_then_counted_invalid_on_flush() -> None:
    chunker = Chunker("stdout", chunk_size=16, mode="text")
    [frame] = chunker.feed(b"price: \xe2\x82")  # euro sign missing its last byte
    assert frame.data == b"price: "
    assert chunker.pending == 2
    [last] = chunker.flush()
    assert last.data == b"\xe2\x82"
    assert last.offset == 7
    assert last.invalid_bytes == 2
    assert chunker.flush() == []


def test_sequence_that_cannot_complete_is_not_held_back() -> None:
    # E0 80 is already invalid (E0 needs A0..BF next), so waiting for more bytes would not help.
    chunker = Chunker("stdout", chunk_size=16, mode="text")
    [frame] = chunker.feed(b"x\xe0\x80")
    assert frame.data == b"x\xe0\x80"
    assert frame.invalid_bytes == 2
    assert chunker.pending == 0


# --- lines mode -----------------------------------------------------------------------------------


def test_lines_mode_holds_partial_line_until_newline() -> None:
    chunker = Chunker("stdout", chunk_size=64, mode="lines")
    [first] = chunker.feed(b"one\ntw")
    assert first.data == b"one\n"
    assert chunker.pending == 2
    assert chunker.feed(b"o and") == []
    [second] = chunker.feed(b" more\nthree")
    assert second.data == b"two and more\n"
    assert second.offset == 4
    [third] = chunker.flush()
    assert third.data == b"three"
    assert third.ends_mid_line


def test_lines_mode_cuts_after_last_newline_in_each_window() -> None:
    frames = Chunker("stdout", chunk_size=16, mode="lines").feed(b"aaaa\nbbbb\ncccccccc\ndd\n")
    assert [f.data for f in frames] == [b"aaaa\nbbbb\n", b"cccccccc\ndd\n"]


def test_lines_mode_line_longer_than_chunk_size_is_cut_mid_line() -> None:
    chunker = Chunker("stdout", chunk_size=16, mode="lines")
    frames = chunker.feed(b"x" * 40 + b"\nshort")
    assert [f.data for f in frames] == [b"x" * 16, b"x" * 16, b"x" * 8 + b"\n"]
    assert [f.ends_mid_line for f in frames] == [True, True, False]
    assert chunker.pending == len(b"short")


def test_lines_mode_partial_line_is_emitted_when_it_reaches_chunk_size() -> None:
    chunker = Chunker("stdout", chunk_size=16, mode="lines")
    assert chunker.feed(b"y" * 15) == []
    [frame] = chunker.feed(b"y")
    assert frame.data == b"y" * 16
    assert chunker.pending == 0


def test_lines_mode_large_read_after_partial_line_backs_off_into_held_bytes() -> None:
    # 15 held bytes end in the lead byte of an emoji; the next read completes it and goes on. The
    # first window (14 x 'a', F0, 9F) must back off into the held bytes to keep the emoji whole.
    chunker = Chunker("stdout", chunk_size=16, mode="lines")
    assert chunker.feed(b"a" * 14 + EMOJI[:1]) == []
    frames = chunker.feed(EMOJI[1:] + b"b" * 40 + b"\n")
    assert frames[0].data == b"a" * 14
    assert frames[1].data.startswith(EMOJI)
    assert b"".join(f.data for f in frames) == b"a" * 14 + EMOJI + b"b" * 40 + b"\n"
    assert all(len(f.data) <= 16 and f.invalid_bytes == 0 for f in frames)


# --- binary mode, resuming, input types -----------------------------------------------------------


def test_binary_small_read_is_passed_through_without_copy() -> None:
    data = bytes(range(100))
    frames = Chunker("stdout", chunk_size=128).feed(data)
    assert len(frames) == 1
    assert frames[0].data is data


@pytest.mark.parametrize("mode", TEXT_MODES)
def test_text_read_of_whole_lines_is_passed_through_without_copy(mode: ChunkMode) -> None:
    data = "héllo\nwörld\n".encode()
    [frame] = Chunker("stdout", chunk_size=64, mode=mode).feed(data)
    assert frame.data is data


@pytest.mark.parametrize("mode", MODES)
def test_empty_read_returns_no_frames(mode: ChunkMode) -> None:
    chunker = Chunker("stdout", chunk_size=16, mode=mode)
    assert chunker.feed(b"") == []
    assert chunker.flush() == []
    assert chunker.offset == 0


@pytest.mark.parametrize("mode", MODES)
def test_start_offset_and_seq_are_honored(mode: ChunkMode) -> None:
    chunker = Chunker("stderr", chunk_size=16, mode=mode, offset=1000, seq=7)
    assert chunker.offset == 1000
    frames = chunker.feed(b"z" * 20 + b"\n") + chunker.flush()
    assert [(f.seq, f.offset, len(f.data)) for f in frames] == [(7, 1000, 16), (8, 1016, 5)]
    assert all(f.stream == "stderr" for f in frames)
    assert chunker.offset == 1021


def test_bytearray_input_is_copied_so_frames_own_their_bytes() -> None:
    buffer = bytearray(b"abc")
    [frame] = Chunker("stdout", chunk_size=16).feed(buffer)  # type: ignore[arg-type]
    buffer[0] = ord("X")
    assert frame.data == b"abc"
    assert type(frame.data) is bytes


@settings(max_examples=20)
@given(chunk_sizes, st.sampled_from(MODES))
def test_large_read_cut_like_many_small_reads(chunk_size: int, mode: ChunkMode) -> None:
    # A long read goes through the "join only the head" path; it must tile like any other.
    payload = ("line ünïcödé 😀\n" * 50).encode() + b"tail"
    chunker = Chunker("stdout", chunk_size=chunk_size, mode=mode)
    frames = chunker.feed(payload[:5]) + chunker.feed(payload[5:]) + chunker.flush()
    assert b"".join(f.data for f in frames) == payload
    assert all(1 <= len(f.data) <= chunk_size for f in frames)


# --- time: coalescing and linger ------------------------------------------------------------------

# One step of a scripted timeline: a read of some bytes, or a wake-up with nothing read; both after
# some seconds have passed.
steps = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=0.2, allow_nan=False),
        st.one_of(st.none(), utf8ish),
    ),
    max_size=30,
)
waits = st.floats(min_value=0, max_value=0.1, allow_nan=False)
lingers = st.floats(min_value=0.001, max_value=0.1, allow_nan=False)


@dataclass
class Timeline:
    """What a driver honouring the deadlines saw: every frame, and when each byte was fed."""

    frames: list[Output]
    fed_at: list[float]


def drive(chunker: Chunker, script: list[tuple[float, bytes | None]]) -> Timeline:
    """Play ``script`` like the pump does: at each step, first wake up at every deadline that came
    before it (the pump's wait on the pipe times out then), then read and tick. After every
    call, no held-back byte may be past its deadline."""
    frames: list[Output] = []
    fed_at: list[float] = []
    now = 0.0
    for delay, data in script:
        until = now + delay
        while (deadline := chunker.deadline) is not None and deadline <= until:
            now = max(now, deadline)
            frames += chunker.tick(now)
            assert chunker.deadline is None or chunker.deadline > now
        now = until
        if data is not None:
            frames += chunker.feed(data, now)
            fed_at += [now] * len(data)
        frames += chunker.tick(now)
        assert chunker.deadline is None or chunker.deadline > now
    frames += chunker.flush()
    assert chunker.pending == 0
    assert chunker.deadline is None
    return Timeline(frames, fed_at)


@given(steps, chunk_sizes, st.sampled_from(MODES), waits, st.one_of(st.none(), lingers))
def test_frames_concatenate_to_input_whatever_the_timing(
    script: list[tuple[float, bytes | None]],
    chunk_size: int,
    mode: ChunkMode,
    coalesce: float,
    linger: float | None,
) -> None:
    chunker = Chunker("stdout", chunk_size=chunk_size, mode=mode, coalesce=coalesce, linger=linger)
    timeline = drive(chunker, script)
    payload = b"".join(data for _, data in script if data is not None)
    assert b"".join(f.data for f in timeline.frames) == payload
    assert all(1 <= len(f.data) <= chunk_size for f in timeline.frames)
    assert [f.seq for f in timeline.frames] == list(range(len(timeline.frames)))
    for before, after in itertools.pairwise(timeline.frames):
        assert after.offset == before.end


@given(steps, chunk_sizes, st.sampled_from(MODES), waits, lingers)
def test_no_byte_is_held_past_its_deadline(
    script: list[tuple[float, bytes | None]],
    chunk_size: int,
    mode: ChunkMode,
    coalesce: float,
    linger: float,
) -> None:
    # Each byte fed at t is out by the first wake-up at or after t + max(coalesce, linger).
    chunker = Chunker("stdout", chunk_size=chunk_size, mode=mode, coalesce=coalesce, linger=linger)
    bound = max(coalesce, linger)
    frames: list[Output] = []
    fed_at: list[float] = []
    now = 0.0
    for delay, data in script:
        until = now + delay
        while (deadline := chunker.deadline) is not None and deadline <= until:
            assert deadline <= fed_at[len(b"".join(f.data for f in frames))] + bound
            now = max(now, deadline)
            frames += chunker.tick(now)
        now = until
        if data is not None:
            frames += chunker.feed(data, now)
            fed_at += [now] * len(data)
        frames += chunker.tick(now)
        out = sum(len(f.data) for f in frames)
        assert all(t + bound > now for t in fed_at[out:])


def test_short_reads_are_coalesced_into_one_full_frame() -> None:
    chunker = Chunker("stdout", chunk_size=16, coalesce=0.01)
    assert chunker.feed(b"line 1\n", 0.0) == []
    assert chunker.deadline == 0.01
    assert chunker.next_read_size == 16 - 7
    assert chunker.feed(b"line 2\n", 0.005) == []
    assert chunker.tick(0.009) == []  # early: nothing is due
    [frame] = chunker.feed(b"xy", 0.006)  # fills the frame: out at once
    assert frame.data == b"line 1\nline 2\nxy"
    assert chunker.deadline is None
    assert chunker.next_read_size == 16


def test_coalesced_reads_go_out_when_the_wait_ran_out() -> None:
    chunker = Chunker("stdout", chunk_size=64, coalesce=0.01)
    chunker.feed(b"a\n", 1.0)
    chunker.feed(b"b\n", 1.004)
    assert chunker.deadline == pytest.approx(1.01)  # from the first short read, not the last
    [frame] = chunker.tick(1.01)
    assert frame.data == b"a\nb\n"
    assert chunker.pending == 0


def test_a_full_frame_read_passes_through_uncopied_while_coalescing() -> None:
    chunker = Chunker("stdout", chunk_size=16, coalesce=0.01)
    data = b"0123456789abcdef"
    [frame] = chunker.feed(data, 0.0)
    assert frame.data is data


def test_big_read_is_not_coalesced_even_under_the_frame_size() -> None:
    chunker = Chunker("stdout", chunk_size=1 << 20, coalesce=0.01)
    data = b"x" * (64 * 1024)
    [frame] = chunker.feed(data, 0.0)
    assert frame.data is data


def test_partial_line_lingers_then_goes_out_as_it_is() -> None:
    chunker = Chunker("stdout", chunk_size=64, mode="lines", linger=0.05)
    [frame] = chunker.feed(b"done\nPassword: ", 2.0)
    assert frame.data == b"done\n"
    assert chunker.deadline == pytest.approx(2.05)
    assert chunker.tick(2.04) == []
    [prompt] = chunker.tick(2.05)
    assert prompt.data == b"Password: "
    assert prompt.ends_mid_line
    assert chunker.deadline is None


def test_line_trickling_in_goes_out_within_linger_of_its_first_byte() -> None:
    # A progress bar printing a dot every 40 ms is shown every 50 ms, not only at its newline.
    chunker = Chunker("stdout", chunk_size=64, mode="lines", linger=0.05)
    assert chunker.feed(b".", 0.0) == []
    assert chunker.feed(b".", 0.04) == []
    assert chunker.deadline == pytest.approx(0.05)
    [frame] = chunker.tick(0.05)
    assert frame.data == b".."


def test_without_waits_the_chunker_never_asks_to_be_woken() -> None:
    chunker = Chunker("stdout", chunk_size=16, mode="lines")
    assert chunker.feed(b"partial", 5.0) == []
    assert chunker.deadline is None
    assert chunker.tick(1e9) == []
    assert chunker.pending == 7


@pytest.mark.parametrize("options", [{"coalesce": -0.1}, {"coalesce": True}, {"linger": 0}])
def test_invalid_waits_are_rejected(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidOption):
        Chunker("stdout", **options)
