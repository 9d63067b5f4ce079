"""The events a running command yields, in the order they happen.

``Started`` first, then any number of ``Output`` frames and ``Gap`` notices interleaved in arrival
order, then ``Exited`` last. Events are small frozen dataclasses; they own their bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from ._result import Result

__all__ = ["Event", "Exited", "Gap", "Output", "Started", "StreamName"]

StreamName = Literal["stdout", "stderr"]
"""Which pipe of the child a frame came from."""

STREAMS: Final[tuple[StreamName, StreamName]] = ("stdout", "stderr")
"""Both stream names, in the order of their ids: ``STREAMS[i]`` is the stream with id ``i``
(0 stdout, 1 stderr), the number the spool's records and the binary wire frames carry."""


def stream_id(name: StreamName) -> int:
    """The id of stream ``name``: 0 for stdout, 1 for stderr (the inverse of ``STREAMS[i]``)."""
    return 0 if name == "stdout" else 1


@dataclass(frozen=True, slots=True)
class Started:
    """The child was spawned.

    ``pgid`` is the process group the child leads; killing it kills the whole tree that stayed
    in it.
    ``started_at`` is wall-clock time in seconds since the epoch.
    """

    pid: int
    pgid: int
    argv: tuple[str, ...]
    started_at: float


@dataclass(frozen=True, slots=True)
class Output:
    """One frame of a stream's output: at most ``chunk_size`` bytes.

    ``seq`` counts this stream's frames from 0 and ``offset`` is the byte offset of ``data[0]`` in
    the stream, so frames of one stream tile it exactly: each frame's ``offset + len(data)`` is the
    next frame's ``offset``. ``invalid_bytes`` counts the bytes of ``data`` that are not valid
    UTF-8; it is only computed in text and line mode (0 in binary mode). Invalid bytes are kept
    as they are in ``data`` (nothing is rewritten, so offsets stay exact) and become U+FFFD in
    :attr:`text`.
    """

    stream: StreamName
    seq: int
    offset: int
    data: bytes
    invalid_bytes: int = 0

    @property
    def end(self) -> int:
        """Byte offset just past this frame in its stream."""
        return self.offset + len(self.data)

    @property
    def ends_mid_line(self) -> bool:
        """True when the frame does not end with a newline (the line continues in a later frame)."""
        return not self.data.endswith(b"\n")

    @property
    def text(self) -> str:
        """``data`` decoded as UTF-8, invalid bytes replaced by U+FFFD."""
        return self.data.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class Gap:
    """Output that exists but is not delivered: ``bytes`` bytes (``lines`` newlines) of ``stream``
    starting at byte ``offset`` were dropped, for ``reason`` (for example ``"quota"`` when a spool's
    disk budget dropped a middle segment). Nothing is dropped without one of these."""

    stream: StreamName
    offset: int
    bytes: int
    lines: int
    reason: str


@dataclass(frozen=True, slots=True)
class Exited:
    """The child and its process group are gone and both pipes are closed; ``result`` is final."""

    result: Result


Event = Started | Output | Gap | Exited
"""Any event of a run."""
