"""The stream API: start a command, yield its events, end with a truthful result.

Inside, one supervisor task runs the two pipe pumps, the stdin feeder, the memory monitor and the
timers; the caller's task only takes events from the bounded :class:`EventBuffer`. The pumps read
both pipes concurrently in large fixed-size reads (never ``readline()``), so a child writing a
20 MiB line or filling stderr while we wait on stdout never blocks on us.

Each pump writes its frames to a sink: its stream's share of the buffer (:class:`BufferSink`),
or, with a spool, the spool's :class:`~ccstream.spool.Sink` (``SpoolOptions.store``'s, or a
local :class:`~ccstream.spool.local._writer.SpoolWriter`), which never waits
for a consumer (unless its quota is spent on bytes a live reader has not read, under
``on_quota="pause"``: then the pumps wait for the reader), and the caller's events come from
a :class:`~ccstream.spool._follow.RunFollower` of the spool: the same frames, in the same order,
read behind the child.
Only ``Started`` and the ``Result`` (and, if the disk fails and the run goes on, the frames after
that) pass through the buffer.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import time
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

import anyio
import anyio.abc
import anyio.lowlevel

from ._buffer import EventBuffer
from ._check import check_int
from ._chunker import Chunker
from ._command import Command, prepare
from ._concurrency import current_limiter
from ._events import STREAMS, Event, Output, Reason, Result, Started, StreamName, StreamStats
from ._lifetime import Pinned
from ._lifetime import stop as stop_processes
from ._monitor import MemoryMonitor
from ._options import Options, SpoolOptions
from ._pipes import make_pipe
from ._process import Child, spawn
from ._pty import Pty
from ._terminal import MAX_SIZE, open_terminal, read_terminal, set_window_size
from .exceptions import InvalidOption, UsageError

if TYPE_CHECKING:
    from .spool._base import Sink
    from .spool._follow import RunFollower
    from .spool._reader import Spool

__all__ = ["Run", "stream"]

log = logging.getLogger("ccstream")
MB = 1024 * 1024

# After the child was killed and its pipes still do not close (a descendant escaped the process
# group with setsid and kept them), stop reading after this many seconds rather than hang.
_ESCAPED_PIPE_GRACE = 1.0
_READER_POLL = (0.002, 0.1)
"""Seconds between two looks at the live readers while the quota holds the pumps for them, at
first and at most (doubling meanwhile): readers move without telling anyone, which keeps their
hot path free of wake-ups, and a reader that stays away long costs ten looks a second."""
# A pump turn that read this much is a busy child's: when its pipe then runs dry, the sink's
# gathered batch waits up to _HOLD_FLUSH seconds for more before it goes to the disk thread.
_BUSY_READ = 128 * 1024
_HOLD_FLUSH = 0.002


def _make_sink(options: SpoolOptions, argv: Sequence[str], mode: str) -> Sink:
    """The run's spool: made by ``options.store`` under ``options.key``, else a directory."""
    if options.store is not None:
        assert options.key is not None  # SpoolOptions checks it
        return options.store.create(options.key, options, argv=argv, mode=mode)
    from .spool.local._writer import SpoolWriter

    return SpoolWriter(options, argv=argv, mode=mode)


class _Sink(Protocol):
    """What a pump writes its frames through: its stream's :class:`BufferSink`, or the run's
    :class:`SpoolWriter` (see their docstrings for what each method does there)."""

    @property
    def held(self) -> bool:
        """The pump must wait for live readers (``_wait_for_readers``) before it reads on."""

    @property
    def backlog(self) -> int:
        """Bytes taken but not yet passed on (to the consumer, or to the disk)."""

    @property
    def backlog_limit(self) -> int:
        """Bytes of backlog over which the pump waits (:meth:`wait_backlog`)."""

    def append(self, stream: StreamName, frames: Sequence[Output]) -> int | None:
        """Take a batch; return its newlines, or ``None`` when the sink failed and took nothing."""

    async def wait_backlog(self) -> None:
        """Wait while ``backlog`` is over ``backlog_limit``."""

    def flush(self) -> None:
        """The pipe is empty: pass on what was gathered."""

    def retry_held(self) -> bool:
        """Look at the readers again; return whether the sink is still held."""

    def release_held(self) -> None:
        """Stop holding for readers (the run is being killed)."""


