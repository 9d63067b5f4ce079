"""The local store's state, read from the files.

In the writing process the writer publishes a new immutable :class:`SpoolState` after each batch
it committed (one attribute assignment, so a reader in any thread sees a whole one). A reader in
another process builds the same view from the files: ``spool.json`` once the run ended, otherwise
the order log's last record (sizes), the gaps file, and whether the writer still lives. Once the
view says complete it is kept: nothing in a complete spool changes.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

from .._state import SpoolState
from ._files import SpoolFiles
from ._format import Meta, gap_from_json, read_gaps, read_meta

__all__ = ["DiskState", "state_from_meta", "writer_alive"]


def _pair(values: list[int]) -> tuple[int, int]:
    return (int(values[0]), int(values[1]))


def state_from_meta(meta: Meta) -> SpoolState:
    """The final state recorded in a complete ``spool.json``."""
    return SpoolState(
        records=meta.records,
        sizes=_pair(meta.sizes),
        newlines=_pair(meta.newlines),
        open_line=(bool(meta.open_line[0]), bool(meta.open_line[1])),
        checkpoints=_pair(meta.checkpoints),
        gaps=tuple(gap_from_json(g) for g in meta.gaps),
        complete=True,
        error=meta.error,
        returncode=meta.returncode,
        reason=meta.reason,
    )


def writer_alive(pid: int) -> bool:
    """True while process ``pid`` exists (on this host)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is just not ours
    return True


class DiskState:
    """Builds :class:`SpoolState` from the files of a spool another process may be writing."""

    def __init__(self, path: Path, meta: Meta, files: SpoolFiles) -> None:
        self.path = path
        self.meta = meta
        self._files = files
        self._same_host = meta.writer_host == socket.gethostname()
        self._final: SpoolState | None = state_from_meta(meta) if meta.complete else None

    def snapshot(self) -> SpoolState:
        # A complete spool never changes: its state is read once (a follower asks for it at
        # every step).
        if self._final is not None:
            return self._final
        # spool.json first: once it says complete, everything in it is final; if it does not yet,
        # whatever we read after it is at least as new as it.
        meta = read_meta(self.path)
        self.meta = meta
        if meta.complete:
            self._final = state_from_meta(meta)
            return self._final
        # The gaps before the order log: a hand-off's records are written before its gaps, so
        # the records read next cover every byte up to the end of every gap read here.
        gaps = read_gaps(self.path)
        files = self._files
        records = files.record_count()
        sizes = (0, 0)
        if records:
            last = files.record(records - 1)
            sizes = (last.stdout_before, last.stderr_before)
            sizes = (
                (sizes[0] + last.length, sizes[1])
                if last.stream_id == 0
                else (sizes[0], sizes[1] + last.length)
            )
        state = SpoolState(
            records=records,
            sizes=sizes,
            newlines=None,
            open_line=None,
            checkpoints=(files.checkpoint_count(0), files.checkpoint_count(1)),
            gaps=gaps,
        )
        if self._same_host and not writer_alive(meta.writer_pid):
            # The writer died without finishing (killed, crashed): nothing more will come.
            # Re-read once in case it finished between our two reads.
            with contextlib.suppress(Exception):
                again = read_meta(self.path)
                if again.complete:
                    self._final = state_from_meta(again)
                    return self._final
            self._final = SpoolState(
                records=state.records,
                sizes=state.sizes,
                newlines=None,
                open_line=None,
                checkpoints=state.checkpoints,
                gaps=state.gaps,
                complete=True,
                error=f"the writing process {meta.writer_pid} ended without closing the spool",
            )
            return self._final
        return state
