"""Removing a spool without waiting for the file system to free its blocks.

Unlinking a big file is not instant: its blocks are freed, and pages still being written back
are waited for. For a 1 GiB spool whose pages the trim (:mod:`ccstream._spool_trim`) had
already sent to the disk, that took 0.19-0.21 s on ext4 (0.035 s without the trim, which left
them dirty in memory instead). Closing a run must not take that long, so the spool is first
renamed out of the way, which is atomic and instant (the path is gone when ``close`` returns),
and a daemon thread deletes it. Before the interpreter exits it waits for the deletions still
going on, so nothing is left behind by a normal exit.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

__all__ = ["TRASH_MARK", "remove_entries", "remove_tree", "wait_removals"]

log = logging.getLogger("ccstream")

TRASH_MARK = ".removing-"
"""In the name of a spool being deleted: ``.<its name>.removing-<random>``, beside it. One left by
a process that was killed is removed by :func:`~ccstream.prune_spools` like any other spool."""

_pending: set[threading.Thread] = set()
_lock = threading.Lock()


def remove_tree(path: Path) -> None:
    """Remove the directory ``path`` and all it holds; the path is gone on return."""
    trash = path.parent / f".{path.name}{TRASH_MARK}{os.urandom(4).hex()}"
    try:
        os.rename(path, trash)
    except FileNotFoundError:
        return
    except OSError:
        shutil.rmtree(path, ignore_errors=True)  # cannot rename: delete in place, now
        return
    _in_background(trash)


def remove_entries(path: Path, entries: Iterable[Path]) -> None:
    """Remove ``entries`` (files directly in the directory ``path``); they are gone on return."""
    try:
        trash = Path(tempfile.mkdtemp(prefix=f".{path.name}{TRASH_MARK}", dir=path.parent))
    except OSError:
        trash = None
    for entry in entries:
        with contextlib.suppress(OSError):
            if trash is not None:
                try:
                    os.rename(entry, trash / entry.name)
                    continue
                except OSError:
                    pass
            entry.unlink()
    if trash is not None:
        _in_background(trash)


def _in_background(trash: Path) -> None:
    thread = threading.Thread(target=_delete, args=(trash,), name="ccstream-remove", daemon=True)
    with _lock:
        _pending.add(thread)
    thread.start()


def _delete(trash: Path) -> None:
    try:
        shutil.rmtree(trash, ignore_errors=True)
    finally:
        with _lock:
            _pending.discard(threading.current_thread())


def wait_removals(timeout: float | None = None) -> bool:
    """Wait until the spools being deleted are gone (at most ``timeout`` seconds in all);
    returns whether they all are."""
    with _lock:
        threads = list(_pending)
    for thread in threads:
        thread.join(timeout)
    with _lock:
        left = len(_pending)
    if left:
        log.warning("%d spool(s) still being deleted", left)
    return not left


atexit.register(wait_removals)
