"""The option that runs a child on a pseudo-terminal (the mechanics: :mod:`ccstream._terminal`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._check import check_int
from ._terminal import MAX_SIZE
from .exceptions import InvalidOption

__all__ = ["Pty", "PtyStderr"]

PtyStderr = Literal["terminal", "pipe"]
"""Where a PTY child's stderr goes: the terminal (merged into stdout, as on a real terminal) or
its own pipe (kept apart, and not a terminal)."""


@dataclass(frozen=True, slots=True)
class Pty:
    """Run the child on a pseudo-terminal of ``rows`` x ``cols`` characters.

    ``stderr``: ``"terminal"`` (the default) makes stderr the terminal too, so both streams are
    interleaved as a user would see them and everything arrives as ``stdout``; ``"pipe"`` keeps
    stderr on its own pipe (reported as ``stderr``; ``isatty(2)`` is then false). ``term`` is the
    ``TERM`` the child gets when its environment has none (``None`` leaves it unset).
    The child's stdin is not the terminal: it stays ``/dev/null`` or the pipe of
    ``Options.stdin``.
    """

    rows: int = 24
    cols: int = 80
    stderr: PtyStderr = "terminal"
    term: str | None = "xterm-256color"

    def __post_init__(self) -> None:
        check_int("Pty.rows", self.rows, minimum=1, maximum=MAX_SIZE)
        check_int("Pty.cols", self.cols, minimum=1, maximum=MAX_SIZE)
        if self.stderr not in ("terminal", "pipe"):
            raise InvalidOption(f"Pty.stderr must be 'terminal' or 'pipe', got {self.stderr!r}")
        if self.term is not None and (
            not isinstance(self.term, str) or not self.term or "\0" in self.term
        ):
            raise InvalidOption(f"Pty.term must be a non-empty string or None, got {self.term!r}")
