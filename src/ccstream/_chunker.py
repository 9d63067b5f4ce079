"""Cut one stream's bytes into :class:`~ccstream.Output` frames.

Sans-I/O: the pump feeds whatever each read returned, with the time of the read, and sends on the
frames that are ready; nothing here blocks, sleeps, reads a clock or touches a file. Frames of one
stream tile it exactly (no byte is dropped, duplicated or rewritten), so ``offset`` and ``seq`` can
be trusted by a reader that resumes.

Three modes decide where a frame may end:

``"binary"``
    Every ``chunk_size`` bytes; nothing is ever held back.
``"text"``
    As binary, but a UTF-8 code point is never split across frames. Up to 3 bytes of an incomplete
    sequence at the end of a read wait for the next read.
``"lines"``
    As text, and a frame ends right after the last newline of its ``chunk_size`` window. A partial
    last line (fewer than ``chunk_size`` bytes) waits for its newline.

Two waits are decided here too, on the time the caller passes in (``now``, monotonic seconds):

*coalescing*
    A read shorter than a frame (and than 64 KiB) waits up to ``coalesce`` seconds for more reads
    to join it, so a child printing line by line yields full frames, not a frame per line.
*linger*
    Bytes held back at the end of a frame (a partial line, an unfinished code point) wait at most
    ``linger`` seconds, from the time the oldest of them was fed, before they go out as they are,
    so a prompt without a newline still shows up promptly.

The chunker says when it wants to be woken (:attr:`Chunker.deadline`); the caller calls
:meth:`Chunker.tick` then, or with its next read. No fed byte is held past its deadline, and the
deadline of a byte fed at ``t`` is at most ``t + max(coalesce, linger)``.

Memory held back is bounded by the constructor: at most ``chunk_size - 1`` bytes of short reads,
plus at most 3 bytes in text mode and at most ``chunk_size - 1`` bytes in lines mode.
"""

from __future__ import annotations

import codecs
import math
from typing import Final, Literal, get_args

