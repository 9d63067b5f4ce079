"""The adapter's sans-I/O pieces: JSON-RPC parsing, params, binary frames, the encoder."""

from __future__ import annotations

import codecs
import gzip
import json
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccstream import Gap, Output, StreamName
from ccstream_ws import ErrorCode, RPCError, pack_binary, unpack_binary
from ccstream_ws.protocol._jsonrpc import BadRequest, parse
from ccstream_ws.protocol._params import OutputOptions, parse_execute, parse_output_options
from ccstream_ws.protocol._wire import OutputEncoder


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{", ErrorCode.PARSE_ERROR),
        ("NaN", ErrorCode.PARSE_ERROR),
        ("[" * 100_000, ErrorCode.PARSE_ERROR),
        ("9" * 10_000, ErrorCode.PARSE_ERROR),
        ("[]", ErrorCode.INVALID_REQUEST),
        ("3", ErrorCode.INVALID_REQUEST),
        ('{"jsonrpc":"1.0","method":"x","id":1}', ErrorCode.INVALID_REQUEST),
        ('{"jsonrpc":"2.0","method":"x","id":true}', ErrorCode.INVALID_REQUEST),
        ('{"jsonrpc":"2.0","method":"","id":1}', ErrorCode.INVALID_REQUEST),
        ('{"jsonrpc":"2.0","method":"x","params":[1],"id":1}', ErrorCode.INVALID_PARAMS),
    ],
)
def test_bad_messages_get_their_code(text: str, code: ErrorCode) -> None:
    with pytest.raises(BadRequest) as info:
        parse(text)
    assert info.value.code == code


@given(st.text(max_size=200))
def test_parse_raises_only_bad_request(text: str) -> None:
    codes = {int(c) for c in ErrorCode}
    try:
        parse(text)
    except BadRequest as exc:
        code = exc.code
    else:
        code = ErrorCode.PARSE_ERROR
    assert code in codes


def test_notification_and_id() -> None:
    assert parse('{"jsonrpc":"2.0","method":"pong"}').notification
    request = parse('{"jsonrpc":"2.0","method":"ping","id":"a"}')
    assert (request.id, request.notification) == ("a", False)


def test_execute_params() -> None:
    with pytest.raises(RPCError):
        parse_execute({"command": "ls", "argv": ["ls"]}, 1 << 20)
    with pytest.raises(RPCError):
        parse_execute({"argv": []}, 1 << 20)
    with pytest.raises(RPCError):
        parse_execute({"command": "ls", "timeout": -1}, 1 << 20)
    p = parse_execute({"command": "ls", "timeout": None, "id": 5}, 1 << 20)  # extra keys ignored
    assert p.command == "ls"
    options = parse_output_options({"max_lines": 10, "pagination": True}, 1 << 20)
    assert options.head_lines == 10
    assert options.pagination


@given(
    st.binary(max_size=300),
    st.sampled_from(["stdout", "stderr"]),
    st.integers(0, 2**63 - 1),
    st.booleans(),
)
def test_binary_frame_round_trips(payload: bytes, stream: str, offset: int, gz: bool) -> None:
    message = pack_binary(b"abc123", stream, offset, payload, gzip=gz)  # type: ignore[arg-type]
    frame = unpack_binary(message)
    assert (frame.execution_id, frame.stream, frame.offset, frame.gzip, frame.payload) == (
        "abc123",
        stream,
        offset,
        gz,
        payload,
    )


def test_encoder_text_never_splits_a_character() -> None:
    encoder = OutputEncoder("e", OutputOptions())
    data = "héllo wörld €".encode()
    texts = []
    for i in range(len(data)):
        for message in encoder.output(Output("stdout", i, i, data[i : i + 1])):
            assert isinstance(message, str)
            texts.append(json.loads(message)["params"]["data"])
    assert "".join(texts) == "héllo wörld €"


def test_encoder_gzip_only_when_it_saves() -> None:
    encoder = OutputEncoder("e", OutputOptions(encoding="binary", compression="gzip"))
    [zipped] = encoder.output(Output("stdout", 0, 0, b"a" * 10000))
    frame = unpack_binary(zipped)  # type: ignore[arg-type]
    assert frame.gzip
    assert gzip.decompress(frame.payload) == b"a" * 10000
    [raw] = encoder.output(Output("stdout", 1, 10000, os.urandom(4096)))
    assert not unpack_binary(raw).gzip  # type: ignore[arg-type]


def test_encoder_caps_and_pagination_notice() -> None:
    encoder = OutputEncoder("e", OutputOptions(head_lines=2, pagination=True))
    messages = encoder.output(Output("stdout", 0, 0, b"a\nb\nc\nd\n"))
    parsed = [json.loads(m) for m in messages]
    assert parsed[0]["params"]["data"] == "a\nb\n"
    assert parsed[1]["method"] == "process.truncated"
    assert parsed[1]["params"]["next_line"] == 2
    assert encoder.account()["stdout"]["omitted_lines"] == 2


def test_encoder_capped_offsets_skip_a_gap() -> None:
    encoder = OutputEncoder("e", OutputOptions(head_bytes=8, tail_bytes=3, encoding="base64"))
    first = encoder.output(Output("stdout", 0, 0, b"abcd"))
    notice = encoder.gap(Gap("stdout", 4, 100, 5, "quota"))
    after = encoder.output(Output("stdout", 1, 104, b"efghijkl"))
    params = [json.loads(m)["params"] for m in first + notice + after]
    assert [p.get("offset") for p in params[:3]] == [0, 4, 104]
    assert params[1]["bytes"] == 100
    assert params[2]["size"] == 4
    assert params[3]["sent_bytes"] == 8  # process.truncated, at the true offset after the gap
    assert params[3]["next_offset"] == 108
    tail = json.loads(encoder.finish()[0])["params"]
    assert (tail["offset"], tail["size"]) == (109, 3)


_TEXTY = st.binary(max_size=300) | st.text(
    alphabet=st.sampled_from('ab "\\\n\t\r\x00\x1fé€\x7f'), max_size=300
).map(str.encode)


@given(frames=st.lists(_TEXTY, max_size=6), stream=st.sampled_from(["stdout", "stderr"]))
def test_text_messages_of_plain_and_escaped_frames_carry_exactly_the_decoded_text(
    frames: list[bytes], stream: StreamName
) -> None:
    """Whichever way a text frame is written (around its plain characters, or through the JSON
    encoder), its message parses to the JSON-RPC notification of the decoder's text, offset and
    size."""
    encoder = OutputEncoder("e1", OutputOptions())
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    offset = 0
    for seq, data in enumerate(frames):
        for message in encoder.output(Output(stream, seq, offset, data)):
            assert isinstance(message, str)
            assert json.loads(message) == {
                "jsonrpc": "2.0",
                "method": "process.output",
                "params": {
                    "execution_id": "e1",
                    "type": stream,
                    "data": decoder.decode(data),
                    "encoding": "text",
                    "offset": offset,
                    "size": len(data),
                },
            }
        offset += len(data)
