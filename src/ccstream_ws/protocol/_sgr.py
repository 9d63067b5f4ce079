"""The terminal style (SGR) that a stretch of output leaves in effect, sans-I/O.

Bytes in, the style out: :class:`SgrState` follows the SGR sequences (``ESC [ ... m``: 16, 256
and 24-bit colours, bold, dim, italic, underline, inverse, reset) in output fed to it in any
pieces, and :meth:`SgrState.params` gives the style as the canonical parameters of one SGR
sequence that sets it from the default (``"1;31"``; ``""`` for the default). Every other escape
sequence (other CSI, OSC, DCS and the like, two-character escapes) is skipped, as the viewer's
parser (``static/js/ansi.js``) skips it; both give the same parameters for the same input, so the
server can tell a page from the middle of a run which style its first line starts in.

The tracker holds at most :data:`MAX_SEQUENCE` bytes of a sequence split across feeds: a longer
CSI sequence is dropped whole (it changes nothing), and a string (OSC and the like) is skipped
to its end without being held.
"""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = ["DEFAULT_STYLE", "MAX_SEQUENCE", "SgrState", "Style"]

MAX_SEQUENCE = 256
"""Bytes of a CSI sequence's parameters kept; a sequence with more is dropped whole."""

Colour = int | str | None
"""``None`` (the default colour), a palette index 0-255, or ``"#rrggbb"``."""

Style = tuple[Colour, Colour, bool, bool, bool, bool, bool]
"""``(fg, bg, bold, dim, italic, underline, inverse)``."""

DEFAULT_STYLE: Style = (None, None, False, False, False, False, False)

_FG, _BG, _BOLD, _DIM, _ITALIC, _UNDERLINE, _INVERSE = range(7)
_FLAGS = {1: (_BOLD, True), 2: (_DIM, True), 3: (_ITALIC, True), 4: (_UNDERLINE, True)}
_FLAGS.update({7: (_INVERSE, True), 21: (_UNDERLINE, True), 23: (_ITALIC, False)})
_FLAGS.update({24: (_UNDERLINE, False), 27: (_INVERSE, False)})

# Parser modes: text, after ESC, CSI, a string to its end (OSC, DCS, SOS, PM, APC), ESC inside
# a string, ESC followed by intermediates.
_TEXT, _ESC, _CSI, _STRING, _STRING_ESC, _ESC_INTER = range(6)
_STRING_OPENERS = frozenset(b"]PX^_")
# A whole CSI sequence as the byte-by-byte parser below takes one (parameter and intermediate
# bytes in any order, then a final byte): the common case in one step, at C speed.
_WHOLE_CSI = re.compile(rb"\x1b\[([\x20-\x3f]*)([\x40-\x7e])")
_PLAIN_SGR = re.compile(rb"\x1b\[([0-9:;]*)m")  # no private marker, no intermediates


def _params(text: str) -> list[int] | None:
    """The numbers of an SGR parameter text, colon groups flattened as the viewer does;
    ``None`` when one is not a number (then the sequence is not an SGR this knows)."""
    out: list[int] = []
    for group in text.split(";"):
        if ":" in group:
            parts = [int(p) if p.isdigit() else (0 if p == "" else -1) for p in group.split(":")]
            if len(parts) >= 6 and parts[1] == 2:
                parts = [parts[0], 2, parts[3], parts[4], parts[5]]
            out.extend(parts)
        elif group == "":
            out.append(0)
        elif group.isdigit():
            out.append(int(group))
        else:
            return None
    return None if any(p < 0 for p in out) else out


def _hex(r: int, g: int, b: int) -> str:
    return "#" + "".join(f"{max(0, min(255, v)):02x}" for v in (r, g, b))


def apply_sgr(style: Style, text: str) -> Style:
    """The style after an SGR sequence with parameters ``text`` (``""`` resets)."""
    return _apply(style, text)[0]


@functools.lru_cache(maxsize=1024)
def _apply(style: Style, text: str) -> tuple[Style, bool]:
    """``(the style after the SGR sequence text, whether it reset everything on the way)``."""
    params = _params(text)
    if params is None:
        return style, False
    reset = False
    s: list[Any] = list(style)
    i = 0
    while i < len(params):
        p = params[i]
        i += 1
        if p == 0:
            s = list(DEFAULT_STYLE)
            reset = True
        elif p in _FLAGS:
            index, value = _FLAGS[p]
            s[index] = value
        elif p == 22:
            s[_BOLD] = s[_DIM] = False
        elif 30 <= p <= 37:
            s[_FG] = p - 30
        elif p == 39:
            s[_FG] = None
        elif 40 <= p <= 47:
            s[_BG] = p - 40
        elif p == 49:
            s[_BG] = None
        elif 90 <= p <= 97:
            s[_FG] = p - 90 + 8
        elif 100 <= p <= 107:
            s[_BG] = p - 100 + 8
        elif p in (38, 48):
            mode = params[i] if i < len(params) else None
            colour: Colour | bool = False  # False: malformed, nothing set
            if mode == 5 and i + 1 < len(params):
                if params[i + 1] <= 255:
                    colour = params[i + 1]
                i += 2
            elif mode == 2 and i + 3 < len(params):
                colour = _hex(params[i + 1], params[i + 2], params[i + 3])
                i += 4
            else:
                i = len(params)  # the rest of the sequence is ignored
            if colour is not False:
                s[_FG if p == 38 else _BG] = colour
        # Anything else (blink, conceal, strike, fonts...) changes nothing shown.
    return (s[0], s[1], s[2], s[3], s[4], s[5], s[6]), reset


