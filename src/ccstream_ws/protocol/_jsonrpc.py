"""JSON-RPC 2.0 messages, sans-I/O, for both ends.

The server's side: text in, a validated :class:`Request` (or an :class:`~ccstream_ws.RPCError`)
out; results, errors and notifications out as compact JSON text. The client's side:
:func:`request` out, and :func:`read` turns the server's text into an :class:`Answer` or a
:class:`Notification` (or raises :class:`~ccstream_ws.ProtocolViolation`).

Hostile input is expected here: deep nesting, huge numbers, ``NaN``, batches, wrong types, lone
surrogates. Each is answered with an error from the table in :mod:`ccstream_ws.protocol._codes`
and never raises anything else. What a :class:`Request` holds can be echoed: its ``method`` and
a string ``id`` are text (:func:`~ccstream_ws.protocol._text.is_text`), a number ``id`` is
finite.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..exceptions import ProtocolViolation, RPCError
from ._codes import ErrorCode
from ._params import is_int
from ._text import is_text

__all__ = [
    "Answer",
    "BadRequest",
    "Id",
    "Notification",
    "Request",
    "error",
    "notification",
    "parse",
    "read",
    "request",
    "response",
]

Id = str | int | float | None
"""A request id: a string, a number, or ``None`` for a notification."""

_NO_ID = object()


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; Python's parser accepts them unless told otherwise.
    raise ValueError(f"{name} is not valid JSON")


_decoder = json.JSONDecoder(parse_constant=_reject_constant)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
# A client's request goes out as the caller gave it: a lone surrogate as its \u escape and a NaN
# as NaN, so the server answers them with its documented errors instead of the client failing.
_dumps_request = json.JSONEncoder(separators=(",", ":")).encode


@dataclass(frozen=True, slots=True)
class Request:
    """One JSON-RPC request. ``notification`` is True when it had no ``id`` member (the client
    wants no result)."""

    method: str
    params: dict[str, Any]
    id: Id
    notification: bool


class BadRequest(RPCError):
    """A message that :func:`parse` refused; ``request_id`` is its id when one could be read."""

    def __init__(self, code: int, message: str, data: Any = None, request_id: Id = None) -> None:
        super().__init__(code, message, data)
        self.request_id = request_id


def parse(text: str) -> Request:
    """Validate one inbound message; raise :class:`BadRequest` with the code to answer."""
    try:
        message = _decoder.decode(text)
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError, the NaN refusal and over-long integers.
        raise BadRequest(ErrorCode.PARSE_ERROR, "Parse error", str(exc)[:200]) from None
    if isinstance(message, list):
        raise BadRequest(ErrorCode.INVALID_REQUEST, "Batch requests are not supported")
    if not isinstance(message, dict):
        raise BadRequest(ErrorCode.INVALID_REQUEST, "A request must be a JSON object")
    raw_id = message.get("id", _NO_ID)
    notification = raw_id is _NO_ID
    if notification or raw_id is None:
        request_id: Id = None
    elif not _echoable_id(raw_id):
        raise BadRequest(
            ErrorCode.INVALID_REQUEST, "id must be a string (UTF-8 text), a finite number or null"
        )
    else:
        request_id = raw_id
    if message.get("jsonrpc") != "2.0":
        raise BadRequest(ErrorCode.INVALID_REQUEST, 'jsonrpc must be "2.0"', None, request_id)
    method = message.get("method")
    if not isinstance(method, str) or not method or not is_text(method):
        raise BadRequest(
            ErrorCode.INVALID_REQUEST, "method must be a non-empty string of text", None, request_id
        )
    params = message.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise BadRequest(ErrorCode.INVALID_PARAMS, "params must be an object", None, request_id)
    return Request(method=method, params=params, id=request_id, notification=notification)


def _echoable_id(value: object) -> bool:
    # 1e400 parses as an infinite float, and "\ud800" as a str no encoder takes: neither could
    # be sent back in the answer.
    if isinstance(value, str):
        return is_text(value)
    if isinstance(value, float):
        return math.isfinite(value)
    return is_int(value)


def response(request_id: Id, result: Any) -> str:
    """A result for request ``request_id``."""
    return _dumps({"jsonrpc": "2.0", "result": result, "id": request_id})


def error(request_id: Id, code: int, message: str, data: Any = None) -> str:
    """An error answer; ``data`` is left out when ``None``."""
    body: dict[str, Any] = {"code": int(code), "message": message}
    if data is not None:
        body["data"] = data
    return _dumps({"jsonrpc": "2.0", "error": body, "id": request_id})


def notification(method: str, params: dict[str, Any]) -> str:
    """A server notification (no id)."""
    return _dumps({"jsonrpc": "2.0", "method": method, "params": params})


def request(request_id: Id, method: str, params: Mapping[str, Any]) -> str:
    """A request from the client; ``request_id`` ``None`` still asks for an answer (a JSON-RPC
    notification from the client has no ``id`` member, and this protocol's client sends none)."""
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": dict(params)}
    return _dumps_request(body)


@dataclass(frozen=True, slots=True)
class Answer:
    """The server's answer to request ``id``: its ``result``, or the ``error`` it raised."""

    id: Id
    result: Any
    error: RPCError | None


@dataclass(frozen=True, slots=True)
class Notification:
    """A server notification: ``method`` and its ``params`` (an object, ``{}`` when absent)."""

    method: str
    params: dict[str, Any]


def read(text: str) -> Answer | Notification:
    """One message from the server. Raise :class:`~ccstream_ws.ProtocolViolation` when it is
    not JSON, not an object, or its ``method``, ``params`` or ``error`` has the wrong type."""
    try:
        message = _decoder.decode(text)
    except (ValueError, RecursionError) as exc:
        raise ProtocolViolation(f"a message that is not JSON: {str(exc)[:200]}") from None
    if not isinstance(message, dict):
        raise ProtocolViolation("a message that is not a JSON object")
    if "method" in message:
        method, params = message["method"], message.get("params") or {}
        if not isinstance(method, str) or not isinstance(params, dict):
            raise ProtocolViolation("a notification whose method or params has the wrong type")
        return Notification(method, params)
    if "error" not in message:
        return Answer(message.get("id"), message.get("result"), None)
    body = message["error"] or {}
    if not isinstance(body, dict):
        raise ProtocolViolation("an error that is not a JSON object")
    code = body.get("code", 0)
    if not is_int(code):
        raise ProtocolViolation(f"an error code that is not an integer: {code!r}")
    return Answer(
        message.get("id"), None, RPCError(code, str(body.get("message", "")), body.get("data"))
    )
