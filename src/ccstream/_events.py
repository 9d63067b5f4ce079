"""The events a running command yields, in the order they happen, and how it ended.

``Started`` first, then any number of ``Output`` frames and ``Gap`` notices interleaved in arrival
order, then the run's ``Result`` last: the end of a run has one name, whether it arrives as the
last event, as ``Run.result`` or from ``Run.wait()``. Events are small frozen dataclasses; they own
their bytes.
"""

from __future__ import annotations

import enum
import signal as _signal
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "STREAMS",
    "Event",
    "Gap",
    "Output",
    "Reason",
    "Result",
    "Started",
    "StreamName",
    "StreamStats",
    "stream_id",
]

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


def gap_totals(gaps: Iterable[Gap]) -> dict[tuple[StreamName, str], tuple[int, int, int]]:
    """``gaps`` added up per ``(stream, reason)``, in the order each pair first came: its bytes,
    its lines and how many gaps."""
    totals: dict[tuple[StreamName, str], tuple[int, int, int]] = {}
    for gap in gaps:
        size, lines, count = totals.get((gap.stream, gap.reason), (0, 0, 0))
        totals[gap.stream, gap.reason] = (size + gap.bytes, lines + gap.lines, count + 1)
    return totals


class Reason(str, enum.Enum):
    """Why the run ended."""

    EXITED = "exited"
    """The child exited by itself with an exit code."""
    SIGNALLED = "signalled"
    """The child was killed by a signal that ccstream did not send."""
    TIMEOUT = "timeout"
    """The total timeout ran out; ccstream killed the process group."""
    IDLE_TIMEOUT = "idle_timeout"
    """No output arrived for the idle timeout; ccstream killed the process group."""
    CANCELLED = "cancelled"
    """The caller cancelled or left the run early; ccstream killed the process group."""
    MEMORY_LIMIT = "memory_limit"
    """The child tree's RSS went over the memory ceiling; ccstream killed the process group."""
    SPOOL_ERROR = "spool_error"
    """The spool could not be written (disk full, I/O error) and the policy was ``"stop"``;
    ccstream killed the process group."""


@dataclass(frozen=True, slots=True)
class StreamStats:
    """Totals for one stream: ``bytes`` read and ``lines`` (newlines, plus one for an unterminated
    last line); ``lines`` is ``None`` when line counting was turned off (``count_lines=False``)."""

    bytes: int = 0
    lines: int | None = 0


@dataclass(frozen=True, slots=True)
class Result:
    """How a run ended: the last event of a run, also ``Run.result`` and what ``Run.wait()``
    returns. ``returncode`` follows :mod:`subprocess`: ``>= 0`` is an exit code, ``-N``
    means killed by signal N. It is always what the operating system reported, never made up.

    Times are in seconds, sizes in bytes. ``peak_rss_tree`` is the largest resident set of the
    child's process tree that was observed (sampled while running, plus the kernel's own maximum for
    the child when it was reaped); ``None`` when it could not be measured. ``host_rss_start`` and
    ``peak_rss_host`` are this process's RSS when the run started and the largest seen during it.
    ``lingering_killed`` is True when the child exited but descendants kept its pipes open, so the
    group was killed after ``linger`` seconds of grace. ``escaped_killed`` counts the processes
    of the run outside its process group (gone with ``setsid`` or a double fork, found by the
    run's marker or in the child's tree) that ccstream signalled when it killed the run.

    Spooled runs also say what reached the disk: ``spool_path`` is the spool's directory (removed
    when the run closes unless it was kept); ``gaps`` lists output the spool does not hold, each
    with its bytes and lines (``"quota"``: middle segments dropped over the disk budget, under
    ``on_quota="pause"`` only once every live reader had read them; ``"disk_error"``: output
    after the spool failed); ``unspooled_bytes`` is the total of the
    ``"disk_error"`` gaps and ``spool_error`` the failure's description.
    """

    argv: tuple[str, ...]
    pid: int
    returncode: int
    reason: Reason
    duration: float
    stdout: StreamStats
    stderr: StreamStats
    peak_rss_tree: int | None
    host_rss_start: int
    peak_rss_host: int
    lingering_killed: bool = False
    escaped_killed: int = 0
    spool_path: str | None = None
    gaps: tuple[Gap, ...] = ()
    unspooled_bytes: int = 0
    spool_error: str | None = None

    @property
    def exit_code(self) -> int | None:
        """The exit code, or ``None`` when the child was killed by a signal."""
        return self.returncode if self.returncode >= 0 else None

    @property
    def signal(self) -> int | None:
        """The number of the signal that killed the child, or ``None`` when it exited."""
        return -self.returncode if self.returncode < 0 else None

    @property
    def signal_name(self) -> str | None:
        """``"SIGTERM"`` and so on, or ``None`` when the child exited."""
        sig = self.signal
        if sig is None:
            return None
        try:
            return _signal.Signals(sig).name
        except ValueError:
            return f"SIG{sig}"

    @property
    def shell_status(self) -> int:
        """The status a shell would report: the exit code, or 128 + N for signal N."""
        return self.returncode if self.returncode >= 0 else 128 - self.returncode

    @property
    def ok(self) -> bool:
        """True when the child exited by itself with code 0."""
        return self.returncode == 0 and self.reason is Reason.EXITED

    @property
    def result(self) -> Result:
        """This result itself. Deprecated, with the ``ccstream.Exited`` alias of this class:
        code written as ``case ccstream.Exited(result=result)`` keeps working; write
        ``case ccstream.Result() as result``."""
        return self


Event = Started | Output | Gap | Result
"""Any event of a run; the last one is its :class:`Result`."""
