"""The page-cache trim of a spooled stream: which byte ranges it advises the kernel to drop."""

from __future__ import annotations

import ctypes
import mmap
import os
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccstream.spool.local._trim import CacheTrim


def _advised(keep: int, size: int, growth: list[int]) -> tuple[list[int], int, int]:
    """Feed the trim ``growth`` (bytes written per hand-off); return how often each byte of the
    stream was advised, the bytes written, and the file descriptors left open."""
    written = 0
    counts: list[int] = []
    opened: set[int] = set()
    current_fd = 10_000  # never a real descriptor: the trim must use it as is

    def open_segment(index: int) -> int | None:
        fd = os.open(os.devnull, os.O_RDONLY)
        opened.add(fd)
        fds[fd] = index
        return fd

    fds: dict[int, int] = {current_fd: -1}

    def advise(fd: int, start: int, end: int) -> None:
        index = current[0] if fd == current_fd else fds[fd]
        assert 0 <= start < end <= size
        for offset in range(index * size + start, index * size + end):
            counts[offset] += 1

    trim = CacheTrim(keep, size, open_segment, advise)
    current = (0, current_fd)
    for step in growth:
        written += step
        counts.extend([0] * step)
        current = ((written - 1) // size if written else 0, current_fd)
        trim.advance(written, current)
    still_open = 0
    for fd in opened:
        try:
            os.fstat(fd)
            still_open += 1
            os.close(fd)
        except OSError:
            pass
    return counts, written, still_open


@given(
    keep=st.integers(0, 64),
    size=st.integers(1, 40),
    growth=st.lists(st.integers(0, 50), max_size=40),
)
def test_trim_advises_bytes_far_behind_twice_never_the_newest_keep_and_closes_what_it_opens(
    keep: int, size: int, growth: list[int]
) -> None:
    counts, written, still_open = _advised(keep, size, growth)
    step = max(keep // 4, 1)
    assert still_open == 0
    for offset, count in enumerate(counts):
        assert count <= 2, f"byte {offset} advised {count} times"
        if offset >= written - keep:
            assert count == 0, f"byte {offset} is among the newest {keep} and was advised"
        # After the last call less than a step is left unadvised: the first advice reached
        # written - keep - step, the second one keep below that.
        elif offset < written - 2 * keep - step:
            assert count == 2, f"byte {offset} far behind was advised {count} times"
        elif offset < written - keep - step:
            assert count >= 1, f"byte {offset} behind was never advised"


def _resident_pages(fd: int, size: int) -> list[bool]:
    """Which pages of the file are in the page cache (``mincore`` on a fresh shared map, which
    reports the cache without faulting anything in; Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    ]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
    if address in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "mmap failed")
    try:
        pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
        vector = (ctypes.c_ubyte * pages)()
        if libc.mincore(address, size, vector) != 0:
            raise OSError(ctypes.get_errno(), "mincore failed")
        return [bool(v & 1) for v in vector]
    finally:
        libc.munmap(address, size)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mincore and fadvise: Linux")
def test_trim_drops_bytes_behind_the_window_from_the_page_cache_and_keeps_the_newest(
    tmp_path: Path,
) -> None:
    probe = os.open(tmp_path / "probe", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.write(probe, os.urandom(4 << 20))
        os.fsync(probe)
        os.posix_fadvise(probe, 0, 4 << 20, os.POSIX_FADV_DONTNEED)
        if all(_resident_pages(probe, 4 << 20)):
            pytest.skip("this file system keeps its pages cached whatever the advice (tmpfs)")
    finally:
        os.close(probe)
    keep = 1 << 20
    path = tmp_path / "segment"
    data = os.urandom(16 << 20)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)  # clean pages: the advice drops them at once
        trim = CacheTrim(keep, 1 << 30, lambda index: None)
        trim.advance(len(data), (0, fd))
        resident = _resident_pages(fd, len(data))
        assert os.pread(fd, len(data), 0) == data, "advice never changes the data"
    finally:
        os.close(fd)
    pages_kept = keep // mmap.PAGESIZE
    assert all(resident[-pages_kept:]), "the newest keep bytes stay cached"
    # The kernel drops a large folio (up to 2 MiB here) only whole, so the one that straddles
    # the end of the advised range may stay.
    slack = (2 << 20) // mmap.PAGESIZE
    assert not any(resident[: -pages_kept - slack]), "the bytes behind the window were dropped"
