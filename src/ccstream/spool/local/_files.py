"""Read-only access to a spool's files for readers: ``pread`` only, so one file descriptor serves
any number of readers and threads (no shared file position).

Inside :func:`no_wait` (Linux), reads take only what the page cache holds (``RWF_NOWAIT``; a
range of more than 4 KiB is probed so at both ends, then read as usual) and raise
:class:`WouldBlock` instead of waiting for the disk: a read call is then first tried on the
event loop, where a page from the page cache costs no thread hop, and run in a worker thread
only when it would wait."""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from ..._events import StreamName
from ...exceptions import SpoolError, SpoolNotFound
from ._format import (
    CHECKPOINT,
    FRAME,
    ORDER,
    STREAMS,
    TIME,
    TIMES,
    Checkpoint,
    Record,
    index_name,
    segment_name,
)

__all__ = ["NO_WAIT", "SegmentReader", "SpoolFiles", "WouldBlock", "no_wait"]

NO_WAIT = getattr(os, "RWF_NOWAIT", None) is not None
"""True where a read can be told not to wait for the disk (``preadv`` with ``RWF_NOWAIT``)."""
_RWF_NOWAIT: int = getattr(os, "RWF_NOWAIT", 0)
_mode = threading.local()
_PROBE_ABOVE = 4096  # bytes: a larger no-wait read is probed at its ends, then read as usual


class WouldBlock(Exception):
    """A read inside :func:`no_wait` would have waited for the disk."""


@contextlib.contextmanager
def no_wait() -> Iterator[None]:
    """Within (this thread): reads raise :class:`WouldBlock` rather than wait for the disk."""
    _mode.no_wait = True
    try:
        yield
    finally:
        _mode.no_wait = False


_FRAME_SIZE = FRAME.size
_CHECKPOINT_SIZE = CHECKPOINT.size
_TIME_SIZE = TIME.size


def _open(path: Path) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise SpoolNotFound(f"not a spool: {str(path)!r} is missing") from None
    except OSError as exc:
        raise SpoolError(f"cannot open {str(path)!r}: {exc}") from exc


def _pread(fd: int, size: int, offset: int) -> bytes:
    if getattr(_mode, "no_wait", False):
        return _pread_cached(fd, size, offset)
    try:
        return os.pread(fd, size, offset)
    except OSError as exc:
        raise SpoolError(f"cannot read the spool: {exc}") from exc


def _pread_cached(fd: int, size: int, offset: int) -> bytes:
    if size > _PROBE_ABOVE:
        # A large range: look at its two ends without waiting, then read it whole as usual
        # (reading it with RWF_NOWAIT would need a buffer and a second copy of every byte).
        # Written spool data is cached whole or evicted from its oldest pages: the ends tell.
        _cached(fd, 1, offset)
        _cached(fd, 1, offset + size - 1)
        try:
            return os.pread(fd, size, offset)
        except OSError as exc:
            raise SpoolError(f"cannot read the spool: {exc}") from exc
    return _cached(fd, size, offset)


def _cached(fd: int, size: int, offset: int) -> bytes:
    """``size`` bytes at ``offset`` if the page cache holds them (fewer at the end of the
    file); :class:`WouldBlock` otherwise."""
    buf = bytearray(size)
    try:
        n = os.preadv(fd, [buf], offset, _RWF_NOWAIT)
    except BlockingIOError:
        raise WouldBlock from None
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL):
            raise WouldBlock from None  # a file system that cannot: read it in a thread
        raise SpoolError(f"cannot read the spool: {exc}") from exc
    if n < size:
        # The end of the file, or only part of the range is in the page cache.
        if offset + n < os.fstat(fd).st_size:
            raise WouldBlock
        return bytes(memoryview(buf)[:n])
    return bytes(buf)


