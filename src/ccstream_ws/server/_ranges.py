"""HTTP ``Range`` and ``Accept-Encoding``, sans-I/O: header values in, decisions out.

Sizes and offsets are in bytes; a :class:`ByteRange` is half-open (``end`` is exclusive), unlike
the header's inclusive ``last``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ByteRange", "Unsatisfiable", "accepts_gzip", "content_range", "parse_range"]

_MAX_HEADER = 1024


class Unsatisfiable(Exception):
    """The range starts at or past the end of what exists (HTTP 416)."""


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes ``start`` to ``end - 1``."""

    start: int
    end: int

    @property
    def length(self) -> int:
        """Bytes in the range."""
        return self.end - self.start


def _digits(text: str) -> int | None:
    text = text.strip()
    # int() alone would take "+5", " 5" and "5_000"; a byte position is plain digits.
    if not text or not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    return int(text)


def parse_range(value: str | None, size: int) -> ByteRange | None:
    """The one byte range ``value`` asks for, clipped to ``size`` bytes.

    ``None`` means "send everything": no header, a unit other than bytes, a malformed value, or
    several ranges (a server may ignore any Range header; multipart answers are not worth their
    complexity for logs). Raises :class:`Unsatisfiable` when the range lies wholly past ``size``.
    """
    if value is None or len(value) > _MAX_HEADER:
        return None
    unit, sep, spec = value.partition("=")
    if not sep or unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.partition("-")
    if not dash:
        return None
    if not first_text.strip():
        suffix = _digits(last_text)
        if suffix is None:
            return None
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return ByteRange(max(0, size - suffix), size)
    first = _digits(first_text)
    if first is None:
        return None
    if last_text.strip():
        last = _digits(last_text)
        if last is None or last < first:
            return None
        end = min(last + 1, size)
    else:
        end = size
    if first >= size:
        raise Unsatisfiable
    return ByteRange(first, end)


def content_range(byte_range: ByteRange | None, size: int | None) -> str:
    """A ``Content-Range`` value: ``bytes 0-99/1000``; ``*`` for a size not final yet; for a
    416 answer (``byte_range`` None) ``bytes */1000``."""
    total = "*" if size is None else str(size)
    if byte_range is None:
        return f"bytes */{total}"
    return f"bytes {byte_range.start}-{byte_range.end - 1}/{total}"


def accepts_gzip(value: str | None) -> bool:
    """Whether an ``Accept-Encoding`` value allows gzip (explicitly, or through ``*``), with a
    quality above zero."""
    if not value or len(value) > _MAX_HEADER:
        return False
    wildcard: bool | None = None
    for item in value.split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            key, _, raw = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(raw.strip())
                except ValueError:
                    quality = 0.0
        if name in ("gzip", "x-gzip"):
            return quality > 0
        if name == "*":
            wildcard = quality > 0
    return bool(wildcard)