from ._check import check_int, check_number
from ._events import STREAMS, Output, StreamName
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
_BIG_READ: Final = 64 * 1024
"""Bytes: a read at least this long becomes frames at once; coalescing is for the small reads of a
child printing line by line, and joining a big read would copy it twice."""
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

    Call :meth:`feed` with each read, :meth:`tick` when :attr:`deadline` has come (or with any
    later read), and :meth:`flush` at end of input. Concatenating every frame's ``data`` gives
    back exactly the bytes fed; offsets are contiguous from ``offset`` and ``seq`` counts up by
    one from ``seq``.

    ``stream``: which pipe the frames belong to.
    ``chunk_size``: largest frame, in bytes; an ``int`` of at least :data:`MIN_CHUNK_SIZE`.
    ``mode``: ``"binary"``, ``"text"`` or ``"lines"``; see the module docstring.
    ``offset``: byte offset in the stream of the first byte that will be fed (for resuming).
    ``seq``: sequence number of the first frame this chunker will emit (for resuming).
    ``coalesce``: seconds a read shorter than a frame (and than 64 KiB) waits for more reads to
    join it; 0 (the default) emits every read at once.
    ``linger``: seconds held-back bytes wait for the rest of their line or code point before
    they are emitted as they are; ``None`` (the default) holds them until more input or
    :meth:`flush`.

    Raises :class:`~ccstream.exceptions.InvalidOption` for a wrong type or value.
    """

    __slots__ = (
        "_chunk_size",
        "_coalesce",
        "_frame_offset",
        "_linger",
        "_mode",
        "_seq",
        "_short",
        "_short_since",
        "_stream",
        "_tail",
        "_tail_since",
    )

    def __init__(
        self,
        stream: StreamName,
        *,
        chunk_size: int = 65536,
        mode: ChunkMode = "binary",
        offset: int = 0,
        seq: int = 0,
        coalesce: float = 0.0,
        linger: float | None = None,
    ) -> None:
        if stream not in STREAMS:
            raise InvalidOption(f"stream must be one of {sorted(STREAMS)}, not {stream!r}")
        check_int("chunk_size", chunk_size, minimum=MIN_CHUNK_SIZE)
        if mode not in _MODES:
            raise InvalidOption(f"mode must be one of {sorted(_MODES)}, not {mode!r}")
        check_int("offset", offset)
        check_int("seq", seq)
        check_number("coalesce", coalesce)
        check_number("linger", linger, positive=True, optional=True)
        self._stream: StreamName = stream
        self._chunk_size = chunk_size
        self._mode: ChunkMode = mode
        self._coalesce = coalesce
        self._linger = linger
        self._frame_offset = offset  # of the next frame, i.e. of the first held-back byte
        self._seq = seq
        # Bytearrays so that a partial line or a run of short reads growing by small reads is
        # appended in amortized O(1) rather than copied whole on every read. _tail holds what the
        # cutter held back (never over chunk_size - 1 bytes), _short the short reads after it
        # that wait to be joined (never over chunk_size - 1 bytes either).
        self._tail = bytearray()
        self._short = bytearray()
        # When the oldest byte of each was fed (at the latest; see _take).
        self._tail_since = 0.0
        self._short_since = 0.0

    @property
    def pending(self) -> int:
        """Bytes fed but not yet emitted: short reads waiting to be joined, plus at most 3 in
        text mode or under ``chunk_size`` in lines mode."""
        return len(self._tail) + len(self._short)

    @property
    def offset(self) -> int:
        """Byte offset in the stream of the next byte to be fed: the start offset plus all bytes
        fed so far."""
        return self._frame_offset + len(self._tail) + len(self._short)

    @property
    def next_read_size(self) -> int:
        """Bytes the next read should ask for: what fills the frame that short reads are
        gathering, else a whole frame. Reading no more than this lets the read's own bytes
        object become the frame, where one large read cut into frames would copy every byte."""
        return self._chunk_size - len(self._short)

    @property
    def deadline(self) -> float | None:
        """When (monotonic seconds, the clock of ``now``) held-back bytes are due to go out:
        call :meth:`tick` then. ``None`` while nothing waits on a clock."""
        wake = math.inf
        if self._short:
            wake = self._short_since + self._coalesce
        if self._tail and self._linger is not None:
            wake = min(wake, self._tail_since + self._linger)
        return None if wake == math.inf else wake

    def feed(self, data: bytes, now: float = 0.0) -> list[Output]:
        """Take the bytes of one read, made at ``now`` (monotonic seconds; only the waits use
        it); return the frames that are complete now, in order.

        May return an empty list (an empty read, or only bytes that are held back). In binary mode
        a read of at most ``chunk_size`` bytes that does not wait comes back as one frame holding
        ``data`` itself, not a copy.
        """
        if type(data) is not bytes:
            # Frames must own immutable bytes; a caller's bytearray could change under them.
            data = bytes(data)
        short = self._short
        if short:
            if len(short) + len(data) < self._chunk_size:
                short += data
                return []
            data = b"".join((short, data))
            short.clear()
            return self._take(data, self._short_since)
        size = len(data)
        if self._coalesce and size < self._chunk_size and size < _BIG_READ:
            if size:
                short += data
                self._short_since = now
            return []
        if self._mode == "binary":
            return self._feed_binary(data)  # the 1 GiB/s path: no time to keep
        return self._take(data, now)

    def tick(self, now: float) -> list[Output]:
        """Emit what has waited its time by ``now`` (monotonic seconds); return the frames.

        Short reads whose ``coalesce`` ran out go to the cutter (which may still hold back their
        partial last line); held-back bytes whose ``linger`` ran out go out as they are, like
        :meth:`flush` does. Calling it early is harmless: it returns nothing.
        """
        frames: list[Output] = []
        if self._short and now >= self._short_since + self._coalesce:
            frames = self._release_short()
        if self._tail and self._linger is not None and now >= self._tail_since + self._linger:
            frames += self._flush_tail()
        return frames

    def flush(self) -> list[Output]:
        """Emit every held-back byte now; return the frames (at most two: the tail held back by
        the cut, then the short reads after it).

        Use at end of input, or when the caller decides the stream is idle. The last frame may end
        mid-line, and in text mode an incomplete sequence it ends with is counted in
        ``invalid_bytes`` (if more bytes follow, they are counted invalid too: the sequence was
        split on purpose).
        """
        frames = self._release_short() if self._short else []
        if self._tail:
            frames += self._flush_tail()
        return frames

    def _release_short(self) -> list[Output]:
        data = bytes(self._short)
        self._short.clear()
        return self._take(data, self._short_since)

    def _flush_tail(self) -> list[Output]:
        data = bytes(self._tail)
        self._tail.clear()
        frames: list[Output] = []
        self._emit(data, frames)
        return frames

    def _take(self, data: bytes, since: float) -> list[Output]:
        """Cut ``data``, whose oldest byte was fed at ``since``."""
        if self._mode == "binary":
            return self._feed_binary(data)
        start = self._frame_offset + len(self._tail)  # stream offset of data[0]
        frames = self._cut_read(data)
        if self._frame_offset >= start:
            # Whatever is held back now was fed with data; else the older tail bytes are still
            # there and keep their own (earlier) time.
            self._tail_since = since
        return frames

    def _cut_read(self, data: bytes) -> list[Output]:
        size = len(data)
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
