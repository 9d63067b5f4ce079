"""Compression policy: compress only when it saves enough, never expand, decode safely."""

from __future__ import annotations

import gzip
import os
import zlib
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccstream._compress import Compressor, Decompressor, Encoding, Mode, Packed, decompress
from ccstream.exceptions import DecompressionError, InvalidOption

ENCODINGS: tuple[Encoding, ...] = get_args(Encoding)
MODES: tuple[Mode, ...] = get_args(Mode)

# Frames that compress well (repetitive log lines), badly (random bytes), or are too small to try.
log_frames = st.builds(
    lambda word, n: b"".join(b"%s line %d ok\n" % (word, i % 7) for i in range(n)),
    st.sampled_from([b"INFO", b"WARN", b"DEBUG"]),
    st.integers(0, 200),
)
random_frames = st.binary(min_size=0, max_size=2000)
frames = st.one_of(log_frames, random_frames, st.binary(max_size=20))
encodings = st.sampled_from(ENCODINGS)
modes = st.sampled_from(MODES)
savings = st.floats(0, 0.99)
min_sizes = st.integers(0, 1024)


def deflated_size(data: bytes, encoding: Encoding, level: int) -> int:
    z = zlib.compressobj(level, zlib.DEFLATED, 31 if encoding == "gzip" else 15)
    return len(z.compress(data) + z.flush())


# -- properties ----------------------------------------------------------------------------------


@given(data=frames, encoding=encodings, level=st.integers(0, 9), min_size=min_sizes)
def test_decompress_of_compress_is_identity_independent(
    data: bytes, encoding: Encoding, level: int, min_size: int
) -> None:
    packed = Compressor(encoding, level=level, min_size=min_size, min_saving=0).compress(data)
    assert decompress(packed.payload, packed.encoding) == data
    assert Decompressor(encoding).decompress(packed.payload, packed.encoding) == data


@given(sequence=st.lists(frames, max_size=12), encoding=encodings, min_saving=savings)
def test_streaming_roundtrip_any_frame_sequence_with_raw_frames_mixed_in(
    sequence: list[bytes], encoding: Encoding, min_saving: float
) -> None:
    compressor = Compressor(encoding, mode="streaming", min_saving=min_saving, min_size=0)
    decompressor = Decompressor(encoding, mode="streaming")
    for frame in sequence:
        packed = compressor.compress(frame)
        assert decompressor.decompress(packed.payload, packed.encoding) == frame


@given(sequence=st.lists(frames, max_size=8), encoding=encodings, mode=modes, min_saving=savings)
def test_sent_size_never_exceeds_input_size(
    sequence: list[bytes], encoding: Encoding, mode: Mode, min_saving: float
) -> None:
    compressor = Compressor(encoding, mode=mode, min_saving=min_saving, min_size=0)
    for frame in sequence:
        packed = compressor.compress(frame)
        assert packed.size == len(frame)
        assert len(packed.payload) <= len(frame)
        if packed.encoding is None:
            assert packed.payload == frame


@given(
    sequence=st.lists(frames, min_size=1, max_size=6),
    encoding=encodings,
    mode=modes,
    min_saving=savings,
    min_size=min_sizes,
)
def test_compressed_only_when_saving_at_least_min_saving(
    sequence: list[bytes], encoding: Encoding, mode: Mode, min_saving: float, min_size: int
) -> None:
    compressor = Compressor(encoding, mode=mode, min_saving=min_saving, min_size=min_size)
    for frame in sequence:
        packed = compressor.compress(frame)
        if packed.encoding is not None:
            assert len(frame) >= min_size
            assert len(packed.payload) < len(frame)
            assert 1 - len(packed.payload) / len(frame) >= min_saving - 1e-9
        elif mode == "independent" and len(frame) >= max(min_size, 1):
            # Sent raw although big enough: compressing really did not save enough.
            size = deflated_size(frame, encoding, 6)
            assert size >= len(frame) or 1 - size / len(frame) < min_saving + 1e-9


# -- policy --------------------------------------------------------------------------------------

LOG = b"".join(b"2024-01-01 INFO worker %d finished job\n" % (i % 10) for i in range(200))


def test_default_policy_compresses_repetitive_output_and_not_random_bytes() -> None:
    compressor = Compressor()
    assert compressor.compress(LOG).encoding == "gzip"
    noise = os.urandom(4096)
    assert compressor.compress(noise) == Packed(noise, None, 4096)


def test_frames_below_min_size_are_sent_raw() -> None:
    small = b"a" * 511
    assert Compressor(min_size=512).compress(small).encoding is None
    assert Compressor(min_size=511).compress(small).encoding == "gzip"
    assert Compressor(min_size=0).compress(b"") == Packed(b"", None, 0)


def test_level_zero_never_compresses() -> None:
    assert Compressor(level=0, min_saving=0).compress(LOG).encoding is None


def test_independent_gzip_is_standard_and_deterministic() -> None:
    first = Compressor("gzip").compress(LOG)
    again = Compressor("gzip").compress(LOG)
    assert first.payload == again.payload
    assert first.payload[4:8] == b"\0\0\0\0"  # mtime 0
    assert gzip.decompress(first.payload) == LOG
    assert zlib.decompress(Compressor("zlib").compress(LOG).payload) == LOG


