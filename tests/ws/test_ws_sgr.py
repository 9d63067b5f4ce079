"""The server's SGR tracker (:mod:`ccstream_ws.protocol._sgr`): the style a stretch of output
leaves in effect, the same as the viewer's parser (``static/js/ansi.js``) finds."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccstream_ws.protocol._sgr import (
    DEFAULT_STYLE,
    MAX_SEQUENCE,
    SgrState,
    Style,
    apply_sgr,
    style_params,
)

JS = Path(__file__).resolve().parents[1] / "js"
VECTORS = json.loads((JS / "sgr_vectors.json").read_text())["vectors"]
NODE = shutil.which("node")


def params_after(data: bytes) -> str:
    state = SgrState()
    state.feed(data)
    return state.params()


@pytest.mark.parametrize(("text", "expected"), VECTORS)
def test_the_shared_vectors_give_their_parameters(text: str, expected: str) -> None:
    assert params_after(text.encode()) == expected


def test_a_long_sequence_is_dropped_whole_and_a_string_is_never_held() -> None:
    state = SgrState()
    state.feed(b"\x1b[31m\x1b[" + b"1;" * MAX_SEQUENCE + b"4m")
    assert state.params() == "31"
    state.feed(b"\x1b]0;" + b"t" * 1_000_000)
    assert len(state._seq) == 0
    state.feed(b"\x07\x1b[1m")
    assert state.params() == "1;31"


def test_a_full_reset_anchors_the_style() -> None:
    state = SgrState()
    state.feed(b"\x1b[1mbold\x1b[38;5;0m")  # a 0 that is a colour, not a reset
    assert not state.anchored
    state.feed(b"\x1b[0;32m")
    assert state.anchored
    assert state.params() == "32"
    state.reset()
    assert not state.anchored


ALL_SET: Style = (3, "#010203", True, True, True, True, True)


@given(st.text(alphabet="\x1b[;m0123:4789", max_size=20))
def test_after_a_reset_the_style_does_not_depend_on_where_it_started(tail: str) -> None:
    ends = []
    for start in (DEFAULT_STYLE, ALL_SET):
        state = SgrState(start)
        state.feed(b"\x1b[0m" + tail.encode())
        assert state.anchored
        ends.append(state.params())
    assert ends[0] == ends[1]


# Output made of the pieces that matter: text, SGR sequences (well-formed and not), other
# sequences, strings and their terminators, split anywhere.
_SGR = st.lists(
    st.sampled_from(
        [
            "0",
            "1",
            "2",
            "3",
            "4",
            "7",
            "22",
            "23",
            "24",
            "27",
            "31",
            "39",
            "42",
            "49",
            "91",
            "104",
            "38;5;196",
            "48;5;17",
            "38;2;1;2;3",
            "38:2::9:8:7",
            "38:5:44",
            "38;5",
            "38;2;1",
            "",
            "5",
            "300",
            "38;5;999",
        ]
    ),
    max_size=4,
).map(lambda ps: "\x1b[" + ";".join(ps) + "m")
_PIECE = st.one_of(
    st.text(alphabet="ab \t\r\x07\x08;[m0123", max_size=6),
    _SGR,
    st.sampled_from(
        [
            "\x1b",
            "\x1b[",
            "\x1b]0;t",
            "\x1b\\",
            "\x1b[?25l",
            "\x1b[2K",
            "\x1b(B",
            "\x1bP1;2",
            "\x1b[1 q",
            "\x1b7",
            "é",
            "\x1b[1é",
            "\x1b]8;;u\x1b\\",
        ]
    ),
)
OUTPUT = st.lists(_PIECE, max_size=12).map("".join)


@given(OUTPUT, st.lists(st.integers(min_value=0, max_value=200), max_size=6))
def test_the_style_does_not_depend_on_how_the_output_is_split(text: str, cuts: list[int]) -> None:
    data = text.encode()
    state = SgrState()
    last = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        state.feed(data[last:cut])
        last = cut
    state.feed(data[last:])
    assert state.params() == params_after(data)


@given(OUTPUT)
def test_the_canonical_parameters_restore_the_same_style(text: str) -> None:
    style = SgrState()
    style.feed(text.encode())
    again = apply_sgr(apply_sgr(style.style, "0"), style.params())
    assert again == style.style
    assert style_params(again) == style.params()


@pytest.mark.skipif(NODE is None, reason="node is not installed: the viewer's parser needs it")
@settings(max_examples=10, deadline=None)
@given(st.lists(OUTPUT, min_size=40, max_size=40))
def test_the_server_and_the_viewer_find_the_same_style(texts: list[str]) -> None:
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(JS / "sgr_params.mjs")],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    viewer = json.loads(done.stdout)
    server = [params_after(t.encode()) for t in texts]
    mismatched = [(t, v, s) for t, v, s in zip(texts, viewer, server, strict=True) if v != s]
    assert not mismatched, mismatched[:5]
