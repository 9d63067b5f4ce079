"""Reads of the local store's files: inside ``no_wait`` a read the page cache cannot answer
raises ``WouldBlock``, and a page over such files is read in a worker thread all the same."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import ccstream
from ccstream.spool.local._files import NO_WAIT, WouldBlock, _pread, no_wait

pytestmark = pytest.mark.skipif(
    not NO_WAIT or not hasattr(os, "posix_fadvise"), reason="RWF_NOWAIT and fadvise are Linux's"
)


def _evict(path: Path) -> bool:
    """Drop ``path``'s pages from the page cache; whether they are gone (a no-wait read fails)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        with no_wait():
            try:
                _pread(fd, 4096, 0)
            except WouldBlock:
                return True
        return False
    finally:
        os.close(fd)


def test_a_no_wait_read_takes_the_page_cache_or_says_it_would_block(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * (1 << 20))
    fd = os.open(path, os.O_RDONLY)
    try:
        assert _pread(fd, 10, 0) == b"x" * 10
        with no_wait():
            assert _pread(fd, 10, (1 << 20) - 5) == b"x" * 5  # the end of the file is no fault
    finally:
        os.close(fd)
    if not _evict(path):
        pytest.skip("this file system keeps the pages: nothing to show")


@pytest.mark.anyio
async def test_a_page_of_evicted_files_is_read_in_a_thread(tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    options = ccstream.Options(spool=ccstream.SpoolOptions(directory=directory, keep=True))
    async with ccstream.stream(["seq", "1", "200000"], options) as run:
        await run.wait()
    evicted = [_evict(segment) for segment in sorted(directory.glob("*.seg"))]
    if not any(evicted):
        pytest.skip("this file system keeps the pages: nothing to show")
    with ccstream.Spool.open(directory) as spool:
        page = await spool.page(150_000, 3)
    assert page.lines == [b"150001\n", b"150002\n", b"150003\n"]