def test_streaming_compresses_later_frames_against_earlier_ones() -> None:
    # Hex text: worth compressing alone (about 45% saved), and a repeat is a single back-reference.
    frame = os.urandom(1500).hex().encode()
    streaming = Compressor(mode="streaming")
    first, second = streaming.compress(frame), streaming.compress(frame)
    assert first.encoding == second.encoding == "gzip"
    assert len(second.payload) < len(first.payload) // 20
    decoder = Decompressor(mode="streaming")
    assert decoder.decompress(first.payload, "gzip") == frame
    assert decoder.decompress(second.payload, "gzip") == frame


def test_streaming_gzip_header_travels_in_first_compressed_frame() -> None:
    compressor = Compressor(mode="streaming")
    raw = compressor.compress(os.urandom(1000))
    assert raw.encoding is None
    packed = compressor.compress(LOG)
    assert packed.payload[:2] == b"\x1f\x8b"
    # A gzip reader can take the concatenated compressed frames; the member is never closed.
    reader = zlib.decompressobj(31)
    assert reader.decompress(packed.payload) == LOG
    assert not reader.eof


def test_raw_frame_does_not_enter_the_streaming_history() -> None:
    noise = os.urandom(2000)
    sequence = (LOG, noise, noise, LOG)
    compressor = Compressor(mode="streaming")
    sent = [compressor.compress(frame) for frame in sequence]
    # Had the first copy of the noise entered the history, the second would shrink to a
    # back-reference into bytes the decoder never saw. It must be judged alone, and go raw again.
    assert [packed.encoding for packed in sent] == ["gzip", None, None, "gzip"]
    decoder = Decompressor(mode="streaming")
    for frame, packed in zip(sequence, sent, strict=True):
        assert decoder.decompress(packed.payload, packed.encoding) == frame


# -- decoding safety -----------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_zip_bomb_is_refused(encoding: Encoding) -> None:
    bomb = Compressor(encoding, level=9).compress(b"\0" * (4 << 20)).payload
    assert len(bomb) < 8192
    with pytest.raises(DecompressionError, match="max_output"):
        decompress(bomb, encoding, max_output=1 << 20)
    streaming_bomb = Compressor(encoding, mode="streaming", level=9).compress(b"\0" * (4 << 20))
    decoder = Decompressor(encoding, mode="streaming", max_output=1 << 20)
    with pytest.raises(DecompressionError, match="max_output"):
        decoder.decompress(streaming_bomb.payload, encoding)


@pytest.mark.parametrize("mode", MODES)
def test_output_of_exactly_max_output_is_allowed(mode: Mode) -> None:
    packed = Compressor(mode=mode).compress(LOG)
    decoder = Decompressor(mode=mode, max_output=len(LOG))
    assert decoder.decompress(packed.payload, packed.encoding) == LOG
    with pytest.raises(DecompressionError):
        Decompressor(mode=mode, max_output=len(LOG) - 1).decompress(packed.payload, "gzip")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_corrupt_payload_raises_decompression_error_from_zlib_error(encoding: Encoding) -> None:
    payload = bytearray(Compressor(encoding).compress(LOG).payload)
    payload[0] ^= 0xFF  # break the header
    with pytest.raises(DecompressionError) as info:
        decompress(bytes(payload), encoding)
    assert isinstance(info.value.__cause__, zlib.error)


def test_truncated_and_trailing_data_are_refused() -> None:
    payload = Compressor().compress(LOG).payload
    with pytest.raises(DecompressionError, match="truncated"):
        decompress(payload[:-10], "gzip")
    with pytest.raises(DecompressionError, match="after the end"):
        decompress(payload + b"junk", "gzip")
    with pytest.raises(DecompressionError):
        decompress(b"", "zlib")


def test_streaming_decoder_refuses_everything_after_an_error() -> None:
    compressor = Compressor(mode="streaming")
    decoder = Decompressor(mode="streaming")
    good = compressor.compress(LOG)
    with pytest.raises(DecompressionError):
        decoder.decompress(b"\x00garbage" * 10, "gzip")
    with pytest.raises(DecompressionError, match="earlier error"):
        decoder.decompress(good.payload, "gzip")
    assert decoder.decompress(b"raw still passes", None) == b"raw still passes"


def test_encoding_mismatch_and_unknown_encoding_are_refused() -> None:
    packed = Compressor("zlib").compress(LOG)
    with pytest.raises(DecompressionError, match="expects 'gzip'"):
        Decompressor("gzip").decompress(packed.payload, "zlib")
    with pytest.raises(DecompressionError, match="unknown encoding"):
        decompress(packed.payload, "br")  # type: ignore[arg-type]


def test_raw_payload_passes_through() -> None:
    assert decompress(b"as is", None) == b"as is"
    assert Decompressor(mode="streaming").decompress(b"as is", None) == b"as is"


# -- options -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"encoding": "br"},
        {"mode": "chunked"},
        {"min_saving": 1.0},
        {"min_saving": -0.1},
        {"min_saving": float("nan")},
        {"min_saving": "0.2"},
        {"min_saving": True},
        {"min_size": -1},
        {"min_size": 1.5},
        {"level": -1},
        {"level": 10},
        {"level": True},
    ],
)
def test_bad_compressor_options_raise_invalid_option(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidOption):
        Compressor(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs", [{"encoding": "br"}, {"mode": "x"}, {"max_output": 0}, {"max_output": 2.0}]
)
def test_bad_decompressor_options_raise_invalid_option(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidOption):
        Decompressor(**kwargs)  # type: ignore[arg-type]
    if "max_output" in kwargs:
        with pytest.raises(InvalidOption):
            decompress(b"", None, max_output=kwargs["max_output"])  # type: ignore[arg-type]