class _Counter:
    """Bytes and newlines seen on one stream, and whether its last byte was a newline. The
    newlines are counted by the sink that takes the frames (the spool counts them anyway, for
    its index); ``lines`` says whether the result reports them."""

    __slots__ = ("bytes", "lines", "newlines", "open_line")

    def __init__(self, *, lines: bool) -> None:
        self.bytes = 0
        self.lines = lines
        self.newlines = 0
        self.open_line = False

    def add(self, data: bytes) -> None:
        """Count the bytes of a read."""
        self.bytes += len(data)
        self.open_line = data[-1:] != b"\n"

    def stats(self) -> StreamStats:
        lines = self.newlines + self.open_line if self.lines else None
        return StreamStats(bytes=self.bytes, lines=lines)


def stream(command: Command, options: Options | None = None) -> Run:
    """Run ``command`` and stream its output::

        async with ccstream.stream(["make", "-j8"]) as run:
            async for event in run:
                if isinstance(event, ccstream.Output):
                    sink.write(event.data)
        print(run.result.returncode)

    ``command`` is an argv list, or a string for ``options.shell``. Entering the block validates
    the command and spawns it; a bad command raises a :class:`ccstream.SpawnError` or
    :class:`ccstream.InvalidOption` there, before any event. Leaving the block before the run ended
    (``break``, an exception, a cancelled scope) kills the process group and the result's reason is
    ``cancelled``.
    """
    return Run(command, options or Options())


