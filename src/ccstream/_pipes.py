"""Pipes for the fast read path: non-blocking read ends, enlarged where the OS allows.

Why: reading a pipe enlarged to 1 MiB with ``anyio.wait_readable`` plus large ``os.read`` calls
comes close to a plain blocking read loop, where asyncio's ``StreamReader.read(64 KiB)`` is
several times slower (``benchmarks/bench_read_path.py``; figures in ``benchmarks/README.md``).
Larger pipes also mean fewer wake-ups per byte.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys

__all__ = ["PIPE_SIZE", "make_pipe"]

PIPE_SIZE = 1024 * 1024
"""Pipe capacity asked for on Linux, in bytes (the default ``/proc/sys/fs/pipe-max-size``)."""

# Not exported by the fcntl module before Python 3.10 on every build; the value is Linux's ABI.
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


def make_pipe(*, nonblocking_read: bool = True, nonblocking_write: bool = False) -> tuple[int, int]:
    """A close-on-exec pipe ``(read_fd, write_fd)``, enlarged to :data:`PIPE_SIZE` on Linux.

    Enlarging can fail when the user's pipe budget is spent; the pipe then keeps its default size,
    which is slower but correct.
    """
    r, w = os.pipe()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            fcntl.fcntl(r, _F_SETPIPE_SZ, PIPE_SIZE)
    os.set_blocking(r, not nonblocking_read)
    os.set_blocking(w, not nonblocking_write)
    return r, w
