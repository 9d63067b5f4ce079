"""Compression policy for output frames: compress only when it pays, never send a frame larger.

Sans-I/O and synchronous. :class:`Compressor` turns each frame's bytes into a :class:`Packed`
payload that is either compressed or the original bytes (``encoding=None``); :class:`Decompressor`
mirrors it on the client side. The rule, from the project's origin notes: a frame is sent
compressed only when it is at least ``min_size`` bytes and compressing saves at least
``min_saving`` of it (default 20%); otherwise it goes raw, so a payload is never larger than the
frame it carries.

Two modes:

- ``"independent"``: every compressed payload is a complete gzip member (``mtime`` 0, so the
  output is deterministic) or zlib stream and decodes alone, in any order, with
  :func:`decompress`.
- ``"streaming"``: one compression context spans all the frames of a stream, so repetitive output
  (logs) compresses better. The stream is one gzip member (or one zlib stream) cut at
  ``Z_SYNC_FLUSH`` points: its header travels in the first frame that is sent compressed, every
  compressed frame decodes as soon as it arrives, and the member is never closed (there is no
  trailer; the stream ends when the transport says so). Compressed frames must reach one
  :class:`Decompressor` in order; raw frames may be interleaved freely, they bypass the context on
  both sides.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Literal, TypeAlias

from ._check import check_int, check_number
from .exceptions import DecompressionError, DecompressionLimitExceeded, InvalidOption

# The public names (ccstream re-exports them); the rest is for the package.
__all__ = ["Compressor", "Decompressor", "Packed", "decompress"]

Encoding: TypeAlias = Literal["gzip", "zlib"]
"""A compressed payload's format."""

Mode: TypeAlias = Literal["streaming", "independent"]
"""Whether compressed payloads share one context (``"streaming"``) or each stands alone."""

DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024
"""Default for ``max_output``: 64 MiB decoded per payload."""

# zlib's wbits: 16 + 15 asks for a gzip header and trailer, 15 for the zlib ones, both with the
# largest (32 KiB) window.
_WBITS: dict[str, int] = {"gzip": 31, "zlib": 15}
_MODES = ("streaming", "independent")


@dataclass(frozen=True, slots=True)
class Packed:
    """One frame as it goes on the wire: ``payload`` is compressed in ``encoding``, or is the
    frame itself when ``encoding`` is ``None``. ``size`` is the frame's original size in bytes;
    ``len(payload) <= size`` always."""

    payload: bytes
    encoding: Encoding | None
    size: int


class Compressor:
    """Decides per frame whether to compress, and compresses (see the module docstring).

    ``min_saving``: the share of the frame compression must save, in ``[0, 1)``; a frame is sent
    compressed when ``size - len(payload) >= min_saving * size`` and the payload is strictly
    smaller. ``min_size``: frames shorter than this many bytes are sent raw without trying.
    ``level``: zlib level 0-9 (0 stores, so nothing is ever compressed).
    """

    __slots__ = ("_encoding", "_level", "_min_saving", "_min_size", "_z")

    def __init__(
        self,
        encoding: Encoding = "gzip",
        *,
        mode: Mode = "independent",
        min_saving: float = 0.2,
        min_size: int = 512,
        level: int = 6,
    ) -> None:
        _check_encoding(encoding)
        _check_mode(mode)
        check_number("min_saving", min_saving, maximum=1.0)
        if min_saving == 1:
            raise InvalidOption(f"min_saving must be below 1, got {min_saving!r}")
        check_int("min_size", min_size)
        check_int("level", level, maximum=9)
        self._encoding: Encoding = encoding
        self._min_saving = float(min_saving)
        self._min_size = min_size
        self._level = level
        self._z = _compressobj(encoding, level) if mode == "streaming" else None

    def compress(self, data: bytes) -> Packed:
        """Pack one frame: compressed when worth it, else ``data`` itself."""
        size = len(data)
        if size == 0 or size < self._min_size:
            return Packed(data, None, size)
        if self._z is None:
            one = _compressobj(self._encoding, self._level)
            payload = one.compress(data) + one.flush()
            if not self._worth(size, len(payload)):
                return Packed(data, None, size)
            return Packed(payload, self._encoding, size)
        # The decoder's history only ever holds frames that were sent compressed. If this frame
        # went into our history and then out raw, later frames could point back into bytes the
        # decoder never saw and decode to garbage. So try on a copy of the context and adopt the
        # copy only when the frame is sent compressed.
        trial = self._z.copy()
        payload = trial.compress(data) + trial.flush(zlib.Z_SYNC_FLUSH)
        if not self._worth(size, len(payload)):
            return Packed(data, None, size)
        self._z = trial
        return Packed(payload, self._encoding, size)

    def _worth(self, size: int, packed: int) -> bool:
        return packed < size and size - packed >= self._min_saving * size


