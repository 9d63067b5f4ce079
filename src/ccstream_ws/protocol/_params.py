"""Typed parameters of each method, parsed from a request's ``params`` object.

Sans-I/O. Unknown members are ignored (the original executor's clients send extra ones, such as
``id`` inside ``params``); every known member is checked for type and range, and a bad one is an
``INVALID_PARAMS`` error naming it. Sizes are in bytes, times in seconds.

The checks are total: whatever JSON a member holds (a bool for an int, ``null``, a number past
float range, a lone surrogate, deep nesting), the answer is a value or that error, never another
exception. Each kind of member has one helper: :func:`_int` (an int that is not a bool, in a
range), :func:`_seconds` (a finite positive number), :func:`_str` (text), :func:`_os_string`
(text or the ``{"base64": ...}`` byte form of an argument, directory or variable). The two type
tests under them, :func:`is_int` and :func:`finite`, are the adapter's only ones: the server's
configuration and the JSON-RPC parser use them too.
"""

from __future__ import annotations

import base64
import binascii
import math
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeGuard, get_args, overload

from ccstream import StreamName

from ..exceptions import RPCError
from ._codes import ErrorCode
from ._terminal import PtyParams, ResizeParams, parse_pty, parse_resize
from ._text import OSStringError, is_text, os_string_from_wire

__all__ = [
    "MAX_PAGE_BYTES",
    "PAGE_BYTES",
    "STREAMS",
    "ControlParams",
    "Encoding",
    "ExecuteParams",
    "OutputOptions",
    "PageParams",
    "PtyParams",
    "QuotaChoice",
    "ResizeParams",
    "StdinParams",
    "SubscribeParams",
    "finite",
    "is_int",
    "parse_control",
    "parse_execute",
    "parse_execution_id",
    "parse_page",
    "parse_resize_params",
    "parse_stdin",
    "parse_subscribe",
]

Encoding = Literal["text", "base64", "binary"]
"""How output bytes travel: JSON text, base64 in JSON, or binary WebSocket messages."""

ControlType = Literal["PAUSE", "RESUME", "CANCEL"]
QuotaChoice = Literal["auto", "pause", "drop"]
"""``execute``'s ``on_quota``: ``"pause"`` never drops output a reader of the execution has not
read, and holds the child meanwhile (while nobody reads, from where the last reader left off);
``"drop"`` keeps the head and the newest tail and counts every gap; ``"auto"`` pauses while
the owner or a subscriber reads and drops while nobody does."""
_QUOTA_CHOICES: tuple[QuotaChoice, ...] = ("auto", "pause", "drop")

STREAMS: tuple[StreamName, ...] = get_args(StreamName)
"""The output streams, in the order the protocol lists them: ``("stdout", "stderr")``."""
PAGE_BYTES = 1024 * 1024
"""Bytes of lines a page holds at most when the client does not say (``max_bytes``)."""
MAX_PAGE_BYTES = 2 * 1024 * 1024
"""The most bytes of lines a page holds, whatever the client asks: a larger ``max_bytes`` is
lowered to this (the result's ``max_bytes`` says the bound that applied)."""
MAX_PAGE_LINES = 100_000
_MAX_ID = 128


# A bounded repr: a refused value may be a megabyte long or nested a thousand deep, and its repr
# escapes lone surrogates, so the error message is always short text.
_shown = reprlib.Repr()
_shown.maxlevel = 3
_shown.maxstring = _shown.maxother = 60
_shown.maxlong = 40
_ABSENT = object()


def _bad(name: str, expected: str, value: object) -> RPCError:
    shown = _shown.repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return RPCError(ErrorCode.INVALID_PARAMS, f"{name} must be {expected}, got {shown}")


@overload
def _int(p: Mapping[str, Any], name: str, default: int, lo: int, hi: int) -> int: ...
@overload
def _int(p: Mapping[str, Any], name: str, default: None, lo: int, hi: int) -> int | None: ...
def _int(p: Mapping[str, Any], name: str, default: int | None, lo: int, hi: int) -> int | None:
    """Member ``name``: an int (not a bool) from ``lo`` to ``hi``; ``default`` when absent. With
    a ``None`` default the member is optional and ``null`` means absent; otherwise ``null`` is
    refused like any other non-integer."""
    value = p.get(name, _ABSENT)
    if value is _ABSENT or (value is None and default is None):
        return default
    if not is_int(value) or not lo <= value <= hi:
        raise _bad(name, f"an integer from {lo} to {hi}", value)
    return value


