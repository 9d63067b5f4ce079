"""The child process: spawn it in its own process group, signal the group, learn how it ended.

The child is never reaped until the very end (:meth:`Child.reap`): while it is an unreaped zombie
its pid cannot be reused, so signalling its process group can never hit an unrelated process.

Descendants that leave the group (``setsid``, a double fork) are found by the run's marker in
their environment and by the child's process tree (:meth:`Child.pin_escapees`), and this
process's watchdog stops every run's processes if this process dies
(:mod:`ccstream._watchdog`).
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
from collections.abc import Callable

import anyio
import anyio.to_thread

from ._command import Prepared
from ._lifetime import (
    MARKER,
    WATCHDOG_FLAG,
    Pinned,
    descendants,
    is_watchdog,
    parent_of,
    pin_marked,
)
from ._options import ResourceLimits
from ._terminal import take_terminal
from ._watchdog import ensure_watchdog, new_marker
from .exceptions import CommandNotFound, CwdNotFound, NotExecutable, SpawnError

__all__ = ["Child", "spawn"]


def _rlimit_setter(limits: ResourceLimits) -> Callable[[], None]:
    """A ``preexec_fn`` that lowers the child's rlimits between fork and exec."""
    pairs = [
        (resource.RLIMIT_AS, limits.address_space),
        (resource.RLIMIT_CPU, limits.cpu_time),
        (resource.RLIMIT_FSIZE, limits.file_size),
        (resource.RLIMIT_NOFILE, limits.open_files),
    ]
    wanted = [(which, value) for which, value in pairs if value is not None]

    def apply() -> None:
        for which, value in wanted:
            _soft, hard = resource.getrlimit(which)
            # An unprivileged process may lower but not raise its hard limit.
            new_hard = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (min(value, new_hard), new_hard))

    return apply


class Child:
    """A spawned child leading its own process group (``pgid == pid``)."""

    def __init__(self, popen: subprocess.Popen[bytes], marker: str) -> None:
        self._popen = popen
        self.pid = popen.pid
        self.pgid = popen.pid
        self.marker = marker
        """The value of ``CCSTREAM_RUN`` that this child and every descendant inherit."""
        self.returncode: int | None = None
        self._exited = anyio.Event()

    @property
    def exited(self) -> bool:
        """True once the child has exited (it may still await reaping). Never blocks."""
        if not self._exited.is_set() and self.returncode is None:
            # WNOWAIT: look without reaping, so the pid (and group id) stays reserved.
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            if info is not None and info.si_pid == self.pid:
                self._exited.set()
        return self._exited.is_set() or self.returncode is not None

    def signal_group(self, sig: int) -> None:
        """Send ``sig`` to the whole process group; a group that is already gone is fine."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, sig)

    def pin_escapees(self) -> list[Pinned]:
        """Pin the processes of this run outside its process group: the child's descendants
        (collected before anything is killed, while a ``setsid`` grandchild is still in the
        tree) and every process carrying the marker (a double-forked daemon, re-parented to
        init). A nested ccstream host's watchdog is spared: it stops that host's runs.

        Blocking (reads ``/proc``, or asks psutil): run it in a worker thread.
        """
        pinned: dict[int, Pinned] = {}
        for pid, parent in descendants(self.pid):
            try:
                if os.getpgid(pid) == self.pgid or is_watchdog(pid):
                    continue
            except OSError:
                continue
            p = Pinned.of(pid)
            if p is None:
                continue
            # The pin holds whichever process has this pid now: keep it only if that is still
            # the child of the parent it was listed under.
            if parent_of(pid) == parent:
                pinned[p.pid] = p
            else:
                p.close()
        for p in pin_marked(self.marker, skip=pinned, group=self.pgid):
            pinned[p.pid] = p
        return list(pinned.values())

    async def wait_exited(self) -> None:
        """Return once the child has exited, without reaping it."""
        if self._exited.is_set():
            return
        if hasattr(os, "pidfd_open"):
            fd = os.pidfd_open(self.pid)
            try:
                await anyio.wait_readable(fd)
            finally:
                os.close(fd)
        else:
            # macOS has no pidfd: block a worker thread in waitid(WNOWAIT) instead. The thread is
            # abandoned on cancellation; it returns by itself once the child is killed.
            await anyio.to_thread.run_sync(self._waitid_nowait, abandon_on_cancel=True)
        self._exited.set()

    def _waitid_nowait(self) -> None:
        os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)

    async def wait_exited_for(self, seconds: float) -> bool:
        """Wait at most ``seconds`` for the child to exit; True when it did."""
        with anyio.move_on_after(seconds):
            await self.wait_exited()
        return self._exited.is_set()

    def reap(self) -> int:
        """Collect the exit status (blocking only if the child still runs).

        The kernel's ``ru_maxrss`` from ``wait4`` is not used: it counts the parent's memory the
        child had before ``exec`` (with vfork, the parent's own high-water mark).

        Returns the status as :attr:`subprocess.Popen.returncode` does: ``-N`` for signal N.
        """
        if self.returncode is None:
            _pid, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
            # Tell Popen, so it does not warn that the child is still running or wait again.
            self._popen.returncode = self.returncode
        return self.returncode


def _marked_env(env: dict[str, str], marker: str) -> dict[str, str]:
    """``env`` with this run's marker, set last so no caller's value can replace it, and
    without the watchdog flag, which only a watchdog may carry."""
    marked = {**env, MARKER: marker}
    marked.pop(WATCHDOG_FLAG, None)
    return marked


def _preexec(limits: ResourceLimits, terminal: bool) -> Callable[[], None] | None:
    """What the child runs between fork and exec: its rlimits, and taking its terminal."""
    set_limits = _rlimit_setter(limits) if limits.any else None
    if not terminal:
        return set_limits

    def apply() -> None:
        take_terminal()
        if set_limits is not None:
            set_limits()

    return apply


def spawn(
    prepared: Prepared,
    limits: ResourceLimits,
    stdin: int,
    stdout: int,
    stderr: int,
    *,
    terminal: bool = False,
) -> Child:
    """Start the child in a new session (its own process group), with the given fds and this
    run's marker in its environment; start this process's watchdog first if needed. With
    ``terminal``, ``stdout`` is a terminal's slave side, which becomes the child's controlling
    terminal (so a resize reaches it as ``SIGWINCH``)."""
    ensure_watchdog()
    marker = new_marker()
    try:
        popen = subprocess.Popen(
            prepared.argv,
            executable=prepared.executable,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            cwd=prepared.cwd,
            env=_marked_env(prepared.env, marker),
            close_fds=True,
            # A new session makes the child a group leader and detaches it from our terminal, so
            # a Ctrl-C meant for us does not hit it behind our back and killpg reaches its tree.
            start_new_session=True,
            preexec_fn=_preexec(limits, terminal),
        )
    except FileNotFoundError as exc:
        if prepared.cwd is not None and not os.path.isdir(prepared.cwd):
            raise CwdNotFound(f"working directory vanished: {prepared.cwd}") from exc
        raise CommandNotFound(f"command not found: {prepared.argv[0]}") from exc
    except PermissionError as exc:
        raise NotExecutable(f"cannot execute {prepared.argv[0]}: {exc.strerror}") from exc
    except OSError as exc:
        raise SpawnError(f"cannot start {prepared.argv[0]}: {exc}") from exc
    except subprocess.SubprocessError as exc:  # preexec_fn failed: a limit could not be set
        raise SpawnError(f"cannot start {prepared.argv[0]}: {exc}") from exc
    return Child(popen, marker)