class SpoolFiles:
    """The order log and both checkpoint indexes of the spool at ``path``, opened once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fds: list[int] = []
        try:
            self._order = self._keep(_open(path / ORDER))
            self._index = [self._keep(_open(path / index_name(s))) for s in STREAMS]
            self._times = self._open_times(path)
        except BaseException:
            self.close()
            raise

    def _open_times(self, path: Path) -> int | None:
        """The times file, or ``None`` for a spool written without one."""
        try:
            return self._keep(_open(path / TIMES))
        except SpoolNotFound:
            return None

    def _keep(self, fd: int) -> int:
        self._fds.append(fd)
        return fd

    def close(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()

    def record_count(self) -> int:
        """Whole order records on disk now (a record being appended is not counted)."""
        return os.fstat(self._order).st_size // _FRAME_SIZE

    def record(self, i: int) -> Record:
        raw = _pread(self._order, _FRAME_SIZE, i * _FRAME_SIZE)
        if len(raw) != _FRAME_SIZE:
            raise SpoolError(f"order record {i} is missing")
        return Record._make(FRAME.unpack(raw))

    def records(self, start: int, count: int) -> list[Record]:
        """Up to ``count`` records from ``start`` (one read)."""
        raw = _pread(self._order, count * _FRAME_SIZE, start * _FRAME_SIZE)
        whole = len(raw) - len(raw) % _FRAME_SIZE
        return [Record._make(fields) for fields in FRAME.iter_unpack(raw[:whole])]

    def times(self, start: int, count: int) -> list[int] | None:
        """Arrival times (nanoseconds since the epoch) of up to ``count`` records from ``start``
        (one read; fewer where the file ends); ``None`` for a spool without times."""
        if self._times is None:
            return None
        raw = _pread(self._times, count * _TIME_SIZE, start * _TIME_SIZE)
        whole = len(raw) - len(raw) % _TIME_SIZE
        return [t for (t,) in TIME.iter_unpack(raw[:whole])]

    def checkpoint_count(self, sid: int) -> int:
        return os.fstat(self._index[sid]).st_size // _CHECKPOINT_SIZE

    def checkpoint(self, sid: int, i: int) -> Checkpoint:
        raw = _pread(self._index[sid], _CHECKPOINT_SIZE, i * _CHECKPOINT_SIZE)
        if len(raw) != _CHECKPOINT_SIZE:
            raise SpoolError(f"checkpoint {i} of {STREAMS[sid]} is missing")
        newlines, packed = CHECKPOINT.unpack(raw)
        return Checkpoint(newlines, packed >> 1, bool(packed & 1))


class SegmentReader:
    """Reads byte ranges of the streams across segment files, keeping at most ``keep_open``
    segment files open. A reader that keeps a segment open can still read it after the writer
    dropped it for the quota (the file lives on until closed), so readers hold on to the segment
    they are in."""

    def __init__(self, path: Path, segment_size: int, *, keep_open: int = 2) -> None:
        self.path = path
        self.segment_size = segment_size
        self._keep_open = keep_open
        self._open: dict[tuple[int, int], int] = {}

    def close(self) -> None:
        for fd in self._open.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._open.clear()

    def _fd(self, sid: int, index: int) -> int | None:
        key = (sid, index)
        fd = self._open.get(key)
        if fd is not None:
            return fd
        try:
            fd = os.open(self.path / segment_name(STREAMS[sid], index), os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise SpoolError(f"cannot open a segment of the spool: {exc}") from exc
        if len(self._open) >= self._keep_open:
            oldest = next(iter(self._open))
            os.close(self._open.pop(oldest))
        self._open[key] = fd
        return fd

    def read(self, stream: StreamName | int, start: int, end: int) -> tuple[bytes, int | None]:
        """The bytes of ``[start, end)``, and ``None``; or, when a segment file is missing (the
        quota dropped it), the bytes before it and the offset where it begins."""
        sid = stream if isinstance(stream, int) else STREAMS.index(stream)
        size = self.segment_size
        parts: list[bytes] = []
        pos = start
        while pos < end:
            index = pos // size
            fd = self._fd(sid, index)
            if fd is None:
                return b"".join(parts), pos
            want = min(end, (index + 1) * size) - pos
            data = _pread(fd, want, pos - index * size)
            if len(data) != want:
                raise SpoolError(f"{STREAMS[sid]} segment {index} is shorter than its records say")
            parts.append(data)
            pos += want
        return (parts[0] if len(parts) == 1 else b"".join(parts)), None
