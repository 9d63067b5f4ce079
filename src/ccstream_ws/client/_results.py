"""The answers of ``page`` and ``status`` as typed, frozen values, parsed from the fields
``docs/protocol.md`` specifies. Sans-I/O: a JSON result in, a value out, or
:class:`ProtocolViolation` when the server's answer does not hold the documented fields.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import ccstream
from ccstream import StreamName

from ..exceptions import ProtocolViolation
from ..protocol._params import STREAMS, finite, is_int
from ..protocol._text import OSStringError, os_string_from_wire

__all__ = [
    "ExecutionStatus",
    "LineCut",
    "RemotePage",
    "StreamCount",
    "execution_status",
    "remote_page",
]


@dataclass(frozen=True, slots=True)
class LineCut:
    """A line of a page longer than the page's bound, cut: line number ``line`` (0-based) starts
    at byte ``offset``; ``kept_bytes`` of it are in the page, the ``omitted_bytes`` after them
    (its newline included) are the stream's bytes ``rest_offset`` to
    ``rest_offset + omitted_bytes - 1`` (a download ``Range``, or ``subscribe`` from
    ``rest_offset``)."""

    line: int
    offset: int
    kept_bytes: int
    omitted_bytes: int
    rest_offset: int


@dataclass(frozen=True, slots=True)
class RemotePage:
    """One ``page`` of ``stream``: ``lines`` (bytes exactly, each with its newline; a cut line
    holds its first ``kept_bytes``) numbered from ``first_line`` (0-based); ``next_line`` and
    ``next_offset`` (bytes) are where the next page starts. ``known_lines`` counts the lines
    known so far; ``complete``: the run ended and this page reaches the end of the stream.
    ``gaps`` are the stretches of this page the quota dropped, ``cuts`` the lines cut at the
    bound, ``max_bytes`` the bound that applied (bytes of lines)."""

    stream: StreamName
    lines: tuple[bytes, ...]
    first_line: int
    next_line: int
    known_lines: int
    complete: bool
    next_offset: int
    max_bytes: int
    gaps: tuple[ccstream.Gap, ...] = ()
    cuts: tuple[LineCut, ...] = ()


@dataclass(frozen=True, slots=True)
class StreamCount:
    """What a stream has so far: ``bytes`` and ``lines`` (newlines)."""

    bytes: int
    lines: int


@dataclass(frozen=True, slots=True)
class ExecutionStatus:
    """The server's view of one execution (``status``): ``state`` (``starting``, ``running``,
    ``paused``, ``ended``), ``pid`` and ``pgid`` (``None`` before the spawn), ``argv`` (OS
    strings, as ``sys.argv`` holds them), ``detached``, ``started_at`` (seconds since the
    epoch), ``stdout`` and ``stderr`` so far (``None`` before the run starts), and once ended
    ``result``: the fields of ``process.completed``. ``params`` is the answer as sent."""

    execution_id: str
    state: str
    pid: int | None
    pgid: int | None
    argv: tuple[str, ...]
    detached: bool
    started_at: float | None
    stdout: StreamCount | None
    stderr: StreamCount | None
    result: dict[str, Any] | None
    params: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ended(self) -> bool:
        """The run is over (``result`` holds how it ended)."""
        return self.state == "ended"


def _object(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ProtocolViolation(f"{what} is not an object")
    return value


def _int(p: Mapping[str, Any], name: str, what: str) -> int:
    value = p.get(name)
    if not is_int(value) or value < 0:
        raise ProtocolViolation(f"{what}: {name} is not an integer >= 0: {value!r}")
    return value


def _gap(stream: StreamName, raw: object) -> ccstream.Gap:
    p = _object(raw, "a page's gap")
    reason = p.get("reason")
    return ccstream.Gap(
        stream,
        _int(p, "offset", "a page's gap"),
        _int(p, "bytes", "a page's gap"),
        _int(p, "lines", "a page's gap"),
        reason if isinstance(reason, str) else "unknown",
    )


def _cut(raw: object) -> LineCut:
    p = _object(raw, "a page's cut")
    return LineCut(*(_int(p, f.name, "a page's cut") for f in fields(LineCut)))


def _line(raw: object, encoding: object) -> bytes:
    if not isinstance(raw, str):
        raise ProtocolViolation("a page's line is not a string")
    if encoding == "base64":
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolViolation("a page's line is not valid base64") from None
    return raw.encode("utf-8", "surrogateescape")


def remote_page(result: object) -> RemotePage:
    """The ``page`` answer ``result`` as a :class:`RemotePage`."""
    p = _object(result, "the page")
    stream = p.get("stream", "stdout")
    if stream not in STREAMS:
        raise ProtocolViolation(f"the page's stream is {stream!r}")
    lines, gaps, cuts = p.get("lines"), p.get("gaps", []), p.get("cuts", [])
    if not isinstance(lines, list) or not isinstance(gaps, list) or not isinstance(cuts, list):
        raise ProtocolViolation("the page's lines, gaps or cuts are not lists")
    encoding = p.get("encoding", "text")
    return RemotePage(
        stream=stream,
        lines=tuple(_line(line, encoding) for line in lines),
        first_line=_int(p, "first_line", "the page"),
        next_line=_int(p, "next_line", "the page"),
        known_lines=_int(p, "known_lines", "the page"),
        complete=p.get("complete") is True,
        next_offset=_int(p, "next_offset", "the page"),
        max_bytes=_int(p, "max_bytes", "the page"),
        gaps=tuple(_gap(stream, gap) for gap in gaps),
        cuts=tuple(_cut(cut) for cut in cuts),
    )


def _count(raw: object, what: str) -> StreamCount | None:
    if raw is None:
        return None
    p = _object(raw, what)
    return StreamCount(_int(p, "bytes", what), _int(p, "lines", what))


def _optional_int(value: object) -> int | None:
    return value if is_int(value) else None


def execution_status(result: object) -> ExecutionStatus:
    """One execution's ``status`` answer as an :class:`ExecutionStatus`."""
    p = _object(result, "the status")
    execution_id, state = p.get("execution_id"), p.get("state")
    if not isinstance(execution_id, str) or not isinstance(state, str):
        raise ProtocolViolation("the status has no execution_id or state")
    argv = p.get("argv", [])
    if not isinstance(argv, list):
        raise ProtocolViolation("the status's argv is not a list")
    try:
        args = tuple(os_string_from_wire(arg) for arg in argv)
    except OSStringError as exc:
        raise ProtocolViolation(f"the status's argv: {exc}") from None
    outcome = p.get("result")
    return ExecutionStatus(
        execution_id=execution_id,
        state=state,
        pid=_optional_int(p.get("pid")),
        pgid=_optional_int(p.get("pgid")),
        argv=args,
        detached=p.get("detached") is True,
        started_at=finite(p.get("started_at")),
        stdout=_count(p.get("stdout"), "the status's stdout"),
        stderr=_count(p.get("stderr"), "the status's stderr"),
        result=dict(_object(outcome, "the status's result")) if outcome is not None else None,
        params=dict(p),
    )
