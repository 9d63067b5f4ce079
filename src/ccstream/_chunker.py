"""Cut one stream's bytes into :class:`~ccstream.Output` frames.

Sans-I/O: the pump feeds whatever each read returned and sends on the frames that are ready; nothing
here blocks, sleeps or touches a file. Frames of one stream tile it exactly (no byte is dropped,
duplicated or rewritten), so ``offset`` and ``seq`` can be trusted by a reader that resumes.

Three modes decide where a frame may end:

``"binary"``
    Every ``chunk_size`` bytes; nothing is ever held back.
``"text"``
    As binary, but a UTF-8 code point is never split across frames. Up to 3 bytes of an incomplete
    sequence at the end of a read wait for the next read.
``"lines"``
    As text, and a frame ends right after the last newline of its ``chunk_size`` window. A partial
    last line (fewer than ``chunk_size`` bytes) waits for its newline.

Memory held back is bounded by the constructor: at most 3 bytes in text mode and at most
``chunk_size - 1`` bytes in lines mode.
"""

from __future__ import annotations

import codecs
from typing import Final, Literal, get_args

from ._events import Output, StreamName
from .exceptions import InvalidOption

__all__ = ["MIN_CHUNK_SIZE", "ChunkMode", "Chunker"]

ChunkMode = Literal["binary", "text", "lines"]
"""Where a frame may end: anywhere, on a code point boundary, or preferably after a newline."""

MIN_CHUNK_SIZE: Final = 16
"""Smallest allowed ``chunk_size``, in bytes.

Backing off a cut to a code point boundary moves it by at most 3 bytes; with at least 16 bytes per
window every frame still makes progress and stays mostly full.
"""

_MODES: Final = frozenset(get_args(ChunkMode))
_STREAMS: Final = frozenset(get_args(StreamName))
# The longest UTF-8 prefix that can still be completed: a 4-byte sequence missing its last byte.
_MAX_INCOMPLETE: Final = 3


def _incomplete_tail(buf: bytes, start: int, end: int) -> int:
    """Length in bytes (0..3) of the UTF-8 sequence at the end of ``buf[start:end]`` that is
    started but not finished, and that later bytes could still complete."""
    if end <= start or buf[end - 1] < 0x80:
        return 0  # ASCII ends almost every real frame; skip the decoder call.
    piece = buf[max(start, end - _MAX_INCOMPLETE) : end]
    # With final=False CPython's decoder stops before a trailing prefix that is valid so far and
    # reports it as not consumed; anything invalid is consumed by the error handler. Bytes before
    # the prefix cannot confuse it: a prefix starts with a lead byte, which always ends whatever
    # came before it, so three bytes of context are enough.
    _, consumed = codecs.utf_8_decode(piece, "surrogateescape", False)
    return len(piece) - consumed


def _count_invalid(data: bytes) -> int:
    """Number of bytes of ``data`` that are not part of a valid UTF-8 sequence."""
    if data.isascii():
        return 0
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return 0
    # "ignore" drops exactly the bytes of each error range, and what survives re-encodes to its own
    # bytes (the decoder accepts only shortest forms and no surrogates, so the round trip is exact).
    # Two C passes instead of a Python loop per error; still ~8x slower than a strict decode on
    # random bytes, because CPython's decoder handles every error range on its slow path.
    return len(data) - len(data.decode("utf-8", "ignore").encode("utf-8"))


