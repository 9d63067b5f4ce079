"""Searching a spool (``Spool.search``): the matches equal a naive line-by-line search over the
same bytes, from any cursor, for literals and regular expressions, done or while written; counts,
cursors, limits, cut lines, gaps and bad input."""

from __future__ import annotations

import os
import re

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccstream import InvalidOption
from ccstream._events import StreamName
from ccstream.spool import LocalStore, Match, Search, SearchCursor
from ccstream.spool.testing import StoreFactory
from tests.spool._helpers import Script, readers, spool_of, streams_of, sync, walk

SETTINGS = settings(max_examples=int(os.environ.get("SPOOL_EXAMPLES", "60")), deadline=None)

# Lines of a small alphabet, so that patterns of it match often; some long, some empty.
writes = st.text(alphabet="abAB \n\n", max_size=120).map(str.encode)
script = st.lists(st.tuples(st.sampled_from(["stdout", "stderr"]), writes), max_size=20)
layout = st.fixed_dictionaries(
    {
        "segment_size": st.integers(16, 96),
        "index_every": st.integers(1, 6),
        "index_bytes": st.integers(1, 80),
        "chunk_size": st.integers(16, 48),
    }
)
literals = st.text(alphabet="abAB ", max_size=3)
regexes = st.sampled_from(
    ["a", "ab|ba", "^a", "b$", "^$", "a+b", "[aA]b*", "^(a|b)+$", " ", "A.B", "", "b\\s?a", "^"]
)
pattern = st.one_of(st.tuples(literals, st.just(False)), st.tuples(regexes, st.just(True)))


def naive(
    data: bytes, pattern: str, *, regex: bool, ignore_case: bool, start: int, complete: bool
) -> list[tuple[int, int, bytes]]:
    """(line, offset, text) of every line that holds the pattern, one line at a time, from the
    first line starting at or after byte ``start``; an unterminated last line only when
    ``complete``."""
    pat = pattern.encode()
    rx = re.compile(pat, re.IGNORECASE if ignore_case else 0) if regex else None
    out = []
    pos = 0
    lines = data.split(b"\n")
    if not complete or lines[-1] == b"":
        lines.pop()  # no line after the last newline (or one that may still grow)
    for number, line in enumerate(lines):
        if pos >= start:
            if rx is not None:
                found = rx.search(line) is not None
            elif ignore_case:
                found = pat.lower() in line.lower()
            else:
                found = pat in line
            if found:
                out.append((number, pos, line))
        pos += len(line) + 1
    return out


def collect(search: Search) -> list[Match]:
    async def main() -> list[Match]:
        with anyio.fail_after(20):
            return [match async for match in search]

    return sync(main)


@SETTINGS
@given(
    script,
    layout,
    pattern,
    st.booleans(),
    st.sampled_from(["stdout", "stderr"]),
    st.integers(0, 400),
    st.integers(1, 40),
    st.booleans(),
)
def test_search_equals_a_naive_line_by_line_search_from_any_cursor(
    store_factory: StoreFactory,
    spool_backend: str,
    script: Script,
    layout: dict[str, int],
    pattern: tuple[str, bool],
    ignore_case: bool,
    stream: StreamName,
    start: int,
    block: int,
    complete: bool,
) -> None:
    text, regex = pattern
    data = streams_of(script)[stream]
    expected = naive(
        data, text, regex=regex, ignore_case=ignore_case, start=start, complete=complete
    )
    with spool_of(script, layout, store_factory, close=complete) as spooled:
        for spool in readers(spooled):
            cursor = SearchCursor(start, start)
            search = Search(
                spool, text, regex=regex, ignore_case=ignore_case, stream=stream,
                cursor=cursor, block_size=block, max_line_bytes=1000,
            )  # fmt: skip
            found = collect(search)
            assert [(m.line, m.offset, m.text) for m in found] == expected
            assert all(m.stream == stream and not m.cut for m in found)
            assert search.count == len(expected)
            assert search.done == complete
            # The cursor is past every searched line: a search from it finds nothing more.
            again = collect(Search(spool, text, regex=regex, stream=stream, cursor=search.cursor))
            assert again == []
            spool.close()


