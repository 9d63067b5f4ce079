"""Selective output: keep a stream's head and tail, filter its lines, count all that is dropped.

Sans-I/O and synchronous: feed bytes with :meth:`Selector.feed` as they arrive and take back the
bytes that belong to the head now; at end of input take the last head bytes with
:meth:`Selector.flush` and the full account with :meth:`Selector.finish`. One selector per stream.

Nothing is dropped silently. Every byte of input ends up in exactly one of four places, and the
:class:`Selection` says how many bytes and lines went to each:

- **filtered**: whole lines dropped by the include/exclude patterns;
- **head**: the first bytes of what the patterns selected, up to the head caps;
- **tail**: the last bytes of what the patterns selected, up to the tail caps, never overlapping
  the head;
- **omitted**: what the patterns selected that lies between head and tail.

Lines are counted by their ends: each ``b"\\n"`` ends a line, and so does the end of the stream
when its last byte is not ``b"\\n"`` (the same count as :class:`ccstream.StreamStats`). A line
belongs to the part that holds its end, so a line cut by a byte cap is counted once, where it ends.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from ._check import check_int
from .exceptions import InvalidOption

# The public names (ccstream re-exports them); the rest is for the package.
__all__ = ["Selection", "Selector"]

DEFAULT_MAX_LINE_BYTES = 1024 * 1024
"""Default for ``max_line_bytes``: 1 MiB."""

LinePattern: TypeAlias = str | bytes | re.Pattern[bytes]
"""A line pattern: a regular expression as ``str`` (encoded as UTF-8) or ``bytes``, or compiled
from ``bytes``. It is searched for anywhere in the line, as with ``re.search``."""

# Stands in for "no cap" so the hot path does plain integer arithmetic instead of None checks.
_UNLIMITED = sys.maxsize

# Lines are filtered in batches of about this many bytes (see Selector._filter).
_BATCH = 64 * 1024

# Tail pieces smaller than this are merged on arrival. A piece costs about 100 bytes of bookkeeping
# (bytes header, tuple, deque slot), so a stream fed in tiny reads would otherwise let the overhead
# outgrow the tail itself; merging copies at most this much per feed.
_MERGE_BELOW = 4096


@dataclass(frozen=True, slots=True)
class Selection:
    """What a :class:`Selector` kept and dropped of one stream. Sizes in bytes, lines as defined
    in the module docstring.

    The parts account for every byte and every line of input::

        total_bytes == head_size + omitted_bytes + len(tail) + filtered_bytes
        total_lines == head_lines + omitted_lines + tail_lines + filtered_lines

    ``head`` is the head itself, or ``b""`` when the selector was made with ``keep_head=False``
    (the caller took the head from ``feed()`` and ``flush()``); ``head_size`` is its size either
    way. ``head + tail`` is the whole selected output when ``omitted_bytes == 0``.
    """

    head: bytes
    tail: bytes
    head_size: int
    head_lines: int
    tail_lines: int
    omitted_bytes: int
    omitted_lines: int
    filtered_bytes: int
    filtered_lines: int
    total_bytes: int
    total_lines: int

    @property
    def complete(self) -> bool:
        """True when nothing was omitted by a cap or dropped by a pattern."""
        return self.omitted_bytes == 0 and self.filtered_bytes == 0


class Selector:
    """Head/tail caps and line filters for one stream, with every omission counted.

    Caps (``None`` = no cap; ``0`` is allowed):

    - ``head_bytes`` / ``head_lines``: the head is the first bytes / lines of the selected output,
      whichever cap is reached first. A byte cap may cut inside a line; the rest of that line goes
      to the tail or is omitted.
    - ``tail_bytes`` / ``tail_lines``: the tail is the last bytes / lines of the selected output
      after the head, whichever cap is reached first. It may start inside a line.
    - A side with no cap of its own is empty when the other side has one (``tail_lines=10`` alone
      is ``tail -n 10``). With no caps at all everything selected goes to the head; memory is then
      unbounded unless ``keep_head=False``.
    - A line cap with no byte cap on the same side also caps that side at
      ``lines * max_line_bytes`` bytes, so memory stays bounded on input with few newlines.

    Patterns (``include`` / ``exclude``): a line is kept when it matches any include pattern (or
    there are none) and no exclude pattern. Patterns see the line without its ``b"\\n"``. A line
    longer than ``max_line_bytes`` is judged on its first ``max_line_bytes`` bytes: holding a whole
    line to match it would make memory as large as the longest line, which for binary or minified
    output is the whole stream. A pattern that needs to see past that prefix (``$``, a late word)
    may therefore judge such a line differently than ``re`` would on the whole line. Without
    patterns the input is never split into lines.

    ``keep_head``: keep the head for :meth:`finish` (as :func:`ccstream.run` needs). Live
    consumers that forward what :meth:`feed` returns pass ``False`` so the head is not held twice.

    Memory held: at most the head (when kept) plus the tail caps plus ``max_line_bytes`` of one
    partial line; while a chunk is fed, also that chunk and, with patterns, the line objects of
    one batch of about 64 KiB.
    """

    __slots__ = (
        "_deciding",
        "_exclude",
        "_filtered_bytes",
        "_filtered_lines",
        "_finished",
        "_flushed",
        "_has_tail",
        "_head",
        "_head_nl",
        "_head_open",
        "_head_room_bytes",
        "_head_room_lines",
        "_head_size",
        "_include",
        "_keep_head",
        "_match",
        "_max_line",
        "_omitted_bytes",
        "_omitted_nl",
        "_patterns",
        "_pending",
        "_ring",
        "_ring_nl",
        "_ring_size",
        "_selected_any",
        "_selected_ends_nl",
        "_tail_cap_bytes",
        "_tail_cap_lines",
        "_total_bytes",
    )

    def __init__(
        self,
        *,
        head_bytes: int | None = None,
        tail_bytes: int | None = None,
        head_lines: int | None = None,
        tail_lines: int | None = None,
        include: Sequence[LinePattern] = (),
        exclude: Sequence[LinePattern] = (),
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        keep_head: bool = True,
    ) -> None:
        caps = {
            "head_bytes": head_bytes,
            "tail_bytes": tail_bytes,
            "head_lines": head_lines,
            "tail_lines": tail_lines,
        }
        for name, cap in caps.items():
            check_int(name, cap, optional=True)
        check_int("max_line_bytes", max_line_bytes, minimum=1)
        if not isinstance(keep_head, bool):
            raise InvalidOption(f"keep_head must be a bool, not {keep_head!r}")

        self._include = _compile_all("include", include)
        self._exclude = _compile_all("exclude", exclude)
        self._patterns = bool(self._include or self._exclude)
        self._match = _matcher(self._include, self._exclude)
        self._max_line = max_line_bytes
        self._keep_head = keep_head

        if all(cap is None for cap in caps.values()):
            self._head_room_bytes, self._head_room_lines = _UNLIMITED, _UNLIMITED
            self._tail_cap_bytes, self._tail_cap_lines = 0, 0
        else:
            self._head_room_bytes, self._head_room_lines = _side(
                head_bytes, head_lines, max_line_bytes
            )
            self._tail_cap_bytes, self._tail_cap_lines = _side(
                tail_bytes, tail_lines, max_line_bytes
            )
        self._head_open = self._head_room_bytes > 0 and self._head_room_lines > 0
        self._has_tail = self._tail_cap_bytes > 0 and self._tail_cap_lines > 0

        self._head = bytearray()
        self._head_size = 0
        self._head_nl = 0
        # The tail ring: pieces of selected output with their newline counts, oldest on the left.
        self._ring: deque[tuple[bytes, int]] = deque()
        self._ring_size = 0
        self._ring_nl = 0
        self._omitted_bytes = 0
        self._omitted_nl = 0
        self._filtered_bytes = 0
        self._filtered_lines = 0
        self._total_bytes = 0
        self._selected_any = False
        self._selected_ends_nl = False
        # The start of a line whose end has not arrived; always shorter than max_line_bytes.
        self._pending = bytearray()
        # For a line judged on its first max_line_bytes while its end has not arrived: whether it
        # was kept, so the rest of it follows the same way. None between lines.
        self._deciding: bool | None = None
        self._flushed = False
        self._finished: Selection | None = None

    def feed(self, data: bytes) -> bytes:
        """Take the next bytes of the stream; return the bytes that now belong to the head.

        Without patterns the head bytes pass at once, even mid-line. With patterns a line passes
        when its end has arrived or it has reached ``max_line_bytes``. The tail is only known at
        the end (:meth:`finish`). Raises ``RuntimeError`` after :meth:`flush` or :meth:`finish`.
        """
        if self._flushed:
            raise RuntimeError("Selector.feed() called after flush() or finish()")
        if not data:
            return b""
        self._total_bytes += len(data)
        if not self._patterns:
            return self._cap(data)
        return self._filter(data)

    def flush(self) -> bytes:
        """End of input: return the head bytes :meth:`feed` could not yet pass (with patterns, an
        unterminated last line). Further calls return ``b""``."""
        if self._flushed:
            return b""
        self._flushed = True
        if self._pending:
            # The last line has no b"\n"; it is shorter than max_line_bytes, so it is judged whole.
            line = bytes(self._pending)
            self._pending.clear()
            if self._keep(line):
                return self._cap(line)
            self._filtered_bytes += len(line)
            self._filtered_lines += 1
        self._deciding = None
        return b""

    def finish(self) -> Selection:
        """End of input (flushing if needed) and the account of the whole stream. Idempotent."""
        if self._finished is not None:
            return self._finished
        self.flush()
        head_lines, omitted_lines, tail_lines = self._head_nl, self._omitted_nl, self._ring_nl
        if self._selected_any and not self._selected_ends_nl:
            # The selected output ends without b"\n": its last line ends with the stream, which
            # is one more line end for a line cap to count; trim the tail for it, then credit the
            # line to whichever part now holds the last byte.
            if self._has_tail and self._ring_nl >= self._tail_cap_lines:
                self._trim_lines(self._ring_nl - self._tail_cap_lines + 1)
                tail_lines, omitted_lines = self._ring_nl, self._omitted_nl
            if self._ring:
                tail_lines += 1
            elif self._omitted_bytes:
                omitted_lines += 1
            else:
                head_lines += 1
        self._finished = Selection(
            head=bytes(self._head),
            tail=b"".join(piece for piece, _ in self._ring),
            head_size=self._head_size,
            head_lines=head_lines,
            tail_lines=tail_lines,
            omitted_bytes=self._omitted_bytes,
            omitted_lines=omitted_lines,
            filtered_bytes=self._filtered_bytes,
            filtered_lines=self._filtered_lines,
            total_bytes=self._total_bytes,
            total_lines=head_lines + omitted_lines + tail_lines + self._filtered_lines,
        )
        self._head = bytearray()
        self._ring.clear()
        return self._finished

    # -- patterns -------------------------------------------------------------------------------

    def _keep(self, content: bytes) -> bool:
        return bool(self._match(content))

    def _filter(self, data: bytes) -> bytes:
        """Split ``data`` into lines, pass the kept ones on to the caps as one piece."""
        kept: list[bytes] = []
        pos = 0
        end = len(data)
        if self._deciding is not None:
            nl = data.find(b"\n")
            stop = end if nl < 0 else nl + 1
            if self._deciding:
                kept.append(data[:stop])
            else:
                self._filtered_bytes += stop
            if nl < 0:
                return self._cap(kept[0]) if kept else b""
            self._deciding = None
            pos = stop
        elif self._pending:
            nl = data.find(b"\n")
            if nl >= 0:
                line = bytes(self._pending) + data[: nl + 1]
                self._pending.clear()
                self._judge_lines(line, kept)
                pos = nl + 1

        last = data.rfind(b"\n", pos)
        while pos <= last:
            # Whole lines in batches of about _BATCH bytes: split() and map() run in C, and the
            # per-line objects they make stay a bounded multiple of the batch, not of the chunk.
            cut = data.find(b"\n", min(pos + _BATCH, last))
            self._judge_lines(data[pos : cut + 1], kept)
            pos = cut + 1

        if pos < end:
            if len(self._pending) + end - pos < self._max_line:
                self._pending += data[pos:]
            else:
                # The line reached max_line_bytes without an end: judge it on that prefix now and
                # let the rest of it follow the verdict, rather than hold it.
                start = bytes(self._pending) + data[pos:]
                self._pending.clear()
                self._deciding = self._keep(start[: self._max_line])
                if self._deciding:
                    kept.append(start)
                else:
                    self._filtered_bytes += len(start)
                    self._filtered_lines += 1

        if not kept:
            return b""
        return self._cap(kept[0] if len(kept) == 1 else b"".join(kept))

    def _judge_lines(self, lines: bytes, kept: list[bytes]) -> None:
        """Filter ``lines`` (whole lines, the last ending in b"\\n"); append what is kept."""
        contents = lines.split(b"\n")
        contents.pop()  # the empty piece after the final b"\n"
        probes = contents
        max_line = self._max_line
        if len(lines) > max_line and max(map(len, contents)) > max_line:
            probes = [content[:max_line] for content in contents]
        passed = list(itertools.compress(contents, map(self._match, probes)))
        if len(passed) == len(contents):
            kept.append(lines)
            return
        passed_size = sum(map(len, passed)) + len(passed)
        self._filtered_bytes += len(lines) - passed_size
        self._filtered_lines += len(contents) - len(passed)
        if passed:
            passed.append(b"")  # so that join() ends the last kept line with its b"\n"
            kept.append(b"\n".join(passed))

    # -- caps -----------------------------------------------------------------------------------

    def _cap(self, data: bytes) -> bytes:
        """Route selected bytes to the head, the tail ring or the omitted count; return the head
        part. Works on whole chunks with ``count``/``find`` and slicing, never per line."""
        self._selected_any = True
        self._selected_ends_nl = data[-1] == 0x0A
        if not self._head_open:
            self._to_tail(data)
            return b""
        cut = min(len(data), self._head_room_bytes)
        nl = data.count(b"\n", 0, cut)
        if nl >= self._head_room_lines:
            cut = _after_nth_newline(data, self._head_room_lines, 0, cut, nl)
            nl = self._head_room_lines
        head = data if cut == len(data) else data[:cut]
        self._head_room_bytes -= cut
        self._head_room_lines -= nl
        self._head_size += cut
        self._head_nl += nl
        if self._keep_head:
            self._head += head
        if self._head_room_bytes == 0 or self._head_room_lines == 0:
            self._head_open = False
        if cut < len(data):
            self._to_tail(data[cut:])
        return head

    def _to_tail(self, data: bytes) -> None:
        if not self._has_tail:
            self._omitted_bytes += len(data)
            self._omitted_nl += data.count(b"\n")
            return
        cap = self._tail_cap_bytes
        if len(data) >= cap:
            # The whole ring and the front of data fall out at once: one count over data and no
            # per-piece work, which is the common case for big reads after the head is full.
            self._omitted_bytes += self._ring_size
            self._omitted_nl += self._ring_nl
            self._ring.clear()
            self._ring_size = self._ring_nl = 0
            drop = len(data) - cap
            if drop:
                self._omitted_bytes += drop
                self._omitted_nl += data.count(b"\n", 0, drop)
                data = data[drop:]
        nl = data.count(b"\n")
        ring = self._ring
        if ring and len(ring[-1][0]) + len(data) < _MERGE_BELOW:
            last, last_nl = ring.pop()
            ring.append((last + data, last_nl + nl))
        else:
            ring.append((data, nl))
        self._ring_size += len(data)
        self._ring_nl += nl
        if self._ring_size > cap:
            self._trim_bytes(self._ring_size - cap)
        if self._ring_nl > self._tail_cap_lines:
            self._trim_lines(self._ring_nl - self._tail_cap_lines)

    def _trim_bytes(self, excess: int) -> None:
        """Move the oldest ``excess`` bytes of the ring to the omitted count."""
        ring = self._ring
        while excess:
            piece, nl = ring[0]
            if len(piece) <= excess:
                ring.popleft()
                size, dropped_nl = len(piece), nl
            else:
                size, dropped_nl = excess, piece.count(b"\n", 0, excess)
                ring[0] = (piece[excess:], nl - dropped_nl)
            self._ring_size -= size
            self._ring_nl -= dropped_nl
            self._omitted_bytes += size
            self._omitted_nl += dropped_nl
            excess -= size

    def _trim_lines(self, lines: int) -> None:
        """Move the ring's bytes up to and including its ``lines``-th newline to the omitted
        count."""
        ring = self._ring
        while lines:
            piece, nl = ring[0]
            if nl < lines:
                ring.popleft()
                size, dropped_nl = len(piece), nl
            else:
                size = _after_nth_newline(piece, lines, 0, len(piece), nl)
                dropped_nl = lines
                if size == len(piece):
                    ring.popleft()
                else:
                    ring[0] = (piece[size:], nl - lines)
            self._ring_size -= size
            self._ring_nl -= dropped_nl
            self._omitted_bytes += size
            self._omitted_nl += dropped_nl
            lines -= dropped_nl


def _after_nth_newline(buf: bytes, n: int, start: int, end: int, count: int) -> int:
    """The index just past the ``n``-th newline (from 1) of ``buf[start:end]``, which holds
    ``count >= n`` newlines."""
    # Walk from the nearer side: min(n, count - n + 1) calls to find(), not one per line.
    if count - n < n:
        pos = end
        for _ in range(count - n + 1):
            pos = buf.rfind(b"\n", start, pos)
        return pos + 1
    pos = start
    for _ in range(n):
        pos = buf.find(b"\n", pos, end) + 1
    return pos


def _side(cap_bytes: int | None, cap_lines: int | None, max_line_bytes: int) -> tuple[int, int]:
    """One side's (bytes, lines) limits, when some cap was given for either side."""
    if cap_bytes is None and cap_lines is None:
        return 0, 0
    if cap_lines is None:
        return cap_bytes if cap_bytes is not None else _UNLIMITED, _UNLIMITED
    return (cap_bytes if cap_bytes is not None else cap_lines * max_line_bytes), cap_lines


