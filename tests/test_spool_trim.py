"""The page-cache trim of a spooled stream: which byte ranges it advises the kernel to drop."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ccstream._spool_trim import CacheTrim


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


def test_trim_really_drops_written_bytes_from_the_page_cache(tmp_path: Path) -> None:
    # The kernel is free to ignore the advice, so only what must hold is checked: the real
    # call runs on a real file, and the data stays intact.
    path = tmp_path / "segment"
    data = os.urandom(1 << 20)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
        trim = CacheTrim(1 << 16, 1 << 30, lambda index: None)
        trim.advance(len(data), (0, fd))
        trim.advance(len(data) + (1 << 18), (0, fd))
        assert os.pread(fd, len(data), 0) == data
    finally:
        os.close(fd)
