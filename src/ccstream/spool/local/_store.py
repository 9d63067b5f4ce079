"""The local store: spools as directories, by key, for a process that serves many of them.

A key is a directory name under the store's ``root`` (with no root, each spool gets a fresh
temporary directory, which the store remembers). A spool a run of this process writes is made
with :meth:`~LocalStore.create` (a run does so with ``SpoolOptions(store=..., key=...)``): every
reader opened by its key then reads it live (frames from the writer's memory, woken at once),
during the run and after it alike; a spool from another process, or from before, is read from
its directory.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import anyio.to_thread

from ...exceptions import SpoolNotFound
from .._base import Source, Store
from .._quota import bytes_behind
from .._reader import Spool
from .._state import SpoolState
from ._prune import prune_spools
from ._source import DirectorySource, _Files
from ._usage import disk_bytes
from ._writer import SpoolWriter

if TYPE_CHECKING:
    from ..._options import SpoolOptions

__all__ = ["LocalStore"]


class _Entry:
    __slots__ = ("live", "path", "removed", "revoked", "sources")

    def __init__(self, path: Path, live: Source | None) -> None:
        self.path = path
        self.live = live
        self.sources: set[_Files] = set()
        self.revoked: str | None = None
        self.removed = False


class LocalStore(Store):
    """Spool directories under ``root`` (``None``: a temporary directory each). Event loop
    thread only; blocking work runs in worker threads inside it."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = None if root is None else Path(root)
        self._entries: dict[str, _Entry] = {}

    def directory(self, key: str) -> Path | None:
        """Where ``key``'s spool goes (``None``: a temporary directory is made for it)."""
        if "/" in key or key in ("", ".", ".."):
            raise ValueError(f"a spool key is a directory name, not {key!r}")
        return None if self.root is None else self.root / key

    def options(self, key: str, options: SpoolOptions) -> SpoolOptions:
        """``options`` as the writer of ``key``'s spool takes them: its directory, kept after
        its run (the store removes it)."""
        return replace(options, directory=self.directory(key), keep=True, store=None, key=None)

    # -- making and finding ---------------------------------------------------------------------

    def create(
        self, key: str, options: SpoolOptions, *, argv: Sequence[str] = (), mode: str = "binary"
    ) -> SpoolWriter:
        writer = SpoolWriter(self.options(key, options), argv=argv, mode=mode)
        live = writer.source()
        # The template of every reader's source (reopen): its files would stay open for as long
        # as the store remembers the key, and it reads nothing itself.
        live.close()
        self._entries[key] = _Entry(writer.path, live)
        return writer

    def open(self, key: str) -> Spool:
        entry = self._entries.get(key)
        if entry is None:
            directory = self.directory(key)
            if directory is None:
                raise SpoolNotFound(f"no spool for {key!r}")
            entry = self._entries[key] = _Entry(directory, None)
        if entry.revoked is not None:
            raise SpoolNotFound(entry.revoked)
        source = entry.live.reopen() if entry.live is not None else DirectorySource(entry.path)
        assert isinstance(source, _Files)
        entry.sources.add(source)
        return Spool(source, on_close=lambda: entry.sources.discard(source))

    def path(self, key: str) -> Path:
        """The directory of ``key``'s spool; :class:`~ccstream.SpoolNotFound` if unknown."""
        entry = self._entries.get(key)
        if entry is not None:
            return entry.path
        directory = self.directory(key)
        if directory is None:
            raise SpoolNotFound(f"no spool for {key!r}")
        return directory

    def state(self, key: str) -> SpoolState:
        entry = self._entries.get(key)
        if entry is not None and entry.revoked is not None:
            raise SpoolNotFound(entry.revoked)
        if entry is not None and entry.live is not None:
            return entry.live.snapshot()
        source = DirectorySource(self.path(key))
        try:
            return source.snapshot()
        finally:
            source.close()

    def behind(self, key: str) -> list[int]:
        entry = self._entries.get(key)
        if entry is None or entry.revoked is not None:
            return []
        marks = [mark for source in entry.sources for mark in source.marks]
        if not marks:
            return []
        return bytes_behind(self.state(key).sizes, marks)

    def hold_for_reader(self, key: str, *, again: bool) -> Callable[[], None]:
        """Keep ``key``'s quota for a reader to come (see :meth:`Sink.hold_for_reader
        <ccstream.spool.Sink.hold_for_reader>`); returns the release (a callable)."""
        entry = self._entries.get(key)
        if entry is None or entry.live is None:
            return _nothing
        return entry.live.hold_for_reader(again=again)

    # -- removing -------------------------------------------------------------------------------

    def revoke(self, key: str, reason: str) -> None:
        entry = self._entries.get(key)
        if entry is None:
            return
        if entry.revoked is None:
            entry.revoked = reason
        for source in list(entry.sources):
            source.revoke(entry.revoked)
        entry.sources.clear()

    async def remove(self, key: str, reason: str | None = None) -> bool:
        entry = self._entries.get(key)
        if entry is None:
            directory = self.directory(key)
            if directory is None:
                return False
            entry = self._entries[key] = _Entry(directory, None)
        self.revoke(key, reason or f"the spool at {str(entry.path)!r} was removed")
        existed = entry.path.is_dir()
        path = entry.path
        with anyio.CancelScope(shield=True):
            # Deleting a big spool takes a while: off the event loop, even when cancelled.
            await anyio.to_thread.run_sync(lambda: shutil.rmtree(path, ignore_errors=True))
        entry.live = None
        entry.removed = True
        return existed

    def removed(self, key: str) -> bool:
        entry = self._entries.get(key)
        return entry is not None and entry.removed

    def forget(self, key: str) -> None:
        """Drop what the store remembers of ``key`` (after :meth:`remove`)."""
        self._entries.pop(key, None)

    def keys(self) -> list[str]:
        keys = {key for key, entry in self._entries.items() if not entry.removed}
        if self.root is not None and self.root.is_dir():
            keys.update(
                entry.name for entry in self.root.iterdir() if (entry / "spool.json").is_file()
            )
        return sorted(keys)

    async def usage(self, key: str) -> int:
        return await anyio.to_thread.run_sync(disk_bytes, self.path(key))

    async def prune(self, older_than: float) -> list[str]:
        if self.root is None:
            return []
        root = self.root
        removed = await anyio.to_thread.run_sync(lambda: prune_spools(root, older_than=older_than))
        return [path.name for path in removed]


def _nothing() -> None:
    return None
