"""The host's side of process lifetime: each run's marker, the watchdog, and orphans of dead hosts.

One watchdog per host process, started at its first run: a small Python process
(:mod:`ccstream._lifetime` run as a file) in its own session, reading a pipe whose write end
only this process holds. Whatever ends this process (an exit, an exception, SIGKILL, the OOM
killer), the kernel closes that end, the watchdog reads end-of-file and stops every process
carrying this host's marker. Spawning a run costs nothing more than one ``waitpid(WNOHANG)``
to check the watchdog is alive and one more environment variable.

The marker names the host by pid and start time, so any later host (a restarted server) can
tell the runs of a host that no longer exists from those of a live one:
:func:`stop_orphaned_runs`.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import threading

from . import _lifetime
from ._lifetime import MARKER, WATCHDOG_FLAG

# The public names (ccstream re-exports them); the rest is for the package.
__all__ = ["stop_orphaned_runs"]

log = logging.getLogger("ccstream")

WATCHDOG_GRACE = 1.0
"""Seconds the watchdog gives a dead host's processes between SIGTERM and SIGKILL."""

_PROGRAM = os.path.normpath(str(_lifetime.__file__))  # os.path: pathlib costs start-up
_lock = threading.Lock()
_counter = itertools.count(1)
_prefix: tuple[int, str] | None = None  # (pid it was made for, prefix)
_watchdog: tuple[int, int, int] | None = None
"""(host pid, watchdog pid, write end of its pipe); pid and fd -1 when none could start."""


def _start_ticks(pid: int) -> str | None:
    """When ``pid`` started, as a string that is the same whoever reads it; ``None`` if gone."""
    if sys.platform.startswith("linux"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            return None
        # Field 22, counted after the command name, which may itself hold spaces and parens.
        return stat[stat.rindex(b")") + 2 :].split()[19].decode()
    import psutil

    try:
        return f"{psutil.Process(pid).create_time():.6f}".replace(".", "")
    except psutil.Error:
        return None


def host_prefix() -> str:
    """``<pid>.<start>.``: the start of the marker of every run of this process."""
    global _prefix
    pid = os.getpid()
    if _prefix is None or _prefix[0] != pid:
        _prefix = (pid, f"{pid}.{_start_ticks(pid)}.")
    return _prefix[1]


def new_marker() -> str:
    """A marker no other run of any live host carries: ``<pid>.<start>.<run number>.``, whose
    final dot keeps run 7's marker from being a prefix of run 70's."""
    return f"{host_prefix()}{next(_counter)}."


def ensure_watchdog() -> None:
    """Start this process's watchdog if it is not running (the first run, or it was killed)."""
    global _watchdog
    pid = os.getpid()
    state = _watchdog
    if state is not None and state[0] == pid and _running(state[1]):
        return
    with _lock:
        state = _watchdog
        if state is not None and state[0] == pid:
            if _running(state[1]):
                return  # another thread started one meanwhile
            log.warning("the watchdog (pid %d) ended; starting another", state[1])
            os.close(state[2])
        _watchdog = _spawn_watchdog(pid)


def _running(watchdog: int) -> bool:
    if watchdog < 0:
        return True  # none could be started; that was said once
    try:
        done, _status = os.waitpid(watchdog, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == 0


def _spawn_watchdog(host: int) -> tuple[int, int, int]:
    if not sys.executable or not os.path.isfile(_PROGRAM):
        log.warning(
            "no Python executable or watchdog program (%s): runs are not stopped if this "
            "process is killed",
            _PROGRAM,
        )
        return (host, -1, -1)
    read_end, write_end = os.pipe()  # both close-on-exec: no run inherits the write end
    env = {k: v for k, v in os.environ.items() if k != MARKER}
    env[WATCHDOG_FLAG] = str(host)
    try:
        pid = os.posix_spawn(
            sys.executable,
            [sys.executable, "-I", _PROGRAM, host_prefix(), str(WATCHDOG_GRACE)],
            env,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, read_end, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_DUP2, 1, 2),
            ],
            # Its own session: a signal to the host's group or terminal does not reach it.
            setsid=True,
        )
    except OSError as exc:
        os.close(write_end)
        log.warning(
            "cannot start the watchdog (%s): runs are not stopped if this process is killed", exc
        )
        return (host, -1, -1)
    finally:
        os.close(read_end)
    log.debug("watchdog pid %d for host %d", pid, host)
    return (host, pid, write_end)


def _forget_in_child() -> None:
    # A forked child must not hold the write end: the watchdog would outlive its host's death.
    global _watchdog
    state = _watchdog
    _watchdog = None
    if state is not None and state[2] >= 0:
        os.close(state[2])


os.register_at_fork(after_in_child=_forget_in_child)


def stop_orphaned_runs(grace: float = WATCHDOG_GRACE) -> int:
    """Stop the processes left by ccstream hosts that no longer exist (SIGTERM, ``grace``
    seconds, SIGKILL); returns how many were stopped.

    A host's watchdog does this when the host dies; this is for the case where the watchdog
    died with it (both killed at once, the OOM killer). The runs of live hosts, this one
    included, are left alone. Blocking: reads every process's environment.
    """
    live: dict[str, bool] = {host_prefix(): True}
    dead: set[str] = set()
    for pid in _lifetime.find_marked(""):
        # Only the host is learnt here; stop() pins each process and reads its marker again.
        value = _marker_of(pid)
        if value is None:
            continue
        host_pid, _, rest = value.partition(".")
        start = rest.partition(".")[0]
        host = f"{host_pid}.{start}."
        if host not in live:
            live[host] = host_pid.isdigit() and _start_ticks(int(host_pid)) == start
        if not live[host]:
            dead.add(host)
    stopped = 0
    for host in sorted(dead):
        count = len(_lifetime.stop(host, grace))
        if count:
            log.warning(
                "stopped %d processes left by ccstream host %s, which is gone",
                count,
                host.split(".")[0],
            )
        stopped += count
    return stopped


def _marker_of(pid: int) -> str | None:
    if sys.platform.startswith("linux"):
        environ = _lifetime._read_environ(pid)
        if not environ:
            return None
        for entry in environ.split(b"\0"):
            if entry.startswith(MARKER.encode() + b"="):
                return entry[len(MARKER) + 1 :].decode(errors="replace")
        return None
    import psutil

    try:
        return psutil.Process(pid).environ().get(MARKER)
    except psutil.Error:
        return None
