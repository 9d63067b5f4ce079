"""Removing a spool without waiting for the file system to free its blocks.

Unlinking a big file is not instant: its blocks are freed, and pages still being written back
are waited for, which the trim (:mod:`ccstream.spool.local._trim`) makes likely: it has sent
the spool's pages to the disk already (benchmarks/README.md has the figures). Closing a run must
not wait for that, so the spool is first
renamed out of the way, which is atomic and instant (the path is gone when ``close`` returns),
and one daemon thread deletes such spools in turn. Before the interpreter exits it waits for
the deletions still going on, so nothing is left behind by a normal exit.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

__all__ = ["TRASH_MARK", "remove_entries", "remove_tree", "wait_removals"]

log = logging.getLogger("ccstream")

TRASH_MARK = ".removing-"
"""In the name of a spool being deleted: ``.<its name>.removing-<random>``, beside it. One left by
a process that was killed is removed by :func:`~ccstream.prune_spools` like any other spool."""

# One deleting thread for the whole process, however many spools close at once: the disk
# deletes them one after the other anyway, and a burst of closes must not start a thread each.
_queue: queue.Queue[Path] = queue.Queue()
_worker: threading.Thread | None = None
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
    entries = list(entries)
    if not entries:
        return
    try:
        trash: Path | None = Path(
            tempfile.mkdtemp(prefix=f".{path.name}{TRASH_MARK}", dir=path.parent)
        )
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
    global _worker
    _queue.put(trash)
    with _lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_delete, name="ccstream-remove", daemon=True)
            _worker.start()


def _delete() -> None:
    while True:
        trash = _queue.get()
        try:
            shutil.rmtree(trash, ignore_errors=True)
        finally:
            _queue.task_done()


def wait_removals(timeout: float | None = None) -> bool:
    """Wait until the spools being deleted are gone (at most ``timeout`` seconds); returns
    whether they all are."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with _queue.all_tasks_done:
        while _queue.unfinished_tasks:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                log.warning("%d spool(s) still being deleted", _queue.unfinished_tasks)
                return False
            _queue.all_tasks_done.wait(left)
    return True


atexit.register(wait_removals)
