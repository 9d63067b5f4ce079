"""``ccstream_ws.protocol._jsonrpc`` from the client's side: :func:`request` out, :func:`read` in.

The server's side (:func:`parse` of hostile input) is in ``test_ws_sansio.py``."""

from __future__ import annotations

import pytest

from ccstream_ws import ErrorCode, ProtocolViolation
from ccstream_ws.protocol import _jsonrpc as rpc
from ccstream_ws.protocol._jsonrpc import BadRequest, parse


def test_a_request_round_trips_through_the_servers_parser() -> None:
    text = rpc.request(7, "execute", {"argv": ["echo", "caf\u00e9"], "timeout": 1.5})
    request = parse(text)
    assert (request.id, request.method, request.notification) == (7, "execute", False)
    assert request.params == {"argv": ["echo", "caf\u00e9"], "timeout": 1.5}


def test_a_request_with_a_lone_surrogate_gets_the_servers_documented_error() -> None:
    # The client sends what it was given; the server, not the client, refuses it.
    text = rpc.request(1, "x\ud800", {})
    with pytest.raises(BadRequest) as raised:
        parse(text)
    assert raised.value.code == ErrorCode.INVALID_REQUEST


def test_read_gives_answers_errors_and_notifications() -> None:
    assert rpc.read(rpc.response(3, {"a": 1})) == rpc.Answer(3, {"a": 1}, None)
    answer = rpc.read(rpc.error(4, ErrorCode.BUSY, "busy", {"n": 2}))
    assert isinstance(answer, rpc.Answer)
    assert answer.error is not None
    assert (answer.id, answer.error.code, answer.error.message) == (4, ErrorCode.BUSY, "busy")
    assert answer.error.data == {"n": 2}
    note = rpc.read(rpc.notification("process.gap", {"execution_id": "e"}))
    assert note == rpc.Notification("process.gap", {"execution_id": "e"})
    assert rpc.read('{"jsonrpc":"2.0","method":"connected"}') == rpc.Notification("connected", {})


@pytest.mark.parametrize(
    "text",
    [
        "{",
        "[1]",
        "3",
        '{"method":3}',
        '{"method":"m","params":[1]}',
        '{"id":1,"error":"no"}',
        '{"id":1,"error":{"code":"x"}}',
        '{"id":1,"error":{"code":true}}',
    ],
)
def test_read_refuses_what_the_protocol_does_not_allow(text: str) -> None:
    with pytest.raises(ProtocolViolation):
        rpc.read(text)
