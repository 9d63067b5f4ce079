"""The checks every constructor of the core runs on its arguments, written once.

Each raises :class:`~ccstream.InvalidOption` naming the argument, the rule and the value. ``bool``
is an ``int`` to Python, but ``chunk_size=True`` or ``timeout=False`` is always a mistake, so no
check here accepts a bool where a number is asked for.
"""

from __future__ import annotations

import math
from typing import TypeGuard

from .exceptions import InvalidOption

__all__ = ["check_int", "check_number", "is_int", "is_number"]


def is_int(value: object) -> TypeGuard[int]:
    """True for an ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> TypeGuard[float]:
    """True for a finite ``int`` or ``float`` that is not a ``bool``."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_int(
    name: str,
    value: object,
    *,
    minimum: int = 0,
    maximum: int | None = None,
    optional: bool = False,
) -> None:
    """``value`` is an int from ``minimum`` to ``maximum`` (inclusive), or ``None`` if
    ``optional``."""
    if value is None and optional:
        return
    if not is_int(value) or value < minimum or (maximum is not None and value > maximum):
        rule = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise InvalidOption(f"{name} must be an integer {rule}, got {value!r}")


def check_number(
    name: str,
    value: object,
    *,
    minimum: float = 0.0,
    maximum: float = math.inf,
    positive: bool = False,
    optional: bool = False,
) -> None:
    """``value`` is a finite number from ``minimum`` to ``maximum`` (inclusive; above 0 if
    ``positive``), or ``None`` if ``optional``. Times are in seconds."""
    if value is None and optional:
        return
    if not is_number(value) or value < minimum or value > maximum or (positive and value <= 0):
        if positive:
            rule = "a positive number"
        elif maximum == math.inf:
            rule = f"a number >= {minimum:g}"
        else:
            rule = f"between {minimum:g} and {maximum:g}"
        raise InvalidOption(f"{name} must be {rule}, got {value!r}")