def _colour_params(colour: Colour, base: int, bright: int, ext: int) -> list[int]:
    if colour is None:
        return []
    if isinstance(colour, str):
        n = int(colour[1:], 16)
        return [ext, 2, (n >> 16) & 255, (n >> 8) & 255, n & 255]
    if colour < 8:
        return [base + colour]
    if colour < 16:
        return [bright + colour - 8]
    return [ext, 5, colour]


def style_params(style: Style) -> str:
    """The canonical SGR parameters of ``style`` (``""`` for the default)."""
    fg, bg, bold, dim, italic, underline, inverse = style
    flags = [(bold, 1), (dim, 2), (italic, 3), (underline, 4), (inverse, 7)]
    p = [code for on, code in flags if on]
    p += _colour_params(fg, 30, 90, 38) + _colour_params(bg, 40, 100, 48)
    return ";".join(map(str, p))


class SgrState:
    """The SGR style in effect after the output fed so far; see the module docstring.

    ``feed(data)`` any number of times (a sequence may be split across feeds), then
    :meth:`params` or :attr:`style`. Holds at most :data:`MAX_SEQUENCE` bytes besides the style.
    """

    __slots__ = ("_mode", "_seq", "anchored", "style")

    def __init__(self, style: Style = DEFAULT_STYLE) -> None:
        self.style: Style = style
        """The style now (see :data:`Style`)."""
        self.anchored = False
        """True once a full reset (SGR 0) was fed: from there on :attr:`style` does not depend on
        the style the tracker started from."""
        self._mode = _TEXT
        self._seq = bytearray()

    def reset(self) -> None:
        """Back to the default style, as at the start of a stream."""
        self.style = DEFAULT_STYLE
        self.anchored = False
        self._mode = _TEXT
        self._seq.clear()

    def params(self) -> str:
        """The style as canonical SGR parameters (``""``: the default)."""
        return style_params(self.style)

    def feed(self, data: bytes) -> None:
        """Follow ``data``, the next bytes of the stream."""
        pos = 0
        end = len(data)
        while pos < end:
            mode = self._mode
            if mode == _TEXT:
                # Most output holds no escape at all: one search skips it.
                found = data.find(0x1B, pos)
                if found < 0:
                    return
                sgr = _PLAIN_SGR.match(data, found)
                if sgr is not None:
                    seq = sgr.group(1)
                    if len(seq) <= MAX_SEQUENCE:
                        self.style, reset = _apply(self.style, seq.decode("ascii"))
                        self.anchored = self.anchored or reset
                    pos = sgr.end()
                    continue
                whole = _WHOLE_CSI.match(data, found)
                if whole is not None:
                    seq = whole.group(1)
                    if len(seq) <= MAX_SEQUENCE:
                        self._csi(seq, whole.group(2)[0])
                    pos = whole.end()
                    continue
                self._mode = _ESC
                pos = found + 1
                continue
            byte = data[pos]
            pos += 1
            if mode == _ESC:
                if byte == 0x5B:  # [
                    self._mode = _CSI
                    self._seq.clear()
                elif byte in _STRING_OPENERS:
                    self._mode = _STRING
                elif 0x20 <= byte <= 0x2F:
                    self._mode = _ESC_INTER
                else:
                    self._mode = _TEXT
            elif mode == _CSI:
                if 0x40 <= byte <= 0x7E:
                    self._mode = _TEXT
                    if len(self._seq) <= MAX_SEQUENCE:
                        self._csi(bytes(self._seq), byte)
                    self._seq.clear()
                elif 0x20 <= byte <= 0x3F:
                    if len(self._seq) <= MAX_SEQUENCE:
                        self._seq.append(byte)
                elif byte == 0x1B:
                    self._mode = _ESC
                else:
                    self._mode = _TEXT
            elif mode == _STRING:
                # Skipped to BEL or ESC, never held.
                bel = data.find(7, pos - 1)
                esc = data.find(0x1B, pos - 1)
                stop = bel if esc < 0 or 0 <= bel < esc else esc
                if stop < 0:
                    return
                self._mode = _TEXT if data[stop] == 7 else _STRING_ESC
                pos = stop + 1
            elif mode == _STRING_ESC:
                self._mode = _TEXT if byte == 0x5C else _STRING_ESC if byte == 0x1B else _STRING
            else:  # _ESC_INTER
                if not 0x20 <= byte <= 0x2F:
                    self._mode = _TEXT

    def _csi(self, seq: bytes, final: int) -> None:
        if final != 0x6D:  # m
            return
        # A private marker (<=>?) or an intermediate: not an SGR.
        if seq[:1] in (b"<", b"=", b">", b"?") or any(0x20 <= b <= 0x2F for b in seq):
            return
        self.style, reset = _apply(self.style, seq.decode("ascii"))
        self.anchored = self.anchored or reset
