"""Find and stop every process of a run by the marker in its environment; the watchdog's program.

Every child gets ``CCSTREAM_RUN=<host pid>.<host start>.<run number>`` in its environment, and
every descendant inherits it, whether it stays in the run's process group or leaves it with
``setsid`` or a double fork (re-parented to init). Jenkins' ProcessTreeKiller finds a build's
processes with the same cookie. A process that clears its environment *and* leaves the group and
the tree escapes; only OS isolation (a cgroup, a container) holds such a process.

This module uses the standard library only (psutil is imported where there is no ``/proc``),
because it is also the program of the watchdog: ``python -I _lifetime.py PREFIX GRACE`` blocks on
its stdin, a pipe whose write end only the host holds, and when the host dies, however it dies,
the read returns end-of-file and the watchdog stops every process whose marker starts with
``PREFIX``. Run as a file, not as ``-m ccstream._lifetime``, so it starts without importing the
library (a few MiB of memory, no anyio).

On Linux each process found is pinned with a pidfd and its marker read again through that pin,
so a signal can never reach a stranger that took over a recycled pid.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psutil

__all__ = [
    "MARKER",
    "WATCHDOG_FLAG",
    "Pinned",
    "descendants",
    "find_marked",
    "is_watchdog",
    "parent_of",
    "pin_marked",
    "stop",
]

MARKER = "CCSTREAM_RUN"
"""The environment variable that marks every process of a run."""

WATCHDOG_FLAG = "CCSTREAM_WATCHDOG"
"""Set in a watchdog's own environment: a sweep of an outer run never stops a nested host's
watchdog, which is what stops that host's runs once the host is killed."""

_PROC = "/proc"
_LINUX = sys.platform.startswith("linux") and os.path.isdir(_PROC)
_HAS_PIDFD = _LINUX and hasattr(os, "pidfd_open") and hasattr(signal, "pidfd_send_signal")
_POLL = 0.02
"""Seconds between two looks while waiting for processes to exit."""
_ENVIRON_LIMIT = 4 * 1024 * 1024
"""Bytes of a process's environment read at most (the kernel's ARG_MAX territory)."""


def _needle(prefix: str) -> bytes:
    return f"{MARKER}={prefix}".encode()


