"""Removing kept spools once they are old enough."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

from ...exceptions import InvalidOption, SpoolError
from ._format import read_meta
from ._state import writer_alive

__all__ = ["prune_spools"]

TEMP_PREFIX = "ccstream-spool-"
"""Name prefix of the temporary directories spools get when no directory is given."""


def _newest_mtime(directory: Path) -> float:
    newest = directory.stat().st_mtime
    for entry in directory.iterdir():
        with contextlib.suppress(OSError):
            newest = max(newest, entry.stat().st_mtime)
    return newest


def prune_spools(
    directory: str | os.PathLike[str] | None = None, *, older_than: float
) -> list[Path]:
    """Remove the spools in ``directory`` that are older than ``older_than`` seconds; return
    their paths.

    ``directory`` holds spool directories (each made with ``SpoolOptions(directory=...)``); by
    default it is the system's temporary directory, where only the spools ccstream named
    ``ccstream-spool-*`` are considered (and ``.ccstream-spool-*.removing-*``, which a process
    killed while deleting a spool leaves behind). A spool's age counts from the end of its run,
    or, for one whose writing process died, from its last change. A spool still being written is
    never removed, and neither is anything that is not a spool.
    """
    if isinstance(older_than, bool) or not isinstance(older_than, (int, float)) or older_than < 0:
        raise InvalidOption(f"older_than must be a number of seconds >= 0, got {older_than!r}")
    root = Path(directory) if directory is not None else Path(tempfile.gettempdir())
    if not root.is_dir():
        raise SpoolError(f"{str(root)!r} is not a directory")
    host = socket.gethostname()
    now = time.time()
    removed: list[Path] = []
    for entry in sorted(root.iterdir()):
        # Spools ccstream named, and ones it was deleting when its process was killed.
        if directory is None and not entry.name.startswith((TEMP_PREFIX, "." + TEMP_PREFIX)):
            continue
        if not entry.is_dir() or entry.is_symlink():
            continue
        try:
            meta = read_meta(entry)
        except SpoolError:
            continue  # not a spool (or unreadable): not ours to remove
        if meta.complete:
            age = now - (meta.ended_at or meta.started_at)
        elif meta.writer_host == host and writer_alive(meta.writer_pid):
            continue  # still being written
        else:
            try:
                age = now - _newest_mtime(entry)
            except OSError:
                continue
        if age >= older_than:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed
