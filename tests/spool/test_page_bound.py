"""The byte bound of a page: invariants of ``Spool.page``/``tail`` with ``max_bytes``.

Lines of random lengths (many longer than the bound), tiny segments and index intervals, so
cut lines cross segment boundaries and checkpoints. Each property runs against every store of
``tests/spool/conftest.py``, on asyncio and trio, and is checked on a reader opened through the
store that writes the spool and on one opened through a fresh store, as another process reads.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccstream import InvalidOption
from ccstream.spool._reader import Page, Spool
from ccstream.spool.testing import StoreFactory, layouts, quota_scripts, scripts
from tests.spool._helpers import Script, readers, split_lines, spool_of, streams_of, sync

# Lines from empty to hundreds of bytes, some without any newline.
script = scripts(("stdout",), max_write=300, max_writes=12)
layout = layouts(page_cache=False)
bound = st.integers(1, 64)
SETTINGS = settings(max_examples=int(os.environ.get("SPOOL_EXAMPLES", "60")), deadline=None)


def rebuilt(spool: Spool, page: Page) -> list[bytes]:
    """The page's lines, each cut one completed from its ``rest_offset``."""
    lines = list(page.lines)
    for cut in page.cuts:
        i = cut.line - page.first_line
        rest = sync(spool.read, page.stream, cut.rest_offset, cut.omitted)
        assert len(rest) == cut.omitted
        lines[i] += rest
    return lines


def check_bound(page: Page, max_bytes: int, lines: list[bytes]) -> None:
    """What every bounded page must hold to, against the stream's real ``lines``."""
    assert sum(map(len, page.lines)) <= max_bytes
    cut_lines = {cut.line for cut in page.cuts}
    for k, got in enumerate(page.lines, page.first_line):
        if k not in cut_lines:
            assert got == lines[k]
    for cut in page.cuts:
        whole = lines[cut.line]
        assert len(whole) > max_bytes, "a line that fits is never cut"
        assert len(page.lines) == 1, "a cut line comes alone"
        assert cut.kept == max_bytes == len(page.lines[0])
        assert cut.kept + cut.omitted == len(whole)
        assert cut.offset == len(b"".join(lines[: cut.line]))
        assert cut.rest_offset == cut.offset + cut.kept
        assert page.lines[0] == whole[: cut.kept]


def walk(spool: Spool, line: int, count: int, max_bytes: int, last: int | None) -> list[Page]:
    """Pages by the cursor from ``line`` until complete, caught up, or past ``last``."""
    pages = []
    for _ in range(10_000):
        page = sync(spool.page, line, count, max_bytes=max_bytes)
        pages.append(page)
        if page.complete or page.next_line == line or (last is not None and page.next_line > last):
            return pages
        line = page.next_line
    raise AssertionError("the cursor never reached the end")


@SETTINGS
@given(script, layout, st.integers(1, 7), bound)
def test_a_page_never_holds_more_than_max_bytes_and_kept_plus_cut_bytes_are_each_line(
    store_factory: StoreFactory,
    spool_backend: str,
    script: Script,
    layout: dict[str, int],
    count: int,
    max_bytes: int,
) -> None:
    lines = split_lines(streams_of(script)["stdout"])
    with spool_of(script, layout, store_factory) as spooled:
        for spool in readers(spooled):
            pages = walk(spool, 0, count, max_bytes, None)
            assert [line for page in pages for line in rebuilt(spool, page)] == lines
            assert pages[-1].complete
            for page in pages:
                check_bound(page, max_bytes, lines)
                assert page.next_line == page.first_line + len(page.lines)
                assert len(page.lines) <= count
                # A page ends at the count, the end, or a line that does not fit what is left.
                if page.lines and len(page.lines) < count and not page.complete:
                    used = sum(map(len, page.lines))
                    assert used + len(lines[page.next_line]) > max_bytes or page.cuts
            spool.close()


@SETTINGS
@given(script, layout, st.integers(1, 7), bound)
def test_a_bounded_page_while_running_never_holds_the_open_line_and_cuts_give_back_the_rest(
    store_factory: StoreFactory,
    spool_backend: str,
    script: Script,
    layout: dict[str, int],
    count: int,
    max_bytes: int,
) -> None:
    data = streams_of(script)["stdout"]
    terminated = split_lines(data[: data.rfind(b"\n") + 1])
    with spool_of(script, layout, store_factory, close=False) as spooled:
        for spool in readers(spooled):
            pages = walk(spool, 0, count, max_bytes, None)
            assert [line for page in pages for line in rebuilt(spool, page)] == terminated
            for page in pages:
                check_bound(page, max_bytes, terminated)
            spool.close()


@SETTINGS
@given(script, layout, st.integers(1, 9), bound)
def test_a_bounded_tail_and_the_pages_after_it_give_exactly_the_last_n_lines(
    store_factory: StoreFactory,
    spool_backend: str,
    script: Script,
    layout: dict[str, int],
    n: int,
    max_bytes: int,
) -> None:
    lines = split_lines(streams_of(script)["stdout"])
    with spool_of(script, layout, store_factory) as spooled:
        for spool in readers(spooled):
            tail = sync(spool.tail, n, max_bytes=max_bytes)
            check_bound(tail, max_bytes, lines)
            assert tail.first_line == max(0, len(lines) - n)
            got = rebuilt(spool, tail)
            if not tail.complete:
                for page in walk(spool, tail.next_line, n, max_bytes, None):
                    check_bound(page, max_bytes, lines)
                    got += rebuilt(spool, page)
            assert got == lines[-n:]
            spool.close()


quota_script = quota_scripts(("stdout",))


@SETTINGS
@given(quota_script, st.integers(16, 48), st.integers(4, 7), st.integers(1, 4), bound)
def test_bounded_pages_of_a_trimmed_spool_give_each_kept_line_once_exactly(
    store_factory: StoreFactory,
    spool_backend: str,
    script: Script,
    segment: int,
    segments: int,
    every: int,
    max_bytes: int,
) -> None:
    lines = split_lines(streams_of(script)["stdout"])
    layout = {
        "segment_size": segment,
        "quota": segment * segments,
        "index_every": every,
        "index_bytes": segment,
    }
    with spool_of(script, layout, store_factory) as spooled:
        for spool in readers(spooled):
            seen = []
            for page in walk(spool, 0, 5, max_bytes, None):
                check_bound(page, max_bytes, lines)
                for k, line in enumerate(rebuilt(spool, page), page.first_line):
                    assert line == lines[k]
                    seen.append(k)
            assert seen == sorted(set(seen))
            gap = spool.gaps[0] if spool.gaps else None
            if gap is None:
                assert seen == list(range(len(lines)))
            else:
                # Exactly the lines the gap does not touch.
                starts = [len(b"".join(lines[:k])) for k in range(len(lines) + 1)]
                untouched = [
                    k
                    for k in range(len(lines))
                    if starts[k + 1] <= gap.offset or starts[k] >= gap.offset + gap.bytes
                ]
                assert seen == untouched
            spool.close()


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, None])
def test_max_bytes_must_be_a_positive_integer(store_factory: StoreFactory, bad: object) -> None:
    with spool_of([("stdout", b"a\n")], {}, store_factory) as spooled:
        live, spool = readers(spooled)
        live.close()
        with pytest.raises(InvalidOption, match="max_bytes"):
            sync(spool.page, 0, 1, max_bytes=bad)
        with pytest.raises(InvalidOption, match="max_bytes"):
            sync(spool.tail, 1, max_bytes=bad)
        spool.close()
