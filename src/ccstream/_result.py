"""The final, truthful account of a run."""

from __future__ import annotations

import enum
import signal as _signal
from dataclasses import dataclass

from ._events import Gap

__all__ = ["Reason", "Result", "StreamStats"]


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
    """How a run ended. ``returncode`` follows :mod:`subprocess`: ``>= 0`` is an exit code, ``-N``
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
