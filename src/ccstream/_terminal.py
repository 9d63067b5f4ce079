"""Running a child on a pseudo-terminal: the window size, the terminal's settings, the reads.

The child's stdout (and, by default, its stderr) is the terminal's slave side; the run reads the
master side through the same pump as a pipe. Three things differ from a pipe, and are handled
here:

- the child must own the terminal (its controlling terminal, so ``/dev/tty`` works and a resize
  sends it ``SIGWINCH``): it starts a new session, then takes the slave with ``TIOCSCTTY``
  between fork and exec (:func:`take_terminal`);
- the terminal's output processing (``OPOST``: ``\\n`` written as ``\\r\\n``) is turned off, so
  the bytes read are the bytes the child wrote and lines end where they end in a pipe;
- once every holder of the slave closed it, a read of the master fails with ``EIO`` on Linux:
  that is the end of the output, not an error (:func:`read_terminal`).
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import termios
from typing import TYPE_CHECKING

from ._check import check_int

if TYPE_CHECKING:
    from ._pty import Pty

__all__ = ["MAX_SIZE", "open_terminal", "read_terminal", "set_window_size", "take_terminal"]

MAX_SIZE = 65535
"""The largest row or column count a window size can hold (``struct winsize`` is 16-bit)."""

_WINSIZE = struct.Struct("HHHH")


def set_window_size(fd: int, rows: int, cols: int) -> None:
    """Set the terminal's window size (``TIOCSWINSZ``); the kernel sends ``SIGWINCH`` to the
    terminal's foreground process group when the size changes."""
    check_int("rows", rows, minimum=1, maximum=MAX_SIZE)
    check_int("cols", cols, minimum=1, maximum=MAX_SIZE)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, _WINSIZE.pack(rows, cols, 0, 0))


def open_terminal(pty: Pty) -> tuple[int, int]:
    """A new pseudo-terminal ``(master, slave)`` of ``pty``'s size, output processing off, the
    master non-blocking (both close-on-exec: the child gets the slave through ``dup2``)."""
    master, slave = os.openpty()
    try:
        attrs = termios.tcgetattr(slave)
        attrs[1] &= ~termios.OPOST  # oflag: the child's bytes as written (no \n -> \r\n)
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        set_window_size(master, pty.rows, pty.cols)
        os.set_blocking(master, False)
    except BaseException:
        os.close(master)
        os.close(slave)
        raise
    return master, slave


def take_terminal() -> None:
    """Make the terminal on fd 1 the controlling terminal of the calling process, which must
    lead a session without one (a ``preexec_fn``, after ``setsid``)."""
    fcntl.ioctl(1, termios.TIOCSCTTY, 0)


def read_terminal(fd: int, size: int) -> bytes:
    """``os.read`` of a terminal's master side, with the end of output as ``b""``: once the
    slave is closed, Linux fails the read with ``EIO`` (macOS returns end-of-file)."""
    try:
        return os.read(fd, size)
    except OSError as exc:
        if exc.errno == errno.EIO:
            return b""
        raise
