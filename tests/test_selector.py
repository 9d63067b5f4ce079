"""Selector: head/tail caps, line patterns, and the account of every dropped byte and line."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccstream import _selector
from ccstream._selector import LinePattern, Selection, Selector
from ccstream.exceptions import InvalidOption

# -- a reference model: the spec, written the slow and obvious way over the whole input ----------


@dataclass(frozen=True)
class Caps:
    head_bytes: int | None = None
    tail_bytes: int | None = None
    head_lines: int | None = None
    tail_lines: int | None = None


def split_lines(data: bytes) -> list[bytes]:
    """Lines with their b"\\n"; the last one may have none."""
    lines = data.split(b"\n")
    out = [line + b"\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def count_lines(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def model_keep(
    line: bytes, include: Sequence[bytes], exclude: Sequence[bytes], max_line_bytes: int
) -> bool:
    content = (line[:-1] if line.endswith(b"\n") else line)[:max_line_bytes]
    if include and not any(re.search(p, content) for p in include):
        return False
    return not any(re.search(p, content) for p in exclude)


def model_side(cap_bytes: int | None, cap_lines: int | None, max_line: int) -> tuple[int, int]:
    big = 1 << 62
    if cap_bytes is None and cap_lines is None:
        return 0, 0
    if cap_lines is None:
        return (big if cap_bytes is None else cap_bytes), big
    return (cap_lines * max_line if cap_bytes is None else cap_bytes), cap_lines


def model(
    data: bytes,
    caps: Caps,
    include: Sequence[bytes] = (),
    exclude: Sequence[bytes] = (),
    max_line_bytes: int = 1 << 20,
) -> Selection:
    lines = split_lines(data)
    kept = [line for line in lines if model_keep(line, include, exclude, max_line_bytes)]
    dropped = [line for line in lines if not model_keep(line, include, exclude, max_line_bytes)]
    selected = b"".join(kept)
    open_end = bool(selected) and not selected.endswith(b"\n")

    if all(c is None for c in (caps.head_bytes, caps.tail_bytes, caps.head_lines, caps.tail_lines)):
        head, rest, tail = selected, b"", b""
    else:
        hb, hl = model_side(caps.head_bytes, caps.head_lines, max_line_bytes)
        tb, tl = model_side(caps.tail_bytes, caps.tail_lines, max_line_bytes)
        cut, seen = len(selected), 0
        for i, byte in enumerate(selected):
            if byte == 0x0A:
                seen += 1
                if seen == hl:
                    cut = i + 1
                    break
        if hl == 0:
            cut = 0
        cut = min(cut, hb)
        head, rest = selected[:cut], selected[cut:]
        tail = b""
        for size in range(len(rest), 0, -1):
            candidate = rest[len(rest) - size :]
            if size <= tb and candidate.count(b"\n") + open_end <= tl:
                tail = candidate
                break
    omitted = rest[: len(rest) - len(tail)]
    head_lines = head.count(b"\n") + (open_end and len(head) == len(selected))
    tail_lines = tail.count(b"\n") + (open_end and bool(tail))
    omitted_lines = omitted.count(b"\n") + (open_end and not tail and bool(omitted))
    return Selection(
        head=head,
        tail=tail,
        head_size=len(head),
        head_lines=head_lines,
        tail_lines=tail_lines,
        omitted_bytes=len(omitted),
        omitted_lines=omitted_lines,
        filtered_bytes=sum(map(len, dropped)),
        filtered_lines=len(dropped),
        total_bytes=len(data),
        total_lines=count_lines(data),
    )


# -- strategies ----------------------------------------------------------------------------------

# Few distinct bytes so lines repeat, patterns hit and miss, and empty lines occur.
streams = st.lists(st.sampled_from([b"a", b"b", b"x", b"\n", b"ab", b"\n\n"]), max_size=40).map(
    b"".join
)
small_caps = st.none() | st.integers(0, 12)
caps_strategy = st.builds(
    Caps, head_bytes=small_caps, tail_bytes=small_caps, head_lines=small_caps, tail_lines=small_caps
)
pattern_sets = st.sampled_from([(), (b"a",), (b"^b",), (b"x$",), (b"a", b"^$"), (b"b+x",)])


def chunks_of(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


split_points = st.lists(st.integers(0, 60), max_size=8)


def run_selector(selector: Selector, chunks: list[bytes]) -> tuple[bytes, Selection]:
    passed = b"".join(selector.feed(chunk) for chunk in chunks) + selector.flush()
    return passed, selector.finish()


def make(
    caps: Caps,
    include: Sequence[LinePattern] = (),
    exclude: Sequence[LinePattern] = (),
    max_line_bytes: int = 1 << 20,
    keep_head: bool = True,
) -> Selector:
    return Selector(
        head_bytes=caps.head_bytes,
        tail_bytes=caps.tail_bytes,
        head_lines=caps.head_lines,
        tail_lines=caps.tail_lines,
        include=include,
        exclude=exclude,
        max_line_bytes=max_line_bytes,
        keep_head=keep_head,
    )


# -- properties ----------------------------------------------------------------------------------


@given(data=streams, cuts=split_points)
def test_uncapped_selector_passes_input_unchanged_for_any_split(
    data: bytes, cuts: list[int]
) -> None:
    passed, sel = run_selector(Selector(), chunks_of(data, cuts))
    assert passed == data
    assert sel.head == data
    assert sel.tail == b""
    assert sel.complete
    assert (sel.total_bytes, sel.total_lines) == (len(data), count_lines(data))


@given(
    data=streams,
    cuts=split_points,
    caps=caps_strategy,
    include=pattern_sets,
    exclude=pattern_sets,
    max_line_bytes=st.integers(1, 6) | st.just(1 << 20),
)
def test_head_omitted_tail_filtered_account_for_every_byte_and_line(
    data: bytes,
    cuts: list[int],
    caps: Caps,
    include: tuple[bytes, ...],
    exclude: tuple[bytes, ...],
    max_line_bytes: int,
) -> None:
    _, sel = run_selector(make(caps, include, exclude, max_line_bytes), chunks_of(data, cuts))
    assert sel.total_bytes == len(data)
    assert sel.total_lines == count_lines(data)
    assert sel.total_bytes == sel.head_size + sel.omitted_bytes + len(sel.tail) + sel.filtered_bytes
    assert sel.total_lines == (
        sel.head_lines + sel.omitted_lines + sel.tail_lines + sel.filtered_lines
    )
    assert sel.head_size == len(sel.head)


@given(
    data=streams,
    cuts=split_points,
    caps=caps_strategy,
    include=pattern_sets,
    exclude=pattern_sets,
)
def test_head_is_prefix_and_tail_is_suffix_of_selected_output(
    data: bytes, cuts: list[int], caps: Caps, include: tuple[bytes, ...], exclude: tuple[bytes, ...]
) -> None:
    selected = b"".join(
        line for line in split_lines(data) if model_keep(line, include, exclude, 1 << 20)
    )
    _, sel = run_selector(make(caps, include, exclude), chunks_of(data, cuts))
    assert selected.startswith(sel.head)
    assert selected.endswith(sel.tail)
    assert len(sel.head) + sel.omitted_bytes + len(sel.tail) == len(selected)
    if caps.head_bytes is not None:
        assert len(sel.head) <= caps.head_bytes
    if caps.head_lines is not None:
        assert sel.head_lines <= caps.head_lines
    if caps.tail_bytes is not None:
        assert len(sel.tail) <= caps.tail_bytes
    if caps.tail_lines is not None:
        assert sel.tail_lines <= caps.tail_lines


@given(
    data=streams,
    cuts=split_points,
    caps=caps_strategy,
    include=pattern_sets,
    exclude=pattern_sets,
    max_line_bytes=st.integers(1, 6) | st.just(1 << 20),
)
def test_selection_equals_reference_model_for_any_split(
    data: bytes,
    cuts: list[int],
    caps: Caps,
    include: tuple[bytes, ...],
    exclude: tuple[bytes, ...],
    max_line_bytes: int,
) -> None:
    _, sel = run_selector(make(caps, include, exclude, max_line_bytes), chunks_of(data, cuts))
    assert sel == model(data, caps, include, exclude, max_line_bytes)


@given(
    data=streams,
    cuts=split_points,
    caps=caps_strategy,
    include=pattern_sets,
    exclude=pattern_sets,
    batch=st.integers(1, 8),
)
def test_selection_is_independent_of_the_filter_batch_size(
    data: bytes,
    cuts: list[int],
    caps: Caps,
    include: tuple[bytes, ...],
    exclude: tuple[bytes, ...],
    batch: int,
) -> None:
    # Real batches are 64 KiB; tiny ones make every example cross batch boundaries.
    with mock.patch.object(_selector, "_BATCH", batch):
        _, sel = run_selector(make(caps, include, exclude, 4), chunks_of(data, cuts))
    assert sel == model(data, caps, include, exclude, 4)


@given(data=streams, cuts=split_points, caps=caps_strategy, include=pattern_sets)
def test_fed_and_flushed_bytes_are_exactly_the_head(
    data: bytes, cuts: list[int], caps: Caps, include: tuple[bytes, ...]
) -> None:
    passed, sel = run_selector(make(caps, include), chunks_of(data, cuts))
    assert passed == sel.head


@given(data=streams, cuts=split_points, caps=caps_strategy, include=pattern_sets)
def test_keep_head_false_changes_only_the_kept_head(
    data: bytes, cuts: list[int], caps: Caps, include: tuple[bytes, ...]
) -> None:
    chunks = chunks_of(data, cuts)
    passed_kept, kept = run_selector(make(caps, include), chunks)
    passed_live, live = run_selector(make(caps, include, keep_head=False), chunks)
    assert passed_live == passed_kept
    assert live.head == b""
    assert live == replace(kept, head=b"")


@given(
    data=streams,
    cuts=split_points,
    caps=caps_strategy,
    include=pattern_sets,
    max_line_bytes=st.integers(1, 6),
)
def test_held_bytes_never_exceed_tail_cap_or_max_line_bytes(
    data: bytes, cuts: list[int], caps: Caps, include: tuple[bytes, ...], max_line_bytes: int
) -> None:
    # White-box: the memory bound is the point of this module, so check the buffers directly.
    selector = make(caps, include, max_line_bytes=max_line_bytes, keep_head=False)
    tail_cap = caps.tail_bytes
    if tail_cap is None and caps.tail_lines is not None:
        tail_cap = caps.tail_lines * max_line_bytes
    for chunk in chunks_of(data, cuts):
        selector.feed(chunk)
        assert len(selector._pending) < max_line_bytes
        assert selector._ring_size == sum(len(piece) for piece, _ in selector._ring)
        assert selector._ring_size <= (tail_cap or 0)


# -- patterns ------------------------------------------------------------------------------------

LOG = b"INFO start\nDEBUG noise\nERROR disk full\nINFO done\n"


def test_include_keeps_only_matching_lines() -> None:
    sel = Selector(include=[b"ERROR", b"^INFO"])
    assert sel.feed(LOG) == b"INFO start\nERROR disk full\nINFO done\n"
    result = sel.finish()
    assert (result.filtered_bytes, result.filtered_lines) == (len(b"DEBUG noise\n"), 1)
    assert not result.complete


def test_exclude_drops_matching_lines() -> None:
    sel = Selector(exclude=[b"DEBUG"])
    assert sel.feed(LOG) == b"INFO start\nERROR disk full\nINFO done\n"


def test_exclude_wins_over_include() -> None:
    sel = Selector(include=[b"INFO"], exclude=[b"done"])
    assert sel.feed(LOG) == b"INFO start\n"
    assert sel.finish().filtered_lines == 3


def test_patterns_may_be_str_bytes_or_compiled_bytes() -> None:
    for pattern in ("ERROR", b"ERROR", re.compile(b"error", re.IGNORECASE)):
        assert Selector(include=[pattern]).feed(LOG) == b"ERROR disk full\n"


def test_str_pattern_is_matched_as_utf8() -> None:
    assert Selector(include=["é"]).feed("café\ntea\n".encode()) == "café\n".encode()


def test_patterns_see_the_line_without_its_newline() -> None:
    assert Selector(include=[b"^INFO done$"]).feed(LOG) == b"INFO done\n"
    assert Selector(include=[b"^$"]).feed(b"a\n\nb\n") == b"\n"


def test_unterminated_last_line_is_judged_at_flush() -> None:
    sel = Selector(include=[b"end"])
    assert sel.feed(b"x\nthe end") == b""
    assert sel.flush() == b"the end"
    result = sel.finish()
    assert (result.head_lines, result.filtered_lines, result.total_lines) == (1, 1, 2)


def test_line_longer_than_max_line_bytes_is_judged_on_its_prefix() -> None:
    long_line = b"a" * 10 + b"MATCH\n"
    # The word sits past the first 8 bytes, so the line does not match.
    sel = Selector(include=[b"MATCH"], max_line_bytes=8)
    assert sel.feed(long_line + b"MATCH\n") == b"MATCH\n"
    assert sel.finish().filtered_bytes == len(long_line)
    # Same verdict however the line arrives.
    sel = Selector(include=[b"MATCH"], max_line_bytes=8)
    assert b"".join(sel.feed(long_line[i : i + 3]) for i in range(0, len(long_line), 3)) == b""
    assert sel.finish().filtered_lines == 1


def test_kept_long_line_passes_before_its_end_arrives() -> None:
    sel = Selector(include=[b"^a"], max_line_bytes=4)
    assert sel.feed(b"abc") == b""  # shorter than max_line_bytes: held
    assert sel.feed(b"defg") == b"abcdefg"  # reached it: judged on b"abcd" and passed on
    assert len(sel._pending) == 0
    assert sel.feed(b"hi\nzz\n") == b"hi\n"  # the rest of the line follows its verdict
    result = sel.finish()
    assert (result.head, result.filtered_lines, result.total_lines) == (b"abcdefghi\n", 1, 2)


def test_dropped_long_line_is_counted_once_as_filtered() -> None:
    sel = Selector(exclude=[b"^a"], max_line_bytes=2)
    for piece in (b"aaa", b"aaa", b"a\nb\n"):
        sel.feed(piece)
    result = sel.finish()
    assert result.head == b"b\n"
    assert (result.filtered_bytes, result.filtered_lines) == (8, 1)


# -- caps ----------------------------------------------------------------------------------------


def test_head_byte_cap_cutting_a_line_counts_its_rest_as_omitted() -> None:
    sel = Selector(head_bytes=3)
    assert sel.feed(b"hello\nworld\n") == b"hel"
    result = sel.finish()
    assert (result.head, result.head_lines) == (b"hel", 0)
    assert (result.omitted_bytes, result.omitted_lines) == (9, 2)


def test_head_and_tail_caps_keep_both_ends() -> None:
    data = b"".join(b"line %d\n" % i for i in range(100))
    sel = Selector(head_lines=2, tail_lines=2)
    sel.feed(data)
    result = sel.finish()
    assert result.head == b"line 0\nline 1\n"
    assert result.tail == b"line 98\nline 99\n"
    assert (result.head_lines, result.omitted_lines, result.tail_lines) == (2, 96, 2)


def test_tail_lines_counts_an_unterminated_last_line() -> None:
    sel = Selector(tail_lines=2)
    sel.feed(b"a\nb\nc")
    result = sel.finish()
    assert (result.tail, result.tail_lines, result.omitted_lines) == (b"b\nc", 2, 1)


def test_tail_byte_cap_may_start_inside_a_line() -> None:
    sel = Selector(tail_bytes=4)
    sel.feed(b"abc\ndefgh\n")
    result = sel.finish()
    assert (result.tail, result.tail_lines) == (b"fgh\n", 1)
    assert (result.omitted_bytes, result.omitted_lines) == (6, 1)


def test_a_side_without_caps_is_empty_when_the_other_has_caps() -> None:
    head_only = Selector(head_lines=1)
    head_only.feed(b"a\nb\nc\n")
    assert (head_only.finish().head, head_only.finish().tail) == (b"a\n", b"")
    tail_only = Selector(tail_lines=1)
    assert tail_only.feed(b"a\nb\nc\n") == b""
    assert (tail_only.finish().head, tail_only.finish().tail) == (b"", b"c\n")


def test_line_cap_alone_is_also_capped_at_lines_times_max_line_bytes() -> None:
    sel = Selector(head_lines=2, tail_lines=1, max_line_bytes=10)
    sel.feed(b"x" * 100)
    result = sel.finish()
    assert (len(result.head), len(result.tail), result.omitted_bytes) == (20, 10, 70)
    assert (result.head_lines, result.omitted_lines, result.tail_lines) == (0, 0, 1)


def test_zero_caps_omit_everything_but_count_it() -> None:
    sel = Selector(head_bytes=0, tail_bytes=0)
    assert sel.feed(b"a\nb") == b""
    result = sel.finish()
    assert (result.head, result.tail) == (b"", b"")
    assert (result.omitted_bytes, result.omitted_lines) == (3, 2)


def test_big_chunks_after_the_head_keep_only_the_newest_tail() -> None:
    sel = Selector(head_bytes=4, tail_bytes=6)
    for i in range(5):
        sel.feed(bytes([0x30 + i]) * 9 + b"\n")
    result = sel.finish()
    assert (result.head, result.tail) == (b"0000", b"44444\n")
    assert result.omitted_bytes == 50 - 4 - 6
    assert (result.omitted_lines, result.tail_lines) == (4, 1)


def test_tiny_feeds_are_merged_in_the_tail() -> None:
    sel = Selector(tail_bytes=1 << 20)
    for _ in range(10_000):
        sel.feed(b"ab\n")
    assert len(sel._ring) < 10  # about 4 KiB per piece, not one piece per feed
    result = sel.finish()
    assert result.tail == b"ab\n" * 10_000
    assert result.tail_lines == 10_000


def test_complete_only_when_nothing_dropped() -> None:
    sel = Selector(head_bytes=10, tail_bytes=10)
    sel.feed(b"short\n")
    assert sel.finish().complete


def test_empty_input() -> None:
    sel = Selector(head_bytes=10, include=[b"a"])
    assert sel.feed(b"") == b""
    assert sel.flush() == b""
    assert sel.finish() == Selection(b"", b"", 0, 0, 0, 0, 0, 0, 0, 0, 0)


def test_finish_is_idempotent_and_feed_after_it_raises() -> None:
    sel = Selector()
    sel.feed(b"x")
    assert sel.finish() is sel.finish()
    assert sel.flush() == b""
    with pytest.raises(RuntimeError):
        sel.feed(b"y")


# -- options -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"head_bytes": -1},
        {"tail_lines": -5},
        {"head_lines": 1.5},
        {"tail_bytes": True},
        {"head_bytes": "10"},
        {"max_line_bytes": 0},
        {"max_line_bytes": None},
        {"keep_head": 1},
        {"include": "ERROR"},
        {"exclude": b"DEBUG"},
        {"include": [re.compile("str pattern")]},
        {"include": [b"(unclosed"]},
        {"exclude": [42]},
    ],
)
def test_bad_options_raise_invalid_option(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidOption):
        Selector(**kwargs)  # type: ignore[arg-type]


def test_invalid_regex_keeps_its_cause() -> None:
    with pytest.raises(InvalidOption) as info:
        Selector(include=["(unclosed"])
    assert isinstance(info.value.__cause__, re.error)