def _read_environ(pid: int) -> bytes | None:
    """The raw ``/proc/PID/environ`` (entries ending in NUL); ``None`` when unreadable."""
    try:
        fd = os.open(f"{_PROC}/{pid}/environ", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        chunks = []
        size = 0
        while size < _ENVIRON_LIMIT:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _has(environ: bytes, needle: bytes) -> bool:
    """True when one entry of ``environ`` starts with ``needle``."""
    return environ.startswith(needle) or b"\0" + needle in environ


def find_marked(prefix: str) -> list[int]:
    """Pids of the processes whose marker starts with ``prefix`` (this process excluded).

    Costs one read of ``/proc/PID/environ`` per process of the machine (psutil's ``environ`` on
    systems without ``/proc``); a zombie has no environment left and is never listed.
    """
    me = os.getpid()
    if not _LINUX:
        return [pid for pid, _ in _psutil_marked(prefix) if pid != me]
    needle = _needle(prefix)
    found = []
    for name in os.listdir(_PROC):
        if not name.isdigit():
            continue
        pid = int(name)
        if pid == me:
            continue
        environ = _read_environ(pid)
        if environ and _has(environ, needle):
            found.append(pid)
    return found


def _psutil_marked(prefix: str) -> list[tuple[int, psutil.Process]]:
    import psutil

    found: list[tuple[int, psutil.Process]] = []
    for proc in psutil.process_iter():
        try:
            value = proc.environ().get(MARKER)
        except (psutil.Error, OSError):
            continue
        if value is not None and value.startswith(prefix):
            found.append((proc.pid, proc))
    return found


class Pinned:
    """One process held so that signals reach it and no other: a pidfd on Linux, a psutil
    ``Process`` (which checks the start time before each signal) elsewhere."""

    __slots__ = ("_fd", "_proc", "pid")

    def __init__(self, pid: int, fd: int | None, proc: psutil.Process | None) -> None:
        self.pid = pid
        self._fd = fd
        self._proc = proc

    @classmethod
    def of(cls, pid: int, *, marker_prefix: str | None = None) -> Pinned | None:
        """Pin ``pid``; with ``marker_prefix``, only if it still carries that marker once pinned.
        ``None`` when it is gone (or is another process by now)."""
        if _HAS_PIDFD:
            try:
                fd = os.pidfd_open(pid)
            except OSError:
                return None
            if marker_prefix is not None:
                # Read through the pin: if the pid was recycled since the scan, this is the new
                # process's environment, which does not carry the marker.
                environ = _read_environ(pid)
                if not environ or not _has(environ, _needle(marker_prefix)):
                    os.close(fd)
                    return None
            return cls(pid, fd, None)
        import psutil

        try:
            proc = psutil.Process(pid)
            if marker_prefix is not None:
                value = proc.environ().get(MARKER)
                if value is None or not value.startswith(marker_prefix):
                    return None
        except (psutil.Error, OSError):
            return None
        return cls(pid, None, proc)

    def signal(self, sig: int) -> bool:
        """Send ``sig``; False when the process is gone."""
        try:
            if self._fd is not None:
                signal.pidfd_send_signal(self._fd, sig)
            elif self._proc is not None:
                self._proc.send_signal(sig)
        except Exception:
            return False
        return True

    def alive(self) -> bool:
        """True while the process runs (a zombie counts as gone)."""
        if self._fd is not None:
            return not select.select([self._fd], [], [], 0)[0]
        if self._proc is None:
            return False
        try:
            return bool(self._proc.is_running() and self._proc.status() != "zombie")
        except Exception:
            return False

    def close(self) -> None:
        """Release the pin."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _in_group(pid: int, group: int | None) -> bool:
    if group is None:
        return False
    try:
        return os.getpgid(pid) == group
    except OSError:
        return False


def pin_marked(prefix: str, skip: Iterable[int] = (), group: int | None = None) -> list[Pinned]:
    """Pin every process whose marker starts with ``prefix``, except the pids in ``skip`` and
    the members of process group ``group`` (left to ``killpg``)."""
    skipped = set(skip)
    pinned = []
    for pid in find_marked(prefix):
        if pid in skipped or _in_group(pid, group):
            continue
        if (p := Pinned.of(pid, marker_prefix=prefix)) is not None:
            pinned.append(p)
    return pinned


def _wait_gone(procs: list[Pinned], seconds: float) -> list[Pinned]:
    """Wait up to ``seconds`` for ``procs`` to exit; return those still alive."""
    deadline = time.monotonic() + seconds
    alive = [p for p in procs if p.alive()]
    while alive and time.monotonic() < deadline:
        time.sleep(_POLL)
        alive = [p for p in alive if p.alive()]
    return alive


def stop(
    prefix: str | None,
    grace: float,
    *,
    pinned: Iterable[Pinned] = (),
    term: bool = True,
    group: int | None = None,
    rounds: int = 20,
    signalled: set[int] | None = None,
) -> set[int]:
    """Stop the processes marked with ``prefix`` and those in ``pinned``: SIGTERM (and SIGCONT,
    for a stopped one) unless ``term`` is False, up to ``grace`` seconds to exit, then SIGKILL.
    The marked ones are looked for again after each round, so a process forked meanwhile is
    caught too, until none is left or ``rounds`` rounds passed. Members of process group
    ``group`` are left to the caller's ``killpg``.

    Returns the pids signalled, also added to ``signalled`` as they are (so a caller
    cancelled meanwhile still learns them). Every pin is closed on return.
    """
    held: dict[int, Pinned] = {p.pid: p for p in pinned}
    if prefix is not None:
        for p in pin_marked(prefix, skip=held, group=group):
            held[p.pid] = p
    if signalled is None:
        signalled = set()
    try:
        if term:
            for p in held.values():
                if p.signal(signal.SIGTERM):
                    signalled.add(p.pid)
                    p.signal(signal.SIGCONT)
        if grace > 0:
            _wait_gone(list(held.values()), grace)
        for _ in range(rounds):
            alive = [p for p in held.values() if p.alive()]
            for p in alive:
                if p.signal(signal.SIGKILL):
                    signalled.add(p.pid)
            if prefix is not None:
                fresh = pin_marked(prefix, skip=[p.pid for p in alive], group=group)
                for p in fresh:
                    old = held.pop(p.pid, None)
                    if old is not None:
                        old.close()
                    held[p.pid] = p
                    if p.signal(signal.SIGKILL):
                        signalled.add(p.pid)
                alive += fresh
            if not alive:
                break
            # SIGKILL is not instant (a process in the middle of a system call finishes it).
            _wait_gone(alive, 0.5)
    finally:
        for p in held.values():
            p.close()
    return signalled


def _watch(prefix: str, grace: float) -> None:
    """The watchdog: wait for the host to die (end-of-file on stdin), then stop its runs."""
    os.chdir("/")  # hold no directory of the host's busy (an unmount, a removed checkout)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        # A Ctrl-C or a group-wide SIGTERM meant for the host must not take its watchdog along.
        signal.signal(sig, signal.SIG_IGN)
    while True:
        try:
            if not os.read(0, 4096):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    stop(prefix, grace)


def descendants(pid: int) -> list[tuple[int, int]]:
    """``(pid, parent pid)`` of every descendant of ``pid``, parents before children.

    On Linux this walks ``/proc/PID/task/TID/children``, at a cost proportional to the tree, not
    to the machine (psutil's ``children(recursive=True)`` reads every process's ``stat``).
    """
    if not (_LINUX and os.path.exists(f"{_PROC}/{pid}/task/{pid}/children")):
        import psutil

        try:
            return [(p.pid, p.ppid()) for p in psutil.Process(pid).children(recursive=True)]
        except (psutil.Error, OSError):
            return []
    found: list[tuple[int, int]] = []
    queue = [pid]
    seen = {pid}
    while queue:
        parent = queue.pop(0)
        try:
            tids = os.listdir(f"{_PROC}/{parent}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"{_PROC}/{parent}/task/{tid}/children", "rb") as f:
                    kids = f.read().split()
            except OSError:
                continue
            for kid in map(int, kids):
                if kid not in seen:
                    seen.add(kid)
                    found.append((kid, parent))
                    queue.append(kid)
    return found


def parent_of(pid: int) -> int | None:
    """The parent pid of ``pid``; ``None`` when it is gone or only a zombie."""
    if _LINUX:
        try:
            with open(f"{_PROC}/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            return None
        # Fields counted after the command name, which may itself hold spaces and parens.
        state, ppid = stat[stat.rindex(b")") + 2 :].split()[:2]
        return None if state == b"Z" else int(ppid)
    import psutil

    try:
        proc = psutil.Process(pid)
        return None if proc.status() == psutil.STATUS_ZOMBIE else proc.ppid()
    except (psutil.Error, OSError):
        return None


def is_watchdog(pid: int) -> bool:
    """True when ``pid`` is a ccstream watchdog (its environment carries the flag)."""
    if _LINUX:
        environ = _read_environ(pid)
        return bool(environ) and _has(environ, f"{WATCHDOG_FLAG}=".encode())  # type: ignore[arg-type]
    import psutil

    try:
        return WATCHDOG_FLAG in psutil.Process(pid).environ()
    except (psutil.Error, OSError):
        return False


if __name__ == "__main__":
    _watch(sys.argv[1], float(sys.argv[2]))