class Chunker:
    """Cuts the bytes of one stream into frames of 1..``chunk_size`` bytes.

    Call :meth:`feed` with each read and :meth:`flush` at end of input (or whenever the caller
    decides the stream is idle and held-back bytes should go out). Concatenating every frame's
    ``data`` gives back exactly the bytes fed; offsets are contiguous from ``offset`` and ``seq``
    counts up by one from ``seq``.

    ``stream``: which pipe the frames belong to.
    ``chunk_size``: largest frame, in bytes; an ``int`` of at least :data:`MIN_CHUNK_SIZE`.
    ``mode``: ``"binary"``, ``"text"`` or ``"lines"``; see the module docstring.
    ``offset``: byte offset in the stream of the first byte that will be fed (for resuming).
    ``seq``: sequence number of the first frame this chunker will emit (for resuming).

    Raises :class:`~ccstream.exceptions.InvalidOption` for a wrong type or value.
    """

    __slots__ = ("_chunk_size", "_frame_offset", "_mode", "_offset", "_seq", "_stream", "_tail")

    def __init__(
        self,
        stream: StreamName,
        *,
        chunk_size: int = 65536,
        mode: ChunkMode = "binary",
        offset: int = 0,
        seq: int = 0,
    ) -> None:
        if stream not in _STREAMS:
            raise InvalidOption(f"stream must be one of {sorted(_STREAMS)}, not {stream!r}")
        # bool is an int subclass, but chunk_size=True is always a mistake.
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
            raise InvalidOption(f"chunk_size must be an int, not {type(chunk_size).__name__}")
        if chunk_size < MIN_CHUNK_SIZE:
            raise InvalidOption(f"chunk_size must be at least {MIN_CHUNK_SIZE} bytes: {chunk_size}")
        if mode not in _MODES:
            raise InvalidOption(f"mode must be one of {sorted(_MODES)}, not {mode!r}")
        for name, value in (("offset", offset), ("seq", seq)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidOption(f"{name} must be an int >= 0, not {value!r}")
        self._stream: StreamName = stream
        self._chunk_size = chunk_size
        self._mode: ChunkMode = mode
        self._offset = offset  # of the next byte to be fed
        self._frame_offset = offset  # of the next frame, i.e. of the first held-back byte
        self._seq = seq
        # A bytearray so that a partial line growing by small reads is appended in amortized O(1)
        # rather than copied whole on every read. Never longer than chunk_size - 1 bytes.
        self._tail = bytearray()

    @property
    def pending(self) -> int:
        """Bytes fed but not yet emitted: at most 3 in text mode, under ``chunk_size`` in lines
        mode, always 0 in binary mode."""
        return len(self._tail)

    @property
    def offset(self) -> int:
        """Byte offset in the stream of the next byte to be fed: the start offset plus all bytes
        fed so far."""
        return self._offset

    def feed(self, data: bytes) -> list[Output]:
        """Take the bytes of one read; return the frames that are complete now, in order.

        May return an empty list (an empty read, or only bytes that are held back). In binary mode
        a read of at most ``chunk_size`` bytes comes back as one frame holding ``data`` itself,
        not a copy.
        """
        if type(data) is not bytes:
            # Frames must own immutable bytes; a caller's bytearray could change under them.
            data = bytes(data)
        size = len(data)
        self._offset += size
        if self._mode == "binary":
            return self._feed_binary(data)
        if not size:
            return []
        tail = self._tail
        chunk_size = self._chunk_size
        if self._mode == "lines" and len(tail) + size < chunk_size and b"\n" not in data:
            # A line still growing and still short: nothing can be emitted yet.
            tail += data
            return []
        frames: list[Output] = []
        if not tail:
            self._cut(data, 0, frames)
        elif size <= chunk_size:
            # Small read: joining costs at most 2 * chunk_size bytes of copying.
            buf = b"".join((tail, data))
            tail.clear()
            self._cut(buf, 0, frames)
        else:
            # Large read: join the tail with only the start of the read, so a 1 MiB read is not
            # copied once more just to prepend a few held-back bytes. head is long enough that
            # every window starting inside the tail is whole, with the byte after it known; at most
            # two windows start there (a window backed off by <= 3 bytes into a lines-mode tail,
            # then one that ends well inside the read).
            held = len(tail)
            head = b"".join((tail, memoryview(data)[: chunk_size + 1]))
            tail.clear()
            pos = 0
            while pos < held:
                pos = self._emit_window(head, pos, len(head), frames)
            self._cut(data, pos - held, frames)
        return frames

    def flush(self) -> list[Output]:
        """Emit every held-back byte now; return the frames (at most one).

        Use at end of input, or when the caller decides the stream is idle. The frame may end
        mid-line, and in text mode an incomplete sequence it ends with is counted in
        ``invalid_bytes`` (if more bytes follow, they are counted invalid too: the sequence was
        split on purpose).
        """
        if not self._tail:
            return []
        data = bytes(self._tail)
        self._tail.clear()
        frames: list[Output] = []
        self._emit(data, frames)
        return frames

    def _feed_binary(self, data: bytes) -> list[Output]:
        chunk_size = self._chunk_size
        if len(data) <= chunk_size:
            if not data:
                return []
            frames: list[Output] = []
            self._emit(data, frames)  # no slicing: the frame shares the caller's bytes object
            return frames
        stream, seq, offset = self._stream, self._seq, self._frame_offset
        # One slice (one copy) per frame and no per-frame method call: this is the 1 GiB/s path.
        frames = [
            Output(stream, seq + i, offset + start, data[start : start + chunk_size])
            for i, start in enumerate(range(0, len(data), chunk_size))
        ]
        self._seq = seq + len(frames)
        self._frame_offset = offset + len(data)
        return frames

    def _cut(self, buf: bytes, pos: int, frames: list[Output]) -> None:
        """Emit every frame of ``buf[pos:]`` that is complete, then hold back the rest."""
        end = len(buf)
        chunk_size = self._chunk_size
        if self._mode == "text":
            # Strictly more than a window: the byte after the window is known, so the cut is final.
            while end - pos > chunk_size:
                pos = self._emit_window(buf, pos, end, frames)
            cut = end - _incomplete_tail(buf, pos, end)
        else:
            # A whole window without newline is emitted even when it ends the read: a line may not
            # hold back more than chunk_size - 1 bytes.
            while end - pos >= chunk_size:
                pos = self._emit_window(buf, pos, end, frames)
            newline = buf.rfind(b"\n", pos, end)
            cut = pos if newline < 0 else newline + 1
        if cut > pos:
            # buf[0:len(buf)] is buf itself in CPython, so a whole read passes through uncopied.
            self._emit(buf[pos:cut], frames)
        if cut < end:
            self._tail += memoryview(buf)[cut:end]

    def _emit_window(self, buf: bytes, pos: int, end: int, frames: list[Output]) -> int:
        """Emit the frame of the full window ``buf[pos : pos + chunk_size]``; return its end."""
        limit = pos + self._chunk_size
        if self._mode == "lines":
            newline = buf.rfind(b"\n", pos, limit)
            if newline >= 0:
                # A newline is ASCII, so cutting after it never splits a code point.
                self._emit(buf[pos : newline + 1], frames)
                return newline + 1
        if limit == end:
            # Nothing known after the window (lines mode only): hold back what could be completed.
            cut = limit - _incomplete_tail(buf, pos, limit)
        elif buf[limit] & 0xC0 != 0x80:
            # The next byte is not a continuation byte, so nothing is split here, even if the
            # window ends in a broken sequence: that is invalid whether we cut here or not.
            cut = limit
        else:
            cut = limit - _incomplete_tail(buf, pos, limit)
        self._emit(buf[pos:cut], frames)
        return cut

    def _emit(self, data: bytes, frames: list[Output]) -> None:
        invalid = 0 if self._mode == "binary" else _count_invalid(data)
        frames.append(Output(self._stream, self._seq, self._frame_offset, data, invalid))
        self._seq += 1
        self._frame_offset += len(data)