def _matcher(
    include: Sequence[re.Pattern[bytes]], exclude: Sequence[re.Pattern[bytes]]
) -> Callable[[bytes], object]:
    """A function of a line's content that is truthy when the line is kept."""
    # This runs once per line, so the common cases avoid layers of Python calls: a single include
    # is its own search, and the loops below stop at the first pattern that decides.
    if len(include) == 1 and not exclude:
        return include[0].search
    searches_in = tuple(p.search for p in include)
    searches_out = tuple(p.search for p in exclude)
    if not include and len(exclude) == 1:
        search_out = searches_out[0]
        return lambda content: search_out(content) is None

    def keep(content: bytes) -> bool:
        if searches_in:
            for search in searches_in:
                if search(content):
                    break
            else:
                return False
        for search in searches_out:  # noqa: SIM110 (a loop: no generator per line)
            if search(content):
                return False
        return True

    return keep


def _compile_all(name: str, patterns: Sequence[LinePattern]) -> tuple[re.Pattern[bytes], ...]:
    # A lone str or bytes is itself a sequence (of characters), which would silently become a
    # pattern per character; refuse it instead.
    if isinstance(patterns, (str, bytes, re.Pattern)):
        raise InvalidOption(f"{name} must be a sequence of patterns, not a single {patterns!r}")
    compiled: list[re.Pattern[bytes]] = []
    for pattern in patterns:
        if isinstance(pattern, re.Pattern):
            if not isinstance(pattern.pattern, bytes):
                raise InvalidOption(f"{name} pattern {pattern!r} must be compiled from bytes")
            compiled.append(pattern)
            continue
        if isinstance(pattern, str):
            source = pattern.encode("utf-8")
        elif isinstance(pattern, bytes):
            source = pattern
        else:
            raise InvalidOption(f"{name} pattern must be str, bytes or re.Pattern, not {pattern!r}")
        try:
            compiled.append(re.compile(source))
        except re.error as exc:
            raise InvalidOption(f"{name} pattern {pattern!r} is not a valid regex: {exc}") from exc
    return tuple(compiled)
