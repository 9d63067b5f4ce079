"""The terminal members of the protocol: ``execute``'s ``pty`` and ``force_color``, and the
``resize`` method's params. Sans-I/O, total like :mod:`ccstream_ws.protocol._params`: a bad
member is an ``INVALID_PARAMS`` error naming it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..exceptions import RPCError
from ._codes import ErrorCode

__all__ = ["MAX_SIZE", "PtyParams", "ResizeParams", "parse_pty", "parse_resize"]

MAX_SIZE = 65535
"""The largest ``rows`` or ``cols`` (a terminal's window size is 16-bit)."""


@dataclass(frozen=True, slots=True)
class PtyParams:
    """``execute``'s ``pty``: a terminal of ``rows`` x ``cols`` characters; ``stderr`` on the
    terminal (merged into stdout) or on its own pipe."""

    rows: int = 24
    cols: int = 80
    stderr: Literal["terminal", "pipe"] = "terminal"


def _bad(name: str, expected: str) -> RPCError:
    return RPCError(ErrorCode.INVALID_PARAMS, f"{name} must be {expected}")


def _size(raw: Mapping[str, Any], name: str, where: str, default: int | None) -> int:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SIZE:
        raise _bad(f"{where}{name}", f"an integer from 1 to {MAX_SIZE}")
    return value


def parse_pty(p: Mapping[str, Any]) -> PtyParams | None:
    """``pty``: absent, ``null`` or ``false`` (no terminal), ``true`` (24 x 80), or an object
    ``{"rows", "cols", "stderr"}`` (each optional)."""
    raw = p.get("pty")
    if raw is None or raw is False:
        return None
    if raw is True:
        return PtyParams()
    if not isinstance(raw, dict):
        raise _bad("pty", 'an object {"rows": ..., "cols": ...}, true, false or null')
    stderr = raw.get("stderr", "terminal")
    if stderr not in ("terminal", "pipe") or not isinstance(stderr, str):
        raise _bad("pty.stderr", '"terminal" or "pipe"')
    return PtyParams(
        rows=_size(raw, "rows", "pty.", 24),
        cols=_size(raw, "cols", "pty.", 80),
        stderr="pipe" if stderr == "pipe" else "terminal",
    )


@dataclass(frozen=True, slots=True)
class ResizeParams:
    """``resize``: set the terminal of ``execution_id`` (default: this connection's most recent
    running execution) to ``rows`` x ``cols``."""

    execution_id: str | None
    rows: int
    cols: int


def parse_resize(p: Mapping[str, Any], execution_id: str | None) -> ResizeParams:
    """Parse ``resize`` params (``execution_id`` already parsed by the caller's helper)."""
    return ResizeParams(execution_id, _size(p, "rows", "", None), _size(p, "cols", "", None))
