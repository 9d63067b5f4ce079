"""Text and bytes on the wire, sans-I/O: OS strings round-trip, params checks are total, and a
message of ours that cannot be encoded is sent escaped, not taken for a disconnect."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccstream_ws import ErrorCode, RPCError, ServerConfig
from ccstream_ws.protocol._jsonrpc import BadRequest, parse
from ccstream_ws.protocol._params import (
    parse_control,
    parse_execute,
    parse_page,
    parse_stdin,
    parse_subscribe,
)
from ccstream_ws.protocol._text import (
    OSStringError,
    is_text,
    os_string_from_wire,
    os_string_to_wire,
)
from ccstream_ws.server._registry import Registry
from ccstream_ws.server._session import Session, _Gone

posix_bytes = st.binary(max_size=40).filter(lambda b: b"\0" not in b)


@given(posix_bytes)
def test_any_posix_byte_string_round_trips_through_its_wire_form(data: bytes) -> None:
    on_wire = json.loads(json.dumps(os_string_to_wire(os.fsdecode(data)), ensure_ascii=False))
    assert os.fsencode(os_string_from_wire(on_wire)) == data
    # UTF-8 travels as itself; anything else as {"base64": ...}.
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        assert set(on_wire) == {"base64"}
    else:
        assert on_wire == text


@pytest.mark.parametrize(
    "value",
    ["\ud800", "caf\udce9", {"base64": "!!"}, {"base64": "AA=="}, {"base64": 1}, {}, 3, None],
)
def test_what_is_not_an_os_string_is_refused(value: object) -> None:
    # "AA==" is a NUL byte; "caf\udce9" is a lone surrogate in JSON (use the base64 form).
    with pytest.raises(OSStringError):
        os_string_from_wire(value)


def test_text_is_what_encodes_to_utf8() -> None:
    assert is_text("café ☃ \U0001f600")
    assert not is_text("\ud800")
    assert not is_text("a\udfff")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**308, max_value=10**400)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=2),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
KEYS = [
    "command",
    "argv",
    "timeout",
    "idle_timeout",
    "cwd",
    "env",
    "stdin",
    "detach",
    "retention",
    "output_options",
    "type",
    "execution_id",
    "data",
    "encoding",
    "eof",
    "line",
    "count",
    "stream",
    "offsets",
]
params = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6)
PARSERS: list[Callable[[dict[str, Any]], object]] = [
    lambda p: parse_execute(p, 1 << 20),
    parse_control,
    parse_page,
    parse_stdin,
    lambda p: parse_subscribe(p, 1 << 20),
]


@given(params, st.sampled_from(range(len(PARSERS))))
def test_params_checks_are_total_any_json_gets_a_value_or_invalid_params(
    p: dict[str, Any], which: int
) -> None:
    refused: RPCError | None = None
    try:
        PARSERS[which](p)
    except RPCError as exc:
        refused = exc
    if refused is not None:
        assert refused.code == ErrorCode.INVALID_PARAMS
        assert is_text(refused.message)


@pytest.mark.parametrize(
    ("parser", "p"),
    [
        (parse_page, {"execution_id": "x", "count": None}),
        (parse_page, {"execution_id": "x", "line": None}),
        (parse_page, {"execution_id": "x", "count": True}),
        (lambda p: parse_subscribe(p, 1 << 20), {"execution_id": "x", "offsets": {"stdout": None}}),
        (lambda p: parse_execute(p, 1 << 20), {"argv": ["true"], "timeout": 10**400}),
        (lambda p: parse_execute(p, 1 << 20), {"argv": ["true"], "idle_timeout": -(10**400)}),
        (lambda p: parse_execute(p, 1 << 20), {"argv": ["true"], "retention": float("inf")}),
        (
            lambda p: parse_execute(p, 1 << 20),
            {"argv": ["true"], "output_options": {"chunk_size": None}},
        ),
        (lambda p: parse_execute(p, 1 << 20), {"argv": ["echo", "\ud800"]}),
        (lambda p: parse_execute(p, 1 << 20), {"argv": ["true"], "env": {"A": "\udce9"}}),
        (lambda p: parse_execute(p, 1 << 20), {"argv": ["true"], "env": {"\ud800": "x"}}),
        (lambda p: parse_execute(p, 1 << 20), {"argv": ["true"], "cwd": "\ud800"}),
        (lambda p: parse_execute(p, 1 << 20), {"command": "echo \ud800"}),
        (parse_stdin, {"data": "\ud800"}),
        (parse_control, {"type": "PAUSE", "execution_id": "\ud800"}),
    ],
)
def test_null_huge_numbers_and_lone_surrogates_are_invalid_params(parser: Any, p: Any) -> None:
    with pytest.raises(RPCError) as refused:
        parser(p)
    assert refused.value.code == ErrorCode.INVALID_PARAMS
    assert is_text(refused.value.message)


def test_the_byte_form_gives_the_child_exact_bytes() -> None:
    p = parse_execute(
        {
            "argv": ["echo", {"base64": "Y2Fm6S50eHQ="}],
            "cwd": {"base64": "L3RtcC/p"},
            "env": {"A": {"base64": "/w=="}},
        },
        1 << 20,
    )
    assert p.argv is not None
    assert os.fsencode(p.argv[1]) == b"caf\xe9.txt"
    assert p.cwd is not None
    assert os.fsencode(p.cwd) == b"/tmp/\xe9"
    assert p.env is not None
    assert os.fsencode(p.env["A"]) == b"\xff"


@pytest.mark.parametrize(
    "text",
    [
        '{"jsonrpc":"2.0","method":"\\ud800","id":1}',
        '{"jsonrpc":"2.0","method":"ping","id":"\\ud800"}',
        '{"jsonrpc":"2.0","method":"ping","id":1e400}',
        '{"jsonrpc":"2.0","method":"ping","id":-1e400}',
    ],
)
def test_an_id_or_method_that_could_not_be_echoed_is_an_invalid_request(text: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse(text)
    assert refused.value.code == ErrorCode.INVALID_REQUEST
    # The answer's id can be sent: JSON text, UTF-8.
    json.dumps(refused.value.request_id, allow_nan=False, ensure_ascii=False).encode("utf-8")


@pytest.mark.anyio
async def test_a_message_that_cannot_be_encoded_is_sent_escaped_not_taken_for_a_disconnect() -> (
    None
):
    sent: list[dict[str, Any]] = []

    async def send(event: Any) -> None:
        # What uvicorn and hypercorn do: encode the text before writing anything.
        if "text" in event:
            event["text"].encode("utf-8")
        sent.append(dict(event))

    session = Session(Registry(ServerConfig()), send, client="test")
    await session.send('{"message":"caf\udce9"}')
    await session.send('{"next":1}')
    assert [json.loads(e["text"]) for e in sent] == [{"message": "caf\udce9"}, {"next": 1}]

    async def gone(event: Any) -> None:
        raise OSError("connection reset")

    session = Session(Registry(ServerConfig()), gone, client="test")
    with pytest.raises(_Gone):
        await session.send("{}")
    with pytest.raises(_Gone):
        await session.send("{}")