@SETTINGS
@given(script, layout, pattern, st.integers(1, 4), st.integers(1, 40))
def test_searching_on_from_the_cursor_after_each_limit_equals_one_whole_search(
    store_factory: StoreFactory,
    spool_backend: str,
    script: Script,
    layout: dict[str, int],
    pattern: tuple[str, bool],
    limit: int,
    block: int,
) -> None:
    text, regex = pattern
    with spool_of(script, layout, store_factory) as spooled:
        spool = readers(spooled)[0]
        whole = collect(Search(spool, text, regex=regex, block_size=block))
        pieces: list[Match] = []
        cursor = SearchCursor()
        for _ in range(1000):
            search = Search(spool, text, regex=regex, cursor=cursor, limit=limit, block_size=block)
            got = collect(search)
            assert len(got) <= limit
            pieces += got
            cursor = search.cursor
            if not search.limited:
                assert search.done
                break
        key = lambda m: (m.stream, m.line)  # noqa: E731
        assert sorted(pieces, key=key) == sorted(whole, key=key)
        spool.close()


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["stdout", "stderr"]),
            st.binary(min_size=10, max_size=200).map(lambda b: b.replace(b"\x00", b"\n")),
        ),
        min_size=4,
        max_size=30,
    ),
    st.sampled_from([b"\x01", b"a", b"\n"[:0]]),
)
def test_search_under_the_quota_finds_what_pages_hold_and_reports_every_gap(
    store_factory: StoreFactory, spool_backend: str, script: Script, needle: bytes
) -> None:
    layout = {"segment_size": 64, "quota": 256, "index_every": 3, "index_bytes": 40}
    with spool_of(script, layout, store_factory) as spooled:
        for spool in readers(spooled):
            for stream in ("stdout", "stderr"):
                kept = [
                    (number, line.rstrip(b"\n"))
                    for page in walk(spool, 7, stream)
                    for number, line in enumerate(page.lines, page.first_line)
                    if needle in line.rstrip(b"\n")
                ]
                search = Search(spool, needle, stream=stream, block_size=16)
                found = collect(search)
                assert [(m.line, m.text) for m in found] == kept
                assert search.gaps == [g for g in spool.gaps if g.stream == stream]
            spool.close()


def test_a_long_line_is_cut_to_max_line_bytes_and_says_how_much_is_left_out() -> None:
    data = b"short match\n" + b"x" * 5000 + b"match" + b"y" * 100 + b"\nend"
    with spool_of([("stdout", data)], {"segment_size": 4096}, LocalStore) as spooled:
        spool = readers(spooled)[1]
        for block in (64, 1 << 20):
            found = collect(Search(spool, "match", max_line_bytes=100, block_size=block))
            assert [(m.line, m.offset, m.column) for m in found] == [(0, 0, 6), (1, 12, 5000)]
            assert found[0].text == b"short match"
            assert not found[0].cut
            assert found[1].text == b"x" * 100
            assert found[1].cut
            assert found[1].omitted == 5005
            assert found[1].length == 5105
        spool.close()


def test_both_streams_are_searched_when_no_stream_is_named() -> None:
    script: Script = [("stdout", b"ok\nerror one\n"), ("stderr", b"ERROR two\nfine\n")]
    with spool_of(script, {}, LocalStore) as spooled:
        spool = readers(spooled)[0]
        found = collect(spool.search("error", ignore_case=True))
        assert [(m.stream, m.line, m.text) for m in found] == [
            ("stdout", 1, b"error one"),
            ("stderr", 0, b"ERROR two"),
        ]
        only = collect(spool.search(rb"^E", regex=True, stream="stderr"))
        assert [(m.stream, m.line) for m in only] == [("stderr", 0)]
        spool.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pattern": "(", "regex": True}, "not a regular expression"),
        ({"pattern": "a\nb"}, "cannot hold a newline"),
        ({"pattern": 3}, "pattern must be bytes or str"),
        ({"pattern": "a", "limit": 0}, "limit must be"),
        ({"pattern": "a", "stream": "both"}, "stream must be"),
        ({"pattern": "a", "max_line_bytes": -1}, "max_line_bytes must be"),
        ({"pattern": "a", "cursor": {"stdout": 3}}, "cursor must be a SearchCursor"),
    ],
)
def test_bad_arguments_raise_invalid_option_at_once(
    kwargs: dict[str, object], message: str
) -> None:
    with spool_of([("stdout", b"a\n")], {}, LocalStore) as spooled:
        spool = readers(spooled)[0]
        with pytest.raises(InvalidOption, match=message):
            spool.search(**kwargs)  # type: ignore[arg-type]
        search = spool.search("a")
        assert len(collect(search)) == 1
        with pytest.raises(InvalidOption, match="iterated once"):
            search.__aiter__()
        spool.close()
