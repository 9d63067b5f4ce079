"""What a spool directory takes on disk (:meth:`LocalStore.usage`, which a disk budget counts)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["disk_bytes"]


def _size(st: os.stat_result) -> int:
    # Allocated blocks where the file system reports them (block rounding, preallocation), the
    # length where that is more (a sparse file): the larger, so the count never comes out low.
    return max(st.st_size, getattr(st, "st_blocks", 0) * 512)


def disk_bytes(path: str | os.PathLike[str]) -> int:
    """Bytes the tree at ``path`` takes on disk (0 if it is gone): every file and directory in
    it, itself included, at the larger of its length and its allocated blocks. Symbolic links
    are counted, never followed. Files vanishing during the walk are skipped."""
    root = Path(path)
    try:
        total = _size(root.lstat())
    except FileNotFoundError:
        return 0
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            entries = os.scandir(directory)
        except (FileNotFoundError, NotADirectoryError):
            continue
        with entries:
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                total += _size(st)
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
    return total
