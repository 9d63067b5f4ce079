"""The one duration syntax of the command lines: ``90``, ``1.5``, ``500ms``, ``1m30s``, ``2h``.

A duration is a bare number of seconds (``90``, ``1.5``, ``.5``) or one or more number-unit
pairs written together, largest unit first, each unit at most once (``1h30m``, ``1m30s``,
``2.5s``, ``500ms``). Units: ``ms`` milliseconds, ``s`` seconds, ``m`` minutes, ``h`` hours,
``d`` days; case does not matter, spaces around the whole text are ignored. Negative, infinite
and not-a-number values are refused. Sans-I/O: no I/O, standard library only.
"""

from __future__ import annotations

import argparse
import math
import re

__all__ = ["DURATION_HELP", "DurationError", "duration", "parse_duration"]

DURATION_HELP = "90, 1.5, 500ms, 1m30s, 2h"
"""Examples of the syntax, for help texts."""

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_ORDER = ("d", "h", "m", "s", "ms")
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_BARE = re.compile(_NUMBER)
_PAIR = re.compile(rf"({_NUMBER})(ms|[dhms])")


class DurationError(ValueError):
    """A text that is not a duration; the message says what is wrong and shows the syntax."""


def _error(text: str, why: str) -> DurationError:
    return DurationError(f"not a duration: {text!r} ({why}; examples: {DURATION_HELP})")


def parse_duration(text: str) -> float:
    """The duration ``text`` in seconds (see the module's docstring for the syntax).

    Raises :class:`DurationError` (a :class:`ValueError`) for anything else.
    """
    t = text.strip().lower()
    if not t:
        raise _error(text, "empty")
    if _BARE.fullmatch(t):
        return _finite(text, float(t))
    total = 0.0
    pos = 0
    last = -1
    while pos < len(t):
        match = _PAIR.match(t, pos)
        if match is None:
            if t.startswith("-"):
                raise _error(text, "must not be negative")
            raise _error(text, f"unexpected {t[pos:]!r}")
        number, unit = match.groups()
        rank = _ORDER.index(unit)
        if rank <= last:
            raise _error(text, f"{unit!r} out of order or repeated: largest unit first, each once")
        last = rank
        total += float(number) * _UNITS[unit]
        pos = match.end()
    return _finite(text, total)


def _finite(text: str, value: float) -> float:
    if not math.isfinite(value):
        raise _error(text, "too large")
    return value


def duration(text: str) -> float:
    """:func:`parse_duration` as an argparse ``type``: a bad value is a usage error (status 2)."""
    try:
        return parse_duration(text)
    except DurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