class Run:
    """One running command; use it through :func:`stream`."""

    def __init__(self, command: Command, options: Options) -> None:
        if not isinstance(options, Options):
            raise InvalidOption(f"options must be an Options, got {options!r}")
        self.command = command
        self.options = options
        self._result: Result | None = None
        self._reason: Reason | None = None
        self._killing = False
        self._lingering_killed = False
        self._escapees: list[Pinned] = []
        self._escaped_killed: set[int] = set()
        self._term_at = 0.0
        self._paused_at: float | None = None
        self._last_output = 0.0
        # The spool counts lines anyway (its index needs them), so a spooled run reports them.
        count_lines = options.count_lines or options.spool is not None
        self._counters: dict[StreamName, _Counter] = {
            "stdout": _Counter(lines=count_lines),
            "stderr": _Counter(lines=count_lines),
        }
        self._done = anyio.Event()
        self._kill_requested = anyio.Event()
        self._child: Child | None = None
        self._fds: list[int] = []
        self._terminal_fd: int | None = None
        self._stdin_w: int | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        self._buffer = EventBuffer(options.buffer_limit, count_lines=count_lines)
        self._sinks: dict[StreamName, _Sink] = {n: self._buffer.sink(n) for n in STREAMS}
        self._spool_writer: Sink | None = None
        self._spool: Spool | None = None
        self._follower: RunFollower | None = None
        self._started_taken = False
        self._spool_failed = False

    # -- public surface -------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        """The child's process id (also its process group id)."""
        return self._require_child().pid

    @property
    def result(self) -> Result:
        """The final result; known once it was the last event or :meth:`wait` returned.

        Raises :class:`~ccstream.UsageError` before that."""
        if self._result is None:
            raise UsageError("the run has not ended yet")
        return self._result

    @property
    def done(self) -> bool:
        """True once the result is known."""
        return self._result is not None

    def stats(self, name: StreamName) -> StreamStats:
        """Bytes and lines read from stream ``name`` so far (final once the run ended)."""
        return self._counters[name].stats()

    @property
    def spool(self) -> Spool:
        """The reader handle of this run's spool: pages, tail, byte ranges and ``follow``, while
        the run goes on and after it ended (until the ``async with`` block closes the run, which
        removes the spool unless ``SpoolOptions(keep=True)``).

        Raises :class:`~ccstream.UsageError` when the run is not spooled.
        """
        if self._spool is None:
            raise UsageError(
                "this run has no spool; pass Options(spool=ccstream.SpoolOptions()) to make one"
            )
        return self._spool

    @property
    def paused(self) -> bool:
        """True while the process group is stopped by :meth:`pause`."""
        return self._paused_at is not None

    def pause(self) -> None:
        """Stop the whole process group (SIGSTOP). Paused time does not count as idle."""
        if self._paused_at is None and not self.done:
            self._require_child().signal_group(signal.SIGSTOP)
            self._paused_at = time.monotonic()

    def resume(self) -> None:
        """Continue a paused process group (SIGCONT)."""
        if self._paused_at is not None:
            self._paused_at = None
            self._last_output = max(self._last_output, time.monotonic())
            self._require_child().signal_group(signal.SIGCONT)

    def resize(self, rows: int, cols: int) -> None:
        """Set the window size of the run's terminal to ``rows`` x ``cols`` characters
        (``TIOCSWINSZ``); the child (the terminal's foreground process group) gets ``SIGWINCH``
        when the size changes. Does nothing once the run ended.

        Raises :class:`~ccstream.UsageError` when the run has no PTY (``Options(pty=...)``) and
        :class:`~ccstream.InvalidOption` for a size outside 1 to 65535.
        """
        if not isinstance(self.options.pty, Pty):
            raise UsageError("this run has no terminal; pass Options(pty=ccstream.Pty()) for one")
        check_int("rows", rows, minimum=1, maximum=MAX_SIZE)
        check_int("cols", cols, minimum=1, maximum=MAX_SIZE)
        fd = self._terminal_fd
        if fd is not None and fd in self._fds and not self.done:
            set_window_size(fd, rows, cols)

    def cancel(self) -> None:
        """Kill the process group (SIGTERM, grace, SIGKILL); the reason becomes ``cancelled``."""
        self._kill(Reason.CANCELLED)

    async def wait(self) -> Result:
        """Discard the remaining events and return the result (the run's own events then stop
        being a live reader of its spool: see ``SpoolOptions.on_quota``)."""
        if self._follower is not None:
            self._follower.unregister()
        while await self._buffer.get() is not None:
            pass
        return self.result

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        get = self._buffer.get
        if self._follower is not None:
            if not self._started_taken:
                self._started_taken = True
                started = await get()
                if started is not None:
                    yield started
            # A live reader while iterated, so the quota keeps what it has not taken yet.
            registered = self._follower
            if registered is not None:
                registered.register()
            try:
                while (follower := self._follower) is not None:
                    frame = await follower.next()
                    if frame is None:
                        # The spool holds no more: the rest (the Result, and frames that came after
                        # a disk failure) is in the buffer.
                        self._follower = None
                        follower.close()
                        break
                    yield frame
            finally:
                if registered is not None:
                    registered.unregister()
        while (event := await get()) is not None:
            yield event

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> Run:
        opts = self.options
        prepared = prepare(self.command, opts)
        self._limiter = current_limiter()
        await self._limiter.acquire()
        child_fds: list[int] = []
        try:
            if opts.spool is not None:
                # Imported here: a run without a spool (the command line's default) never loads it.
                from .spool._follow import RunFollower
                from .spool._reader import Spool

                writer = self._spool_writer = _make_sink(opts.spool, prepared.argv, opts.mode)
                self._sinks = {n: writer for n in STREAMS}
                self._spool = Spool(
                    writer.source(), on_close=None if opts.spool.keep else writer.remove
                )
                self._follower = RunFollower(writer, self._spool.source)
            pty = opts.pty if isinstance(opts.pty, Pty) else None
            err_r: int | None
            if pty is None:
                out_r, out_w = make_pipe()
            else:
                out_r, out_w = open_terminal(pty)
                self._terminal_fd = out_r
            self._fds.append(out_r)
            child_fds.append(out_w)
            if pty is not None and pty.stderr == "terminal":
                err_r, err_w = None, out_w
            else:
                err_r, err_w = make_pipe()
                self._fds.append(err_r)
                child_fds.append(err_w)
            if opts.stdin is None:
                stdin_fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
                child_fds.append(stdin_fd)
                self._stdin_w = None
            elif isinstance(opts.stdin, int):
                stdin_fd = opts.stdin  # the caller's own, passed on as it is; not ours to close
                self._stdin_w = None
            else:
                stdin_fd, stdin_w = make_pipe(nonblocking_read=False, nonblocking_write=True)
                child_fds.append(stdin_fd)
                self._fds.append(stdin_w)
                self._stdin_w = stdin_w
            self._child = spawn(
                prepared, opts.limits, stdin_fd, out_w, err_w, terminal=pty is not None
            )
        except BaseException:
            self._close_fds()
            self._discard_spool()
            self._limiter.release()
            raise
        finally:
            for fd in child_fds:
                os.close(fd)
        child = self._child
        self._argv = prepared.argv
        self._t0 = time.monotonic()
        self._last_output = self._t0
        self._monitor = MemoryMonitor(
            child.pid, interval=opts.monitor_interval, limit=opts.memory_limit
        )
        self._buffer.put(
            Started(pid=child.pid, pgid=child.pgid, argv=prepared.argv, started_at=time.time())
        )
        log.debug("started pid %d: %s", child.pid, prepared.argv)
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._supervise, out_r, err_r)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._tg is not None
        assert self._limiter is not None
        try:
            if not self._done.is_set():
                self._kill(Reason.CANCELLED)
                # Nobody will read the rest: let the pumps drain the pipes instead of waiting.
                self._buffer.abandon()
                # Shielded: even a cancelled caller must not leave the tree running behind it.
                with anyio.CancelScope(shield=True):
                    await self._done.wait()
            # The supervisor has finished. The caller's own exception is not handed to the task
            # group, which would wrap it in an ExceptionGroup; it propagates as it is.
            await self._tg.__aexit__(None, None, None)
            return None
        finally:
            if self._follower is not None:
                self._follower.close()
                self._follower = None
            if self._spool is not None:
                self._spool.close()  # quick: the files are renamed away and deleted behind
            self._limiter.release()

    # -- internals ------------------------------------------------------------------------------

    def _discard_spool(self) -> None:
        """Nothing ran: stop the spool's thread and remove its files."""
        writer = self._spool_writer
        if writer is None:
            return
        if self._follower is not None:
            self._follower.close()
            self._follower = None
        if self._spool is not None:
            self._spool.close()
        writer.close()
        writer.remove()
        self._spool_writer = self._spool = None

    def _require_child(self) -> Child:
        if self._child is None:
            raise UsageError("the run has not started; use it as 'async with stream(...)'")
        return self._child

    def _kill(self, reason: Reason) -> None:
        """Record why the run is ending early (first reason wins) and ask the supervisor to kill."""
        # A child that already exited by itself keeps its own reason, even if descendants
        # holding its pipes are killed now.
        exited = self._child is not None and self._child.exited
        if self._reason is None and not self.done and not exited:
            self._reason = reason
        self._kill_requested.set()

    async def _kill_tree(self) -> None:
        await self._kill_requested.wait()
        # Shielded: the supervisor cancels this task once the child exited and the pipes
        # closed, which must not cut short the grace of what else runs, nor lose its pins.
        with anyio.CancelScope(shield=True):
            await self._terminate()
            # Now, not when the run ends: a descendant holding the pipes would make that
            # `linger` instead of `kill_grace`.
            await self._stop_escapees(self._require_child())

    async def _terminate(self) -> None:
        """SIGTERM the group and the run's processes outside it, wait ``kill_grace`` for the
        child, then SIGKILL the group (the others: :meth:`_stop_escapees`)."""
        child = self._require_child()
        self._killing = True
        # Collected before the group is signalled: once a setsid grandchild's parent dies, the
        # grandchild leaves the child's tree (its marker still names it).
        escapees = await anyio.to_thread.run_sync(child.pin_escapees)
        self._term_at = time.monotonic()
        child.signal_group(signal.SIGTERM)
        # A stopped process does not act on SIGTERM until it is continued.
        child.signal_group(signal.SIGCONT)
        for p in escapees:
            if p.signal(signal.SIGTERM):
                self._escaped_killed.add(p.pid)
                p.signal(signal.SIGCONT)
        self._escapees += escapees
        self._paused_at = None
        await child.wait_exited_for(self.options.kill_grace)
        child.signal_group(signal.SIGKILL)

    async def _stop_escapees(self, child: Child, *, now: bool = False) -> None:
        """SIGKILL what is left of the run outside its group, once the rest of ``kill_grace``
        after the SIGTERM ran out (at once with ``now``); look again until none is left."""
        grace = 0.0 if now else self._term_at + self.options.kill_grace - time.monotonic()
        escapees, self._escapees = self._escapees, []
        await anyio.to_thread.run_sync(
            lambda: stop_processes(
                child.marker,
                max(0.0, grace),
                pinned=escapees,
                term=False,
                group=child.pgid,
                signalled=self._escaped_killed,
            )
        )

    async def _supervise(self, out_fd: int, err_fd: int | None) -> None:
        child = self._require_child()
        pipes_closed = anyio.Event()
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._pump_both, out_fd, err_fd, pipes_closed)
                tg.start_soon(self._kill_tree)
                tg.start_soon(self._monitor.run)
                tg.start_soon(self._watch_limits)
                if self._stdin_w is not None:
                    tg.start_soon(self._feed_stdin, self._stdin_w)
                if self._spool_writer is not None:
                    tg.start_soon(self._watch_spool, self._spool_writer)
                await child.wait_exited()
                await self._linger(pipes_closed)
                if not pipes_closed.is_set():
                    # The child is gone but something it started still holds the pipes.
                    log.info("pid %d exited; killing the descendants holding its pipes", child.pid)
                    self._lingering_killed = True
                    # The tree first: killing the group re-parents what hangs below it.
                    self._escapees += await anyio.to_thread.run_sync(child.pin_escapees)
                    child.signal_group(signal.SIGKILL)
                    await self._stop_escapees(child, now=True)
                    with anyio.move_on_after(_ESCAPED_PIPE_GRACE):
                        await pipes_closed.wait()
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                if not child.exited:
                    # We were cancelled from outside (the caller's scope) while the child runs.
                    self._kill(Reason.CANCELLED)
                    await self._terminate()
                if self._killing:
                    # The zombie leader keeps the group id reserved, so this cannot hit a stranger.
                    child.signal_group(signal.SIGKILL)
                    await self._stop_escapees(child)
                self._close_fds()
                await self._finish(child)

    async def _linger(self, pipes_closed: anyio.Event) -> None:
        """Wait up to ``linger`` seconds for the pipes to close after the child exited; time
        the pumps spend held by the quota for a slow reader, or waiting for a slow store to take
        their backlog, does not count (the pipes still hold output the child wrote, which the
        pumps read once the reader or the store moves on)."""
        writer = self._spool_writer
        deadline = time.monotonic() + self.options.linger
        while not pipes_closed.is_set():
            now = time.monotonic()
            if writer is not None and (writer.held or writer.backlog > writer.backlog_limit):
                deadline = now + self.options.linger
            elif now >= deadline:
                return
            with anyio.move_on_after(min(deadline - now, 0.05)):
                await pipes_closed.wait()

    async def _finish(self, child: Child) -> None:
        returncode = child.reap()
        await self._monitor.sample_once()
        peak_tree = self._monitor.peak_tree
        reason = self._reason
        if reason is None:
            reason = Reason.SIGNALLED if returncode < 0 else Reason.EXITED
        duration = time.monotonic() - self._t0
        spooled = {}
        writer = self._spool_writer
        if writer is not None:
            # What the pumps read, so that what never reached the disk is counted as a gap.
            totals = [(c.bytes, c.newlines) for c in self._counters.values()]
            final = await writer.aclose(totals, returncode=returncode, reason=reason.value)
            spooled = {
                "spool_path": str(writer.path),
                "gaps": final.gaps,
                "unspooled_bytes": sum(g.bytes for g in final.gaps if g.reason == "disk_error"),
                "spool_error": final.error,
            }
        self._result = result = Result(
            argv=self._argv,
            pid=child.pid,
            returncode=returncode,
            reason=reason,
            duration=duration,
            stdout=self._counters["stdout"].stats(),
            stderr=self._counters["stderr"].stats(),
            peak_rss_tree=peak_tree,
            host_rss_start=self._monitor.host_start,
            peak_rss_host=self._monitor.peak_host,
            lingering_killed=self._lingering_killed,
            escaped_killed=len(self._escaped_killed),
            **spooled,  # type: ignore[arg-type]
        )
        log.info(
            "pid %d ended (%s, returncode %d) after %.3f s; host memory delta %.1f MB, "
            "child tree peak %s",
            child.pid,
            reason.value,
            returncode,
            result.duration,
            (result.peak_rss_host - result.host_rss_start) / MB,
            "unknown" if peak_tree is None else f"{peak_tree / MB:.1f} MB",
        )
        if result.escaped_killed:
            log.info(
                "pid %d: killed %d processes of the run outside its process group",
                child.pid,
                result.escaped_killed,
            )
        self._buffer.put(result)
        self._buffer.close()
        self._done.set()

    def _close_fds(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()

    async def _pump_both(self, out_fd: int, err_fd: int | None, closed: anyio.Event) -> None:
        """Pump stdout and stderr to their ends; ``err_fd`` is ``None`` when stderr shares the
        terminal with stdout (one pump then reads both)."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._pump, out_fd, "stdout")
            if err_fd is not None:
                tg.start_soon(self._pump, err_fd, "stderr")
        closed.set()

    async def _pump(self, fd: int, name: StreamName) -> None:
        """Read one pipe to its end, feed the reads to the stream's chunker and write the frames
        to the stream's sink, in batches of up to ``read_size`` bytes: the loop only moves bytes,
        the chunker decides when frames are ready (coalescing, linger) and the sink when to wait.

        Reads go on until the pipe is empty or a batch is full. Each ``os.read`` asks for
        what the chunker needs for its next frame (:attr:`Chunker.next_read_size`), so the kernel
        copies straight into the bytes object that becomes the frame.
        """
        opts = self.options
        chunker = Chunker(
            name,
            chunk_size=opts.chunk_size,
            mode=opts.mode,
            coalesce=opts.coalesce,
            linger=opts.line_linger if opts.mode == "lines" else None,
        )
        count, feed, clock = self._counters[name].add, chunker.feed, time.monotonic
        # A terminal's end of output is EIO, which read_terminal turns into b"".
        read = read_terminal if fd == self._terminal_fd else os.read
        eof = False
        busy = False
        while not eof:
            batch: list[Output] = []
            got = 0
            now = clock()  # the reads of one batch take microseconds: one time for them all
            try:
                while got < opts.read_size:
                    data = read(fd, chunker.next_read_size)
                    if not data:
                        eof = True
                        break
                    got += len(data)
                    count(data)
                    batch += feed(data, now)
            except BlockingIOError:
                pass
            now = clock()
            batch += chunker.flush() if eof else chunker.tick(now)
            if got:
                self._last_output = now
            if batch:
                await self._write(name, batch)
            if eof:
                break
            if got:
                busy = got >= _BUSY_READ
                # A fast child never makes the read wait; yield anyway so timers, the monitor
                # and the consumer get their turn.
                await anyio.lowlevel.checkpoint()
                continue
            deadline = chunker.deadline
            if busy:
                # A busy child's pipe ran dry for a moment: it usually refills within
                # microseconds, and every hand-off to the disk thread is a GIL round trip.
                busy = False
                hold = clock() + _HOLD_FLUSH
                deadline = hold if deadline is None else min(deadline, hold)
            else:
                self._sinks[name].flush()  # the pipe is empty: send what the sink gathers
            if deadline is None:
                await anyio.wait_readable(fd)
            else:
                with anyio.move_on_after(deadline - clock()):
                    await anyio.wait_readable(fd)

    async def _write(self, name: StreamName, frames: list[Output]) -> None:
        """Write a batch to the stream's sink; if the spool cannot take it, the bounded buffer
        takes the run's output from now on. Then wait as the sink says."""
        sink = self._sinks[name]
        newlines = sink.append(name, frames)
        if newlines is None:
            self._sinks = {n: self._buffer.sink(n) for n in STREAMS}
            if not self._spool_failed:
                self._spool_failed = True
                self._on_spool_error()
            sink = self._sinks[name]
            newlines = sink.append(name, frames)
            assert newlines is not None
        self._counters[name].newlines += newlines
        if sink.held:
            await self._wait_for_readers(sink)
        if sink.backlog > sink.backlog_limit:
            # The consumer (or the spool's disk) is behind: the one thing worth waiting for.
            await sink.wait_backlog()
        # The wait for the consumer is not the child being idle.
        self._last_output = time.monotonic()

    async def _wait_for_readers(self, writer: _Sink) -> None:
        """The quota is spent on bytes a live reader has not taken (``on_quota="pause"``): stop
        reading this pipe, so the child blocks on a full pipe, until the slowest reader moves
        past the oldest middle segment. A run being killed stops waiting (it drains its pipes
        and the quota drops what it must, counted); cancelling the run's scope ends the wait."""
        poll, longest = _READER_POLL
        writer.flush()  # readers of the files must see what they are to read past
        while writer.held:
            if self._kill_requested.is_set():
                writer.release_held()
                return
            with anyio.move_on_after(poll):
                await self._kill_requested.wait()
            writer.retry_held()
            poll = min(poll * 2, longest)

    async def _watch_spool(self, writer: Sink) -> None:
        # The disk may fail while the child is quiet: act then, not at its next output.
        await writer.wait_failed()
        if not self._spool_failed:
            self._spool_failed = True
            self._on_spool_error()

    def _on_spool_error(self) -> None:
        writer = self._spool_writer
        assert writer is not None
        assert self.options.spool is not None
        if self.options.spool.on_disk_error == "stop":
            log.error("pid %d: stopping the run: %s", self.pid, writer.error)
            self._kill(Reason.SPOOL_ERROR)
        else:
            log.warning("pid %d: going on unspooled: %s", self.pid, writer.error)

    async def _feed_stdin(self, fd: int) -> None:
        source = self.options.stdin
        try:
            if isinstance(source, bytes):
                await self._write_all(fd, source)
            elif source is not None and not isinstance(source, int):
                async for block in source:
                    await self._write_all(fd, block)
        except BrokenPipeError:
            log.info("pid %d closed its stdin before all input was written", self.pid)
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)
            with contextlib.suppress(ValueError):
                self._fds.remove(fd)

    @staticmethod
    async def _write_all(fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(fd, view)
            except BlockingIOError:
                await anyio.wait_writable(fd)
                continue
            view = view[written:]

    async def _watch_limits(self) -> None:
        """Kill on the total timeout, the idle timeout or the memory ceiling, whichever is first."""
        opts = self.options
        deadline = self._t0 + opts.timeout if opts.timeout is not None else math.inf
        while True:
            now = time.monotonic()
            if now >= deadline:
                self._kill(Reason.TIMEOUT)
                return

            idle_deadline = math.inf
            # Neither a paused child nor one waiting for a slow consumer is idle (nor one held
            # by the spool's quota for a slow reader: the pump, not the child, stopped).
            if (
                opts.idle_timeout is not None
                and self._paused_at is None
                and not self._buffer.blocked
                and not (self._spool_writer is not None and self._spool_writer.held)
            ):
                idle_deadline = self._last_output + opts.idle_timeout
                if now >= idle_deadline:
                    self._kill(Reason.IDLE_TIMEOUT)
                    return
            # Re-check at least every second: output and pause/resume move the idle deadline.
            wake = min(deadline, idle_deadline, now + 1.0)
            with anyio.move_on_after(max(0.0, wake - now)):
                await self._monitor.tripped.wait()
                self._kill(Reason.MEMORY_LIMIT)
                return
