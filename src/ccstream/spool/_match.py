"""Which lines hold a pattern: sans-I/O, no files, no anyio.

A :class:`Matcher` answers for a block of whole lines (grep's semantics: a line matches when the
pattern is found in it, its newline excluded; each matching line counts once). A literal is
found with ``bytes.find`` over the whole block, a regular expression with one ``re`` search over
the block; a line is only looked at on its own where the block search found a candidate, so the
cost per byte is that of one C pass.

A line longer than a block goes through a :class:`LongLine` instead, fed one window at a time
and never held whole: a literal is found exactly (the windows overlap by the literal's length
less one byte); a regular expression is applied to windows that overlap by :data:`OVERLAP` bytes,
so a match of at most that many bytes is found wherever it lies in the line. On such a line a
longer match is found when it fits in one window, and ``$`` or a lookahead may also hold at the
end of a window that is not the end of the line.

Case folding (``ignore_case``) is ASCII's, as for any pattern on bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..exceptions import InvalidOption

__all__ = ["OVERLAP", "LineHit", "LongLine", "Matcher"]

OVERLAP = 64 * 1024
"""Bytes the windows of a long line overlap by, for a regular expression."""


@dataclass(frozen=True, slots=True)
class LineHit:
    """A matching line of a block: it spans ``[start, end)`` of the block, its newline (if any)
    at ``end``; ``column``: where in the block the first match in it starts."""

    start: int
    end: int
    column: int


class Matcher:
    """A compiled pattern and the line search over blocks.

    ``pattern``: bytes (a ``str`` is encoded as UTF-8); ``regex``: a Python regular expression
    instead of a literal; ``ignore_case``: ASCII case folding. :class:`~ccstream.InvalidOption`
    for a regular expression that does not compile, or a literal with a newline (no line holds
    one).
    """

    __slots__ = ("_needle", "_regex", "ignore_case", "overlap", "pattern", "regex")

    def __init__(self, pattern: bytes | str, *, regex: bool = False, ignore_case: bool = False):
        if isinstance(pattern, str):
            pattern = pattern.encode()
        if not isinstance(pattern, bytes):
            raise InvalidOption(f"pattern must be bytes or str, got {type(pattern).__name__}")
        self.pattern = pattern
        self.regex = regex
        self.ignore_case = ignore_case
        self._regex: re.Pattern[bytes] | None = None
        self._needle = pattern.lower() if ignore_case else pattern
        if regex:
            flags = re.MULTILINE | (re.IGNORECASE if ignore_case else 0)
            try:
                self._regex = re.compile(pattern, flags)
            except re.error as exc:
                raise InvalidOption(f"not a regular expression: {exc}") from None
            self.overlap = OVERLAP
        else:
            if b"\n" in pattern:
                raise InvalidOption("a literal pattern cannot hold a newline (no line does)")
            self.overlap = max(0, len(pattern) - 1)

    def fold(self, block: bytes) -> bytes:
        """``block`` as the literal search sees it (lower case under ``ignore_case``)."""
        return block.lower() if self.ignore_case and self._regex is None else block

    def in_line(self, block: bytes, start: int, end: int) -> int:
        """Where the first match in the line ``block[start:end]`` starts, or -1. ``block`` was
        folded (:meth:`fold`); ``start`` is the start of a line or of the block."""
        rx = self._regex
        if rx is None:
            return block.find(self._needle, start, end)
        m = rx.search(block, start, end)
        return -1 if m is None else m.start()

    def in_window(self, window: bytes, begin: int, *, last: bool) -> int:
        """Where the first match in ``window[begin:]``, a piece of a long line, starts, or -1;
        ``last``: the line ends with the window."""
        rx = self._regex
        if rx is None:
            return window.find(self._needle, begin)
        m = rx.search(window, begin)
        if m is None:
            return -1
        end = len(window)
        if not last and m.end() == end and m.end() - m.start() <= self.overlap:
            # A short match touching the window's end may rest on ``$`` at an end that is not
            # the line's: the next window, which starts before it, decides.
            return -1
        return m.start()

    def lines(self, block: bytes, stop: int) -> list[LineHit]:
        """The matching lines of ``block[:stop]``, which starts at a line start and holds whole
        lines (``stop`` is just past a newline, or the end of a stream's last line); ``block``
        was folded (:meth:`fold`)."""
        hits: list[LineHit] = []
        rx = self._regex
        needle = self._needle
        i = 0
        while i < stop:
            if rx is None:
                at = block.find(needle, i, stop)
                if at < 0:
                    break
            else:
                m = rx.search(block, i, stop)
                if m is None:
                    break
                at = m.start()
            if at >= stop:
                break  # an empty match at the very end: no line starts there
            nl = block.rfind(b"\n", i, at)
            start = nl + 1 if nl >= 0 else i
            end = block.find(b"\n", at, stop)
            if end < 0:
                end = stop
            if rx is not None:
                # The block search may match across a newline: the line decides on its own.
                at = self.in_line(block, start, end)
            if at >= 0:
                hits.append(LineHit(start, end, at))
            i = end + 1
        return hits


@dataclass(frozen=True, slots=True)
class LongLine:
    """The search through one line longer than a block, fed window by window (see the module
    docstring); immutable, so a read that must start over loses nothing.

    ``offset``: where the line starts in its stream; ``line``: its number; ``seen``: bytes of it
    fed so far; ``head``: its first bytes, at most the caller's ``keep``; ``column``: where the
    first match starts in it, or -1; ``tail``: the last bytes fed (one more than the overlap,
    for the search of the next window).
    """

    offset: int
    line: int
    seen: int = 0
    head: bytes = b""
    column: int = -1
    tail: bytes = b""

    def feed(self, matcher: Matcher, piece: bytes, *, last: bool, keep: int) -> LongLine:
        """Account for the next ``piece`` of the line (no newline in it); ``last``: the line
        ends right after it. Returns the new state."""
        head = self.head
        if len(head) < keep:
            head = head + piece[: keep - len(head)]
        seen = self.seen + len(piece)
        column = self.column
        tail = b""
        if column < 0:
            window = self.tail + matcher.fold(piece)
            # Past the line's start the window begins with one byte before what is searched,
            # so ``^`` cannot hold there.
            begin = 0 if len(self.tail) == self.seen else 1
            at = matcher.in_window(window, begin, last=last)
            if at >= 0:
                column = self.seen - len(self.tail) + at
            elif not last:
                tail = window[-(matcher.overlap + 1) :]
        return replace(self, seen=seen, head=head, column=column, tail=tail)
