"""The ``ccstream`` command line: ``ccstream run [options] -- CMD...``.

The child's stdout and stderr go to ours, live, and we exit with the child's status (128+N when it
died of signal N), as a shell would, or with a status of our own when the run did not simply exit
or output was lost (see :mod:`ccstream._exit_status` and ``run --help``). With ``--spool DIR``
every byte is also kept in a spool, which ``ccstream page``, ``tail`` and ``follow`` read (see
:mod:`ccstream._cli_spool`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Sequence

import anyio

from ._cli_search import add_search_command, run_search_command
from ._cli_spool import (
    SPOOL_VERBS,
    add_run_options,
    add_spool_commands,
    format_spool_stats,
    run_spool_command,
    spool_options,
)
from ._events import Gap, Output, Reason, Result
from ._exit_status import EXIT_OUTPUT_LOST, describe_end, describe_loss, exit_status
from ._options import ChunkMode, Options, ResourceLimits
from ._stream import Run, stream
from .exceptions import CCStreamError, CommandNotFound, NotExecutable

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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ccstream", description=__doc__)
    sub = parser.add_subparsers(dest="verb", required=True)
    run = sub.add_parser(
        "run",
        help="run a command and stream its output",
        epilog=_RUN_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("argv", nargs="*", help="the command and its arguments (after --)")
    run.add_argument("-c", "--command", help="a shell string to run instead of argv")
    run.add_argument("--shell", default="/bin/sh", help="the shell for -c (default /bin/sh)")
    run.add_argument("--cwd", help="working directory")
    run.add_argument("--env", type=env_pair, action="append", default=[], metavar="NAME=VALUE")
    run.add_argument("--no-unbuffered", action="store_true", help="do not set PYTHONUNBUFFERED=1")
    run.add_argument("--timeout", type=float, help="total timeout, seconds")
    run.add_argument("--idle-timeout", type=float, help="kill after this many seconds of silence")
    run.add_argument("--kill-grace", type=float, default=2.0, help="SIGTERM to SIGKILL, seconds")
    run.add_argument("--memory-limit", type=parse_size, help="ceiling on the child tree's RSS")
    run.add_argument("--rlimit-as", type=parse_size, help="address space limit (RLIMIT_AS)")
    run.add_argument("--rlimit-cpu", type=int, help="CPU time limit, seconds (RLIMIT_CPU)")
    run.add_argument("--rlimit-fsize", type=parse_size, help="file size limit (RLIMIT_FSIZE)")
    run.add_argument("--rlimit-nofile", type=int, help="open files limit (RLIMIT_NOFILE)")
    run.add_argument("--mode", choices=["binary", "text", "lines"], default="binary")
    run.add_argument("--chunk-size", type=parse_size, default=64 * 1024)
    run.add_argument("--no-line-count", action="store_true", help="skip counting lines (faster)")
    run.add_argument("--stats", action="store_true", help="print a summary to stderr at the end")
    add_run_options(run, parse_size)
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
  141      our stdout was closed (| head) and the command was stopped
  127, 126 the command was not found, or is not executable; 2: a usage error
A command that exited non-zero keeps its status when output was also lost. Every status that is
ccstream's own comes with a line on stderr saying what happened, and every loss (bytes and lines
per stream, and why) with one line of its own.
"""


def _options(args: argparse.Namespace) -> Options:
    mode: ChunkMode = args.mode
    return Options(
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
        count_lines=not args.no_line_count,
        spool=spool_options(args),
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
    with contextlib.suppress(BrokenPipeError):  # with our stderr gone there is no one to tell
        sys.stderr.write(f"ccstream: {text}\n")
        sys.stderr.flush()


def _losses(gaps: list[Gap]) -> list[str]:
    """One line per stream and reason for the output that never reached us."""
    totals: dict[tuple[str, str], list[int]] = {}
    for gap in gaps:
        entry = totals.setdefault((gap.stream, gap.reason), [0, 0, 0])
        entry[0] += gap.bytes
        entry[1] += gap.lines
        entry[2] += 1
    return [
        describe_loss(stream, size, lines, reason, gaps=count)
        for (stream, reason), (size, lines, count) in sorted(totals.items())
    ]


def _status(args: argparse.Namespace, result: Result, gaps: list[Gap], stop: dict[str, int]) -> int:
    """Tell on stderr what the child's status alone does not say; return our exit status."""
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


async def _run(args: argparse.Namespace) -> int:
    command: str | list[str] = args.command if args.command is not None else args.argv
    if not command:
        print("ccstream run: give a command after --, or -c STRING", file=sys.stderr)
        return 2
    fds = {"stdout": sys.stdout.fileno(), "stderr": sys.stderr.fileno()}
    sys.stdout.flush()
    gaps: list[Gap] = []
    stop: dict[str, int] = {}
    async with stream(command, _options(args)) as running, anyio.create_task_group() as tg:
        # The child runs in its own session, so a signal meant for us would not reach it: pass
        # the end on by cancelling the run, which kills its whole process group.
        tg.start_soon(_cancel_on_signals, running, stop)
        async for event in running:
            if isinstance(event, Output):
                try:
                    _write(fds[event.stream], event.data)
                except BrokenPipeError:
                    # Our reader is gone (``| head``): nobody sees the rest, so stop the child.
                    if "status" not in stop:
                        stop["status"] = 128 + signal.SIGPIPE
                        _note(f"our {event.stream} was closed; stopping the child")
                    running.cancel()
            elif isinstance(event, Gap):
                gaps.append(event)
        tg.cancel_scope.cancel()
    result = running.result
    if args.stats:
        sys.stderr.write(format_stats(result))
    return _status(args, result, gaps, stop)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ccstream`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.verb == "search":
            return run_search_command(args)
        if args.verb in SPOOL_VERBS:
            return run_spool_command(args)
        return anyio.run(_run, args)
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
