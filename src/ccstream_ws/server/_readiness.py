"""Whether the spool directory can take an execution's output: checked before the server
listens (an unusable one is a start-up error) and by every ``GET /readyz``.

Usable means: a directory (created, mode 0700, when it does not exist yet, at start only), in
which this process can create, write and delete a file (tried, not guessed from the mode: root
writes through any mode, and a read-only mount refuses everyone), on a file system with at least
:data:`MIN_FREE_BYTES` free for this user.
"""

from __future__ import annotations

import contextlib
import os
import tempfile

__all__ = ["MIN_FREE_BYTES", "spool_directory", "spool_problem"]

MIN_FREE_BYTES = 1024 * 1024
"""Free bytes the spool directory's file system must have (the smallest quota: 1 MiB)."""


def spool_directory(configured: str | None) -> str:
    """Where spools go: ``configured``, or the system's temporary directory."""
    return configured if configured is not None else tempfile.gettempdir()


def spool_problem(configured: str | None, *, create: bool = False) -> str | None:
    """Why the spool directory cannot take output now, or ``None`` when it can. ``create``
    makes a missing directory (with its parents) first."""
    path = spool_directory(configured)
    if create and not os.path.lexists(path):
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
        except OSError as exc:
            return f"cannot create it: {exc.strerror or exc}"
    if not os.path.isdir(path):
        return "it does not exist" if not os.path.lexists(path) else "it is not a directory"
    try:
        fd, probe = tempfile.mkstemp(prefix=".ccstream-probe-", dir=path)
    except OSError as exc:
        return f"cannot create a file in it: {exc.strerror or exc}"
    try:
        os.write(fd, b"\n")
    except OSError as exc:
        return f"cannot write to a file in it: {exc.strerror or exc}"
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(probe)
    try:
        stats = os.statvfs(path)
    except OSError as exc:
        return f"cannot read its file system's free space: {exc.strerror or exc}"
    free = stats.f_bavail * stats.f_frsize
    if free < MIN_FREE_BYTES:
        return f"its file system is full ({free} bytes free, at least {MIN_FREE_BYTES} needed)"
    return None
