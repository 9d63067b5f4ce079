"""The exit status of the command lines, and the lines they print on stderr when a run did not
simply exit: sans-I/O, shared by ``ccstream run`` and ``ccstream-ws exec``.

A command line exits with the child's own status when the child ended by itself (its exit code,
or 128+N when a signal it was not sent by us killed it) and nothing was lost. Otherwise the
status is ours, and says what happened whatever the child did on its way out (a child that traps
SIGTERM and exits 0 on a timeout still makes the command line exit 124):

======  ==========================================================================================
124     the total or the idle timeout ran out (GNU ``timeout``'s convention)
251     the child exited 0 but output was lost (a gap, or output the server did not send)
252     the run was stopped because its spool could not be written (disk full, I/O error)
253     the child's process tree went over the memory limit
254     the run was cancelled
255     the connection failed, or the server could not say how the run ended (as ``ssh``)
======  ==========================================================================================

251-254 sit above every status a shell gives a signal death (128+N, N at most 64 on Linux), away
from 1 and 2, from ``sysexits.h`` (64-78) and from 124-127 (``timeout``, not executable, not
found), so a script can tell them from a command's own failures. A child that exited non-zero
keeps its status when output was also lost; the loss is still told on stderr.
"""

from __future__ import annotations

import signal as _signal

__all__ = [
    "EXIT_CANCELLED",
    "EXIT_CONNECTION",
    "EXIT_MEMORY_LIMIT",
    "EXIT_OUTPUT_LOST",
    "EXIT_SPOOL_ERROR",
    "EXIT_TIMEOUT",
    "describe_end",
    "describe_loss",
    "exit_status",
]

EXIT_TIMEOUT = 124
EXIT_OUTPUT_LOST = 251
EXIT_SPOOL_ERROR = 252
EXIT_MEMORY_LIMIT = 253
EXIT_CANCELLED = 254
EXIT_CONNECTION = 255

_OURS = {
    "timeout": EXIT_TIMEOUT,
    "idle_timeout": EXIT_TIMEOUT,
    "spool_error": EXIT_SPOOL_ERROR,
    "memory_limit": EXIT_MEMORY_LIMIT,
    "cancelled": EXIT_CANCELLED,
}


def exit_status(reason: str, returncode: int | None, *, lost: bool = False) -> int:
    """The command line's status for a run that ended for ``reason`` (a :class:`ccstream.Reason`
    value, or what a server sent) with ``returncode`` (``-N`` for signal N, ``None`` when
    unknown); ``lost``: some output never reached this command line."""
    if reason in _OURS:
        return _OURS[reason]
    if reason not in ("exited", "signalled") or returncode is None:
        return EXIT_CONNECTION  # the machinery failed, not the command: ssh's 255
    if returncode < 0:
        return 128 - returncode
    if returncode == 0 and lost:
        return EXIT_OUTPUT_LOST
    return returncode


def _signal_name(number: int) -> str:
    try:
        return _signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _child_end(returncode: int | None) -> str:
    if returncode is None:
        return "how the child ended is not known"
    if returncode < 0:
        return f"the child was killed by {_signal_name(-returncode)}"
    return f"the child exited {returncode} after SIGTERM"


def _seconds(value: float | None) -> str:
    return "" if value is None else f" after {value:g} s"


def describe_end(
    reason: str,
    returncode: int | None,
    *,
    timeout: float | None = None,
    idle_timeout: float | None = None,
    error: str | None = None,
) -> str | None:
    """One line saying how the run ended, or ``None`` when the child ended by itself (its own
    status says it). ``timeout``/``idle_timeout`` (seconds) are the limits that were set;
    ``error`` describes a spool failure."""
    end = _child_end(returncode)
    if reason == "timeout":
        return f"timed out{_seconds(timeout)} ({end})"
    if reason == "idle_timeout":
        silence = "" if idle_timeout is None else f" {idle_timeout:g} s"
        return f"idle timeout: no output for{silence or ' too long'} ({end})"
    if reason == "cancelled":
        return f"the run was cancelled ({end})"
    if reason == "memory_limit":
        return f"the child's process tree went over the memory limit ({end})"
    if reason == "spool_error":
        detail = f": {error}" if error else ""
        return f"the run was stopped: its spool could not be written{detail} ({end})"
    if reason in ("exited", "signalled") and returncode is not None:
        return None
    if reason == "node_lost":
        return "the server node that ran it was lost: how the child ended is not known"
    return f"the run ended without a known status (reason: {reason}; {end})"


_WHY = {
    "quota": "dropped by the spool's disk quota before they were read",
    "disk_error": "they never reached the spool (it could not be written)",
    "not_sent": "the server did not send them",
}


def describe_loss(
    stream: str, size: int, lines: int | None, reason: str, *, gaps: int = 0, detail: str = ""
) -> str:
    """One line for output of ``stream`` that was lost: ``size`` bytes and ``lines`` newlines
    (``None``: not known) in ``gaps`` stretches, for ``reason`` (``quota``, ``disk_error``,
    ``not_sent``...); ``detail`` adds the server's own words."""
    counted = "lines unknown" if lines is None else f"{lines} lines"
    where = f" in {gaps} gaps" if gaps > 1 else ""
    why = _WHY.get(reason, reason)
    if detail:
        why = f"{why}: {detail}"
    return f"{stream}: {size} bytes ({counted}) lost{where}: {why}"
