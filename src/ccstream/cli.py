"""The ``ccstream`` command line: ``ccstream run [options] CMD [ARG...]``.

The child's stdout and stderr go to ours, live, our stdin is its stdin, and we exit with the
child's status (128+N when it died of signal N), as a shell would, or with a status of our own
when the run did not simply exit or output was lost (see :mod:`ccstream._exit_status` and ``run
--help``). With ``--spool DIR`` every byte is also kept in a spool, which ``ccstream page``,
``tail`` and ``follow`` read (see :mod:`ccstream._cli_spool`). Imports are kept to what a run
needs (no spool, compressor or selector for a run without them): the command's start-up time is
mostly the interpreter's and anyio's.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio

from ._cli_search import add_search_command, run_search_command
from ._cli_spool import (
    EXIT_BROKEN_PIPE,
    SPOOL_VERBS,
    add_run_options,
    add_spool_commands,
    format_spool_stats,
    run_spool_command,
    silence,
    spool_options,
)
from ._cli_terminal import add_terminal_options, follow_window, terminal_options
from ._duration import DURATION_HELP, duration
from ._events import Gap, Output, Reason, Result, gap_totals
from ._exit_status import EXIT_OUTPUT_LOST, describe_end, describe_loss, exit_status
from ._options import ChunkMode, Options, ResourceLimits, Stdin
from ._version import __version__
from .exceptions import CCStreamError, CommandNotFound, NotExecutable

if TYPE_CHECKING:
    from ._stream import Run

__all__ = ["env_pair", "main", "parse_size"]

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str) -> int:
    """``"512"``, ``"64K"``, ``"8M"``, ``"2G"`` (binary units, optional trailing ``B``/``iB``)."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = t[-1:] if t[-1:] in _UNITS and t[-1:] else ""
    number = t[: len(t) - len(unit)]
    try:
        value = float(number) * _UNITS[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive: {text!r}")
    return int(value)


def env_pair(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` as a pair (an argparse ``type``)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return key, value


_DESCRIPTION = f"""\
Run a command and stream its output live, in flat memory, with limits, timeouts and an honest
exit status; keep every byte in a spool and read it back (page, tail, follow, prune).
Durations: a number of seconds or units together, largest first ({DURATION_HELP}).
Sizes: a number with an optional K, M, G or T (binary units).
"""


def _cpu_seconds(text: str) -> int:
    """A duration rounded up to whole seconds, as RLIMIT_CPU counts (an argparse ``type``)."""
    return math.ceil(duration(text))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ccstream",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"ccstream {__version__}", help="print the version"
    )
    sub = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="run a command and stream its output",
        usage="ccstream run [options] CMD [ARG...]\n       ccstream run [options] -c STRING",
        description="Run CMD with our stdin as its stdin; its stdout and stderr go to ours, live.\n"
        "Options of ccstream come first: the first word that is not one starts the command\n"
        "(a -- before it also works).",
        epilog=_RUN_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "argv",
        nargs=argparse.REMAINDER,
        metavar="CMD [ARG...]",
        help="the command and its arguments, passed as they are",
    )
    run.add_argument("-c", "--command", metavar="STRING", help="a shell string to run instead")
    run.add_argument("--shell", default="/bin/sh", help="the shell for -c (default /bin/sh)")
    run.add_argument("--cwd", metavar="DIR", help="run the command in DIR")
    run.add_argument(
        "--env",
        type=env_pair,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a variable in the command's environment (repeatable)",
    )
    run.add_argument("--no-unbuffered", action="store_true", help="do not set PYTHONUNBUFFERED=1")
    run.add_argument(
        "--no-stdin", action="store_true", help="give the command /dev/null as stdin, not ours"
    )
    run.add_argument(
        "--timeout", type=duration, metavar="DURATION", help="stop the command after this long"
    )
    run.add_argument(
        "--idle-timeout",
        type=duration,
        metavar="DURATION",
        help="stop the command after this long without output",
    )
    run.add_argument(
        "--kill-grace",
        type=duration,
        default=2.0,
        metavar="DURATION",
        help="from SIGTERM to SIGKILL when stopping the command (default 2s)",
    )
    run.add_argument(
        "--memory-limit",
        type=parse_size,
        metavar="SIZE",
        help="stop the command when its process tree's RSS goes over SIZE",
    )
    run.add_argument(
        "--rlimit-as", type=parse_size, metavar="SIZE", help="address space limit (RLIMIT_AS)"
    )
    run.add_argument(
        "--rlimit-cpu",
        type=_cpu_seconds,
        metavar="DURATION",
        help="CPU time limit, whole seconds (RLIMIT_CPU)",
    )
    run.add_argument(
        "--rlimit-fsize", type=parse_size, metavar="SIZE", help="file size limit (RLIMIT_FSIZE)"
    )
    run.add_argument(
        "--rlimit-nofile", type=int, metavar="N", help="open files limit (RLIMIT_NOFILE)"
    )
    run.add_argument(
        "--mode",
        choices=["binary", "text", "lines"],
        default="binary",
        help="how output is cut into frames (default binary; text and lines never split a "
        "UTF-8 character)",
    )
    run.add_argument(
        "--chunk-size",
        type=parse_size,
        default=64 * 1024,
        metavar="SIZE",
        help="the largest frame (default 64K)",
    )
    run.add_argument(
        "--no-line-count", action="store_true", help="with --stats: do not count lines (faster)"
    )
    run.add_argument(
        "--stats",
        action="store_true",
        help="print a summary to stderr at the end (bytes, lines, time, memory)",
    )
    add_run_options(run, parse_size)
    add_terminal_options(run)
    add_spool_commands(sub)
    add_search_command(sub)
    return parser


_RUN_STATUS = """\
exit status:
  N        the command exited with N and all of its output arrived
  128+N    the command was killed by signal N (not sent by ccstream)
  124      the total or idle timeout ran out, whatever the command exited with
  251      the command exited 0 but output was lost (a gap in the spool it was read from)
  252      the run was stopped: its spool could not be written (--on-disk-error stop)
  253      the command's process tree went over --memory-limit
  128+S    ccstream got signal S (SIGINT, SIGTERM, SIGHUP) and stopped the command
  141      our stdout was closed (| head): the command was stopped, quietly, as a writer
           killed by SIGPIPE would be
  127, 126 the command was not found, or is not executable; 2: a usage error
A command that exited non-zero keeps its status when output was also lost. Every other status
that is ccstream's own comes with a line on stderr saying what happened, and every loss (bytes
and lines per stream, and why) with one line of its own.
"""


def _stdin(args: argparse.Namespace) -> Stdin:
    """Our stdin for the child, as ``timeout`` and ``nice`` pass it on; /dev/null when it is
    closed or ``--no-stdin`` says so."""
    if args.no_stdin:
        return None
    try:
        os.fstat(0)
    except OSError:
        return None
    return 0


def _options(args: argparse.Namespace) -> Options:
    mode: ChunkMode = args.mode
    return Options(
        stdin=_stdin(args),
        shell=args.shell,
        cwd=args.cwd,
        env=dict(args.env) or None,
        unbuffered=not args.no_unbuffered,
        timeout=args.timeout,
        idle_timeout=args.idle_timeout,
        kill_grace=args.kill_grace,
        memory_limit=args.memory_limit,
        limits=ResourceLimits(
            address_space=args.rlimit_as,
            cpu_time=args.rlimit_cpu,
            file_size=args.rlimit_fsize,
            open_files=args.rlimit_nofile,
        ),
        mode=mode,
        chunk_size=args.chunk_size,
        # Lines are counted only to be shown: the count is the read path's largest cost.
        count_lines=args.stats and not args.no_line_count,
        spool=spool_options(args),
        **terminal_options(args),
    )


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _lines(count: int | None) -> str:
    return "lines not counted" if count is None else f"{count} lines"


def format_stats(result: Result) -> str:
    """The ``--stats`` summary: one ``key: value`` line each."""
    mb = 1024 * 1024
    total = result.stdout.bytes + result.stderr.bytes
    rate = total / mb / result.duration if result.duration > 0 else 0.0
    status = (
        f"exit code {result.exit_code}"
        if result.exit_code is not None
        else f"signal {result.signal} ({result.signal_name})"
    )
    tree = "unknown" if result.peak_rss_tree is None else f"{result.peak_rss_tree / mb:.1f} MiB"
    lines = [
        f"status: {status}, reason: {result.reason.value}"
        + (", descendants holding the pipes were killed" if result.lingering_killed else "")
        + (
            f", {result.escaped_killed} processes outside its group were killed"
            if result.escaped_killed
            else ""
        ),
        f"stdout: {result.stdout.bytes} bytes, {_lines(result.stdout.lines)}",
        f"stderr: {result.stderr.bytes} bytes, {_lines(result.stderr.lines)}",
        f"duration: {result.duration:.3f} s, {rate:.1f} MiB/s",
        f"host RSS: start {result.host_rss_start / mb:.1f} MiB, peak "
        f"{result.peak_rss_host / mb:.1f} MiB "
        f"(delta {(result.peak_rss_host - result.host_rss_start) / mb:+.1f} MiB)",
        f"child tree peak RSS: {tree}",
        *format_spool_stats(result),
    ]
    return "".join(f"ccstream: {line}\n" for line in lines)


async def _cancel_on_signals(running: Run, stop: dict[str, int]) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        async for signum in signals:
            print(
                f"ccstream: got {signal.Signals(signum).name}, stopping the child", file=sys.stderr
            )
            stop.setdefault("status", 128 + signum)
            running.cancel()


def _note(text: str) -> None:
    # With our stderr gone (a broken pipe, or closed from the start) there is no one to tell.
    with contextlib.suppress(BrokenPipeError, AttributeError):
        sys.stderr.write(f"ccstream: {text}\n")
        sys.stderr.flush()


def _losses(gaps: list[Gap]) -> list[str]:
    """One line per stream and reason for the output that never reached us."""
    return [
        describe_loss(stream, size, lines, reason, gaps=count)
        for (stream, reason), (size, lines, count) in sorted(gap_totals(gaps).items())
    ]


def _status(args: argparse.Namespace, result: Result, gaps: list[Gap], stop: dict[str, int]) -> int:
    """Tell on stderr what the child's status alone does not say; return our exit status."""
    if stop.get("status") == EXIT_BROKEN_PIPE:
        return EXIT_BROKEN_PIPE  # nobody reads what we would say: quiet, as SIGPIPE's victims are
    for line in _losses(gaps):
        _note(line)
    if result.spool_error and result.reason is not Reason.SPOOL_ERROR:
        # --on-disk-error continue: what was printed here is whole, the spool is not.
        _note(f"the spool lacks {result.unspooled_bytes} bytes: {result.spool_error}")
    reason = result.reason.value
    end = describe_end(
        reason,
        result.returncode,
        timeout=args.timeout,
        idle_timeout=args.idle_timeout,
        error=result.spool_error,
    )
    if end is not None:
        _note(end)
    if result.reason is Reason.CANCELLED and "status" in stop:
        return stop["status"]  # a shell's status for the signal that stopped us, or SIGPIPE's
    status = exit_status(reason, result.returncode, lost=bool(gaps))
    if end is None and status == EXIT_OUTPUT_LOST:
        _note(f"the command exited 0 but output was lost: exit status {EXIT_OUTPUT_LOST}")
    return status


def _command(args: argparse.Namespace) -> str | list[str] | None:
    """The shell string or argv to run, ``None`` after telling what is wrong (a usage error)."""
    argv: list[str] = args.argv
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if args.command is not None:
        if argv:
            print("ccstream run: give either -c STRING or a command, not both", file=sys.stderr)
            return None
        return str(args.command)
    if not argv:
        print(
            "ccstream run: give a command (ccstream run [options] CMD) or -c STRING",
            file=sys.stderr,
        )
        return None
    return argv


async def _run(args: argparse.Namespace, command: str | list[str]) -> int:
    from ._stream import stream  # here: building the parser for --help needs none of it

    fds = {"stdout": sys.stdout.fileno(), "stderr": sys.stderr.fileno()}
    sys.stdout.flush()
    gaps: list[Gap] = []
    stop: dict[str, int] = {}
    async with stream(command, _options(args)) as running, anyio.create_task_group() as tg:
        # The child runs in its own session, so a signal meant for us would not reach it: pass
        # the end on by cancelling the run, which kills its whole process group.
        tg.start_soon(_cancel_on_signals, running, stop)
        tg.start_soon(follow_window, running, args)
        async for event in running:
            if isinstance(event, Output):
                try:
                    _write(fds[event.stream], event.data)
                except BrokenPipeError:
                    # Our reader is gone (``| head``): nobody sees the rest, so stop the child,
                    # and say nothing, as a writer killed by SIGPIPE would; 141 tells.
                    silence(fds[event.stream])  # the rest of it goes nowhere, without a word
                    stop.setdefault("status", EXIT_BROKEN_PIPE)
                    running.cancel()
            elif isinstance(event, Gap):
                gaps.append(event)
        tg.cancel_scope.cancel()
    result = running.result
    if args.stats:
        sys.stderr.write(format_stats(result))
    return _status(args, result, gaps, stop)


def _closed_standard_fds() -> list[str]:
    """Put /dev/null on each of fds 0-2 that is closed, so that no file opened later takes its
    number (the child would read our event loop as its stdin); return the names of those that
    were closed."""
    closed = []
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            closed.append(name)
            os.dup2(null := os.open(os.devnull, os.O_RDWR), fd)
            if null != fd:
                os.close(null)
    return closed


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ccstream`` command; returns the exit status."""
    closed = _closed_standard_fds()
    args = _parser().parse_args(argv)
    for name in ("stdout", "stderr"):
        if name in closed:
            # A run's output would have nowhere to go: a usage error, as ``echo hi >&-`` fails.
            _note(f"{name} is closed: the output would have nowhere to go")
            return 2
    try:
        if args.verb == "search":
            return run_search_command(args)
        if args.verb in SPOOL_VERBS:
            return run_spool_command(args)
        command = _command(args)
        if command is None:
            return 2
        return anyio.run(_run, args, command)
    except CCStreamError as exc:
        print(f"ccstream: {exc}", file=sys.stderr)
        # The statuses a shell uses: 127 not found, 126 not executable, 2 for usage errors.
        if isinstance(exc, CommandNotFound):
            return 127
        return 126 if isinstance(exc, NotExecutable) else 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