class Decompressor:
    """The client side of a :class:`Compressor` made with the same ``encoding`` and ``mode``.

    ``max_output``: the most bytes one payload may decode to; more is refused (a zip bomb) with
    :class:`~ccstream.DecompressionError`. In streaming mode an error leaves the shared context in
    an unknown state, so every later compressed payload is refused too.
    """

    __slots__ = ("_broken", "_d", "_encoding", "_max_output")

    def __init__(
        self,
        encoding: Encoding = "gzip",
        *,
        mode: Mode = "independent",
        max_output: int = DEFAULT_MAX_OUTPUT,
    ) -> None:
        _check_encoding(encoding)
        _check_mode(mode)
        _check_max_output(max_output)
        self._encoding = encoding
        self._max_output = max_output
        self._d = zlib.decompressobj(_WBITS[encoding]) if mode == "streaming" else None
        self._broken = False

    def decompress(self, payload: bytes, encoding: Encoding | None) -> bytes:
        """Decode one payload as packed by the matching :class:`Compressor`; ``encoding=None``
        passes ``payload`` through. Raises :class:`~ccstream.DecompressionError` for an encoding
        other than this decompressor's, corrupt data, or more than ``max_output`` bytes."""
        if encoding is None:
            return payload
        if encoding != self._encoding:
            raise DecompressionError(
                f"payload is {encoding!r} but this decompressor expects {self._encoding!r}"
            )
        if self._d is None:
            return _decompress_one(payload, self._encoding, self._max_output)
        if self._broken:
            raise DecompressionError("the compressed stream is unusable after an earlier error")
        try:
            out = _bounded(self._d, payload, self._max_output)
            if self._d.unused_data:
                raise DecompressionError("data after the end of the compressed stream")
        except DecompressionError:
            self._broken = True
            raise
        return out


def decompress(
    payload: bytes, encoding: Encoding | None, *, max_output: int = DEFAULT_MAX_OUTPUT
) -> bytes:
    """Decode one independent payload (``mode="independent"``); ``encoding=None`` passes
    ``payload`` through. At most ``max_output`` bytes are decoded; more, corrupt, truncated or
    trailing data raise :class:`~ccstream.DecompressionError`."""
    _check_max_output(max_output)
    if encoding is None:
        return payload
    if encoding not in _WBITS:
        raise DecompressionError(f"unknown encoding {encoding!r}")
    return _decompress_one(payload, encoding, max_output)


def _decompress_one(payload: bytes, encoding: Encoding, max_output: int) -> bytes:
    d = zlib.decompressobj(_WBITS[encoding])
    out = _bounded(d, payload, max_output)
    if not d.eof:
        raise DecompressionError(f"truncated {encoding} payload")
    if d.unused_data:
        raise DecompressionError(f"{len(d.unused_data)} bytes after the end of the {encoding} data")
    return out


def _bounded(d: zlib._Decompress, payload: bytes, max_output: int) -> bytes:
    """Decode ``payload`` with ``d`` into at most ``max_output`` bytes."""
    # Asking for one byte more than allowed tells "exactly the limit" from "over it" without ever
    # holding more than the limit plus one byte.
    try:
        out = d.decompress(payload, max_output + 1)
    except zlib.error as exc:
        raise DecompressionError(f"corrupt compressed payload: {exc}") from exc
    if len(out) > max_output or d.unconsumed_tail:
        raise DecompressionLimitExceeded(
            f"payload decodes to more than max_output={max_output} bytes"
        )
    return out


def _compressobj(encoding: Encoding, level: int) -> zlib._Compress:
    # zlib writes a gzip header with mtime 0 and no file name, so the output is deterministic.
    return zlib.compressobj(level, zlib.DEFLATED, _WBITS[encoding])


def _check_encoding(encoding: object) -> None:
    if encoding not in _WBITS:
        raise InvalidOption(f"encoding must be 'gzip' or 'zlib', not {encoding!r}")


def _check_mode(mode: object) -> None:
    if mode not in _MODES:
        raise InvalidOption(f"mode must be 'streaming' or 'independent', not {mode!r}")


def _check_max_output(max_output: object) -> None:
    check_int("max_output", max_output, minimum=1)