def is_int(value: object) -> TypeGuard[int]:
    """True for an int that is not a bool (``true`` and ``false`` arrive as bools, which Python
    counts as ints)."""
    return isinstance(value, int) and not isinstance(value, bool)


def finite(value: object) -> float | None:
    """``value`` as a float when it is a finite number (not a bool), else ``None``: an integer
    past float range is not one."""
    if not is_int(value) and not isinstance(value, float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _seconds(p: Mapping[str, Any], name: str) -> float | None:
    """Member ``name``: a positive, finite number of seconds; ``None`` when absent or null."""
    value = p.get(name)
    if value is None:
        return None
    seconds = finite(value)
    if seconds is None or seconds <= 0:
        raise _bad(name, "a positive number of seconds or null", value)
    return seconds


def _bool(p: Mapping[str, Any], name: str, default: bool) -> bool:
    value = p.get(name, default)
    if not isinstance(value, bool):
        raise _bad(name, "true or false", value)
    return value


def _str(p: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = p.get(name)
    if value is None:
        if required:
            raise RPCError(ErrorCode.INVALID_PARAMS, f"{name} is required")
        return None
    if not isinstance(value, str) or "\0" in value or not is_text(value):
        raise _bad(name, "a string of UTF-8 text without NUL", value)
    return value


def _os_string(value: object, name: str) -> str:
    """An argument, directory or variable value: UTF-8 text, or ``{"base64": ...}`` for any
    other bytes (see :mod:`ccstream_ws.protocol._text`); returned as :func:`os.fsdecode` gives
    it."""
    try:
        return os_string_from_wire(value)
    except OSStringError as exc:
        raise _bad(name, str(exc), value) from None


def _choice(p: Mapping[str, Any], name: str, choices: tuple[str, ...], default: str) -> str:
    value = p.get(name, default)
    if value not in choices:
        raise _bad(name, "one of " + ", ".join(choices), value)
    return str(value)


def parse_execution_id(p: Mapping[str, Any], *, required: bool = True) -> str | None:
    """``execution_id``: a string of at most 128 characters."""
    value = _str(p, "execution_id", required=required)
    if value is not None and (not value or len(value) > _MAX_ID):
        raise _bad("execution_id", f"a string of 1 to {_MAX_ID} characters", value)
    return value


def _stream(p: Mapping[str, Any], name: str = "stream") -> StreamName:
    value = p.get(name, "stdout")
    if value not in STREAMS:
        raise _bad(name, '"stdout" or "stderr"', value)
    return value  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class OutputOptions:
    """How output is sent to one client (see ``output_options`` in ``docs/protocol.md``).

    ``chunk_size``: largest frame, bytes. ``encoding``: ``text``, ``base64`` or ``binary``.
    ``compression``: ``"gzip"`` sends a frame gzipped when that saves at least 20%.
    ``streams``: which streams to send. Caps per stream: ``head_lines``/``head_bytes`` send only
    the start, ``tail_lines``/``tail_bytes`` send the end after the run; what lies between is
    counted, never dropped silently. ``max_lines`` is ``head_lines`` by the seed's name; with
    ``pagination`` the client pages through the rest with ``page``.
    """

    chunk_size: int = 64 * 1024
    encoding: Encoding = "text"
    compression: Literal["gzip"] | None = None
    streams: frozenset[StreamName] = frozenset(STREAMS)
    head_lines: int | None = None
    head_bytes: int | None = None
    tail_lines: int | None = None
    tail_bytes: int | None = None
    pagination: bool = False

    @property
    def capped(self) -> bool:
        """True when a head or tail cap applies."""
        return any(
            v is not None
            for v in (self.head_lines, self.head_bytes, self.tail_lines, self.tail_bytes)
        )


_BIG = 1 << 62


def parse_output_options(raw: object, max_chunk_size: int) -> OutputOptions:
    """``output_options`` (absent or null: the defaults)."""
    if raw is None:
        return OutputOptions()
    if not isinstance(raw, dict):
        raise _bad("output_options", "an object", raw)
    chunk_size = _int(raw, "chunk_size", 64 * 1024, 1024, max_chunk_size)
    assert chunk_size is not None
    encoding = _choice(raw, "encoding", get_args(Encoding), "text")
    compression = raw.get("compression")
    if compression not in (None, "gzip", "none"):
        raise _bad("output_options.compression", '"gzip" or null', compression)
    streams_raw = raw.get("streams", list(STREAMS))
    if (
        not isinstance(streams_raw, list)
        or not streams_raw
        or any(s not in STREAMS for s in streams_raw)
    ):
        raise _bad("output_options.streams", 'a non-empty list of "stdout", "stderr"', streams_raw)
    max_lines = _int(raw, "max_lines", None, 0, _BIG)
    head_lines = _int(raw, "head_lines", None, 0, _BIG)
    if max_lines is not None:
        if head_lines is not None and head_lines != max_lines:
            raise RPCError(ErrorCode.INVALID_PARAMS, "max_lines and head_lines disagree")
        head_lines = max_lines
    pagination = _bool(raw, "pagination", False)
    return OutputOptions(
        chunk_size=chunk_size,
        encoding=encoding,  # type: ignore[arg-type]
        compression="gzip" if compression == "gzip" else None,
        streams=frozenset(streams_raw),
        head_lines=head_lines,
        head_bytes=_int(raw, "head_bytes", None, 0, _BIG),
        tail_lines=_int(raw, "tail_lines", None, 0, _BIG),
        tail_bytes=_int(raw, "tail_bytes", None, 0, _BIG),
        pagination=pagination,
    )


@dataclass(frozen=True, slots=True)
class ExecuteParams:
    """``execute``: exactly one of ``command`` (a shell string) and ``argv``."""

    command: str | None
    argv: tuple[str, ...] | None
    timeout: float | None
    idle_timeout: float | None
    cwd: str | None
    env: dict[str, str] | None
    stdin: bool
    detach: bool
    retention: float | None
    output: OutputOptions = field(default_factory=OutputOptions)
    on_quota: QuotaChoice = "auto"
    """What the spool's quota does to output a connected reader has not read (see
    :data:`QuotaChoice`)."""
    pty: PtyParams | None = None
    """Run the child on a terminal of this size (``None``: on pipes)."""
    force_color: bool = False
    """Set the colour variables (``FORCE_COLOR``, ``CLICOLOR_FORCE``, ``TERM`` when unset)."""
    reconnect: float | None = None
    """Seconds a run that is not detached outlives its owner's connection, for the owner to come
    back with ``subscribe`` ``owner: true``; ``None``: cancelled when the connection closes."""


def parse_execute(p: Mapping[str, Any], max_chunk_size: int) -> ExecuteParams:
    """Parse ``execute`` params."""
    command = _str(p, "command")
    argv_raw = p.get("argv")
    argv: tuple[str, ...] | None = None
    if argv_raw is not None:
        if not isinstance(argv_raw, list) or not argv_raw:
            raise _bad("argv", 'a non-empty list of strings or {"base64": ...}', argv_raw)
        argv = tuple(_os_string(a, f"argv[{i}]") for i, a in enumerate(argv_raw))
        if not argv[0]:
            raise _bad("argv[0]", "a program name, not empty", argv_raw[0])
    if (command is None) == (argv is None):
        raise RPCError(ErrorCode.INVALID_PARAMS, "give exactly one of command and argv")
    if command is not None and not command.strip():
        raise RPCError(ErrorCode.INVALID_PARAMS, "command is empty")
    env_raw = p.get("env")
    env: dict[str, str] | None = None
    if env_raw is not None:
        if not isinstance(env_raw, dict):
            raise _bad("env", "an object of names to values", env_raw)
        env = {}
        for key, value in env_raw.items():
            if not key or "=" in key or "\0" in key or not is_text(key):
                raise _bad("env", "names of UTF-8 text without '=' or NUL", key)
            env[key] = _os_string(value, f"env[{_shown.repr(key)}]")
    cwd_raw = p.get("cwd")
    return ExecuteParams(
        command=command,
        argv=argv,
        timeout=_seconds(p, "timeout"),
        idle_timeout=_seconds(p, "idle_timeout"),
        cwd=None if cwd_raw is None else _os_string(cwd_raw, "cwd"),
        env=env,
        stdin=_bool(p, "stdin", False),
        detach=_bool(p, "detach", False),
        retention=_seconds(p, "retention"),
        output=parse_output_options(p.get("output_options"), max_chunk_size),
        on_quota=_quota_choice(p),
        pty=parse_pty(p),
        force_color=_bool(p, "force_color", False),
        reconnect=_seconds(p, "reconnect"),
    )


def _quota_choice(p: Mapping[str, Any]) -> QuotaChoice:
    value = p.get("on_quota", "auto")
    for choice in _QUOTA_CHOICES:
        if value == choice and isinstance(value, str):
            return choice
    raise _bad("on_quota", "one of " + ", ".join(_QUOTA_CHOICES), value)


@dataclass(frozen=True, slots=True)
class ControlParams:
    """``control``: PAUSE, RESUME or CANCEL; ``execution_id`` may be left out (the original
    protocol had one process per connection)."""

    type: ControlType
    execution_id: str | None


def parse_control(p: Mapping[str, Any]) -> ControlParams:
    """Parse ``control`` params."""
    kind = _choice(p, "type", get_args(ControlType), "")
    return ControlParams(kind, parse_execution_id(p, required=False))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class PageParams:
    """``page``: ``count`` lines of ``stream`` from line ``line`` (0-based), at most
    ``max_bytes`` bytes of them (the client's choice, lowered to the server's limit)."""

    execution_id: str
    stream: StreamName
    line: int
    count: int
    encoding: Literal["text", "base64"]
    max_bytes: int = PAGE_BYTES
    times: bool = False
    """Give each line's arrival time (``times`` in the result)."""


def parse_page(p: Mapping[str, Any]) -> PageParams:
    """Parse ``page`` params."""
    eid = parse_execution_id(p)
    assert eid is not None
    line = _int(p, "line", 0, 0, _BIG)
    count = _int(p, "count", 1000, 1, MAX_PAGE_LINES)
    assert line is not None
    assert count is not None
    encoding = _choice(p, "encoding", ("text", "base64"), "text")
    max_bytes = min(_int(p, "max_bytes", PAGE_BYTES, 1, _BIG) or PAGE_BYTES, MAX_PAGE_BYTES)
    return PageParams(
        eid,
        _stream(p),
        line,
        count,
        encoding,  # type: ignore[arg-type]
        max_bytes,
        _bool(p, "times", False),
    )


def parse_resize_params(p: Mapping[str, Any]) -> ResizeParams:
    """Parse ``resize`` params: ``execution_id`` (optional, as for ``control``), ``rows`` and
    ``cols`` (1 to 65535 each)."""
    return parse_resize(p, parse_execution_id(p, required=False))


@dataclass(frozen=True, slots=True)
class SubscribeParams:
    """``subscribe``: send ``execution_id``'s output from these byte offsets on, then live."""

    execution_id: str
    offsets: dict[StreamName, int]
    output: OutputOptions
    owner: bool = False
    """Take the execution over as its owner (one started with ``reconnect``)."""


def parse_subscribe(p: Mapping[str, Any], max_chunk_size: int) -> SubscribeParams:
    """Parse ``subscribe`` params."""
    eid = parse_execution_id(p)
    assert eid is not None
    raw = p.get("offsets", {})
    if raw is None:
        raw = {}
    if not isinstance(raw, dict) or any(k not in STREAMS for k in raw):
        raise _bad("offsets", 'an object with "stdout" and "stderr" byte offsets', raw)
    offsets: dict[StreamName, int] = {}
    for name in STREAMS:
        value = _int(raw, name, 0, 0, _BIG)
        assert value is not None
        offsets[name] = value
    return SubscribeParams(
        eid,
        offsets,
        parse_output_options(p.get("output_options"), max_chunk_size),
        owner=_bool(p, "owner", False),
    )


@dataclass(frozen=True, slots=True)
class StdinParams:
    """``stdin``: bytes for the child's standard input, then maybe its end (``eof``)."""

    execution_id: str | None
    data: bytes
    eof: bool


def parse_stdin(p: Mapping[str, Any]) -> StdinParams:
    """Parse ``stdin`` params (``data`` as text, or base64 with ``encoding: "base64"``)."""
    data_raw = p.get("data", "")
    if not isinstance(data_raw, str):
        raise _bad("data", "a string", data_raw)
    if not is_text(data_raw):
        raise _bad("data", 'UTF-8 text (send other bytes with "encoding": "base64")', data_raw)
    encoding = _choice(p, "encoding", ("text", "base64"), "text")
    if encoding == "base64":
        try:
            data = base64.b64decode(data_raw, validate=True)
        except (binascii.Error, ValueError):
            raise _bad("data", "valid base64", data_raw) from None
    else:
        data = data_raw.encode("utf-8")
    return StdinParams(parse_execution_id(p, required=False), data, _bool(p, "eof", False))
