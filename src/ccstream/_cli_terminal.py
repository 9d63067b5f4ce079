"""``ccstream run --pty`` and ``--force-color``: the terminal options of the command line.

With ``--pty`` the child runs on a pseudo-terminal the size of ours (or ``--pty-size``, or
24 x 80 when our stdout is not a terminal), and while it runs a resize of our terminal
(``SIGWINCH``) is passed on to it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any

import anyio

from ._pty import Pty
from ._stream import Run
from ._terminal import MAX_SIZE

__all__ = ["add_terminal_options", "follow_window", "terminal_options"]


def _size(text: str) -> tuple[int, int]:
    """``ROWSxCOLS`` (an argparse ``type``)."""
    rows, sep, cols = text.lower().partition("x")
    try:
        pair = (int(rows), int(cols))
    except ValueError:
        pair = (0, 0)
    if not sep or not all(1 <= n <= MAX_SIZE for n in pair):
        raise argparse.ArgumentTypeError(
            f"expected ROWSxCOLS, each from 1 to {MAX_SIZE}, got {text!r}"
        )
    return pair


def add_terminal_options(run: argparse.ArgumentParser) -> None:
    """``--pty``, ``--pty-size``, ``--pty-stderr`` and ``--force-color`` for ``ccstream run``."""
    run.add_argument(
        "--pty",
        action="store_true",
        help="run the command on a pseudo-terminal (it sees a terminal, writes colours; "
        "the terminal follows the size of ours)",
    )
    run.add_argument(
        "--pty-size",
        type=_size,
        metavar="ROWSxCOLS",
        help="the terminal's size with --pty (default: ours, or 24x80)",
    )
    run.add_argument(
        "--pty-stderr",
        choices=["terminal", "pipe"],
        default="terminal",
        help="with --pty: stderr on the terminal, merged (default), or on its own pipe",
    )
    run.add_argument(
        "--force-color",
        action="store_true",
        help="set FORCE_COLOR=1, CLICOLOR_FORCE=1 (and TERM when unset) for the command",
    )


def _our_size() -> tuple[int, int] | None:
    """Our stdout's terminal size, ``None`` when it is not a terminal."""
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except (OSError, ValueError):
        return None
    if size.lines < 1 or size.columns < 1:
        return None
    return size.lines, size.columns


def terminal_options(args: argparse.Namespace) -> dict[str, Any]:
    """The :class:`~ccstream.Options` fields the terminal options ask for."""
    options: dict[str, Any] = {"force_color": args.force_color}
    if args.pty:
        rows, cols = args.pty_size or _our_size() or (24, 80)
        options["pty"] = Pty(rows=rows, cols=cols, stderr=args.pty_stderr)
    return options


async def follow_window(run: Run, args: argparse.Namespace) -> None:
    """Pass each resize of our terminal on to the run's, while it runs (``--pty`` without
    ``--pty-size``); returns at once otherwise."""
    if not args.pty or args.pty_size is not None or _our_size() is None:
        return
    with anyio.open_signal_receiver(signal.SIGWINCH) as signals:
        async for _ in signals:
            size = _our_size()
            if size is not None:
                run.resize(*size)
