"""The spool side of the ``ccstream`` command line.

``ccstream run --spool DIR ...`` keeps the run's spool in DIR; ``page``, ``tail`` and ``follow``
read one, after the run or from another terminal while it is written; ``prune`` removes old ones.
Lines and frames go to stdout (``follow`` sends stderr frames to stderr); notes about gaps and
where a page ends go to stderr, each line starting with ``ccstream:``. ``follow`` (and ``tail
-f``) ends when the run ends, with the status ``ccstream run`` gave it (see
:mod:`ccstream._exit_status`). With stdout closed (``| head``) every verb stops quietly with
status 141, as a writer killed by SIGPIPE.

``page`` and ``tail`` print whole lines, byte for byte as the spool holds them, however long: they
read pages of at most :data:`~ccstream.spool.PAGE_BYTES` and copy the rest of a longer
line from the spool to stdout in blocks of :data:`_COPY_BLOCK`, so memory stays bounded (about
2 MiB) even for a line of gigabytes. Should the quota drop part of such a line while it is being
copied, stderr says how many bytes are missing from where, and the exit status is 1.

The spool package is imported by the verbs that read one, not by the parser: ``ccstream run``
without ``--spool`` never loads it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio

from ._duration import duration
from ._events import STREAMS, Gap, Output, Result, StreamName
from ._exit_status import describe_end, exit_status
from ._options import SpoolOptions

if TYPE_CHECKING:
    from .spool import CutLine, Page, Spool

__all__ = [
    "EXIT_BROKEN_PIPE",
    "SPOOL_VERBS",
    "add_run_options",
    "add_spool_commands",
    "format_spool_stats",
    "gap_note",
    "note",
    "run_spool_command",
    "silence",
    "spool_options",
    "write_all",
]

SPOOL_VERBS = frozenset({"page", "tail", "follow", "prune"})

EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE
"""Our stdout was closed (``| head``): the status of a writer killed by SIGPIPE."""

_COPY_BLOCK = 1024 * 1024
"""Bytes per read when copying the rest of a cut line to stdout."""


def silence(fd: int) -> None:
    """After a broken pipe on ``fd`` (our stdout or stderr): point it at /dev/null, so that
    nothing written to it later (the interpreter's last flush included) fails or complains."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def add_run_options(run: argparse.ArgumentParser, size: Callable[[str], int]) -> None:
    """``--spool`` and its companions for ``ccstream run``; ``size`` parses sizes."""
    run.add_argument("--spool", metavar="DIR", help="keep every byte of output in a spool here")
    run.add_argument(
        "--spool-quota", type=size, metavar="SIZE", help="disk budget of the spool (default none)"
    )
    run.add_argument(
        "--spool-segment-size",
        type=size,
        default=64 * 1024 * 1024,
        metavar="SIZE",
        help="size of the spool's files, the unit the quota drops (default 64M)",
    )
    run.add_argument(
        "--on-disk-error",
        choices=["stop", "continue"],
        default="stop",
        help="when the spool cannot be written: stop the run (default) or go on unspooled",
    )


def spool_options(args: argparse.Namespace) -> SpoolOptions | None:
    if args.spool is None:
        return None
    return SpoolOptions(
        directory=args.spool,
        keep=True,
        quota=args.spool_quota,
        segment_size=args.spool_segment_size,
        on_disk_error=args.on_disk_error,
    )


def add_spool_commands(sub: Any) -> None:
    """The ``page``, ``tail``, ``follow`` and ``prune`` subcommands."""
    streams = "stdout or stderr"
    page = sub.add_parser("page", help="print lines of a spool from a line number")
    page.add_argument("dir", metavar="DIR", help="the spool directory")
    page.add_argument("--stream", choices=STREAMS, default="stdout", help=f"{streams} (stdout)")
    page.add_argument(
        "--from",
        dest="first",
        type=int,
        default=0,
        metavar="LINE",
        help="the first line, counted from 0",
    )
    page.add_argument(
        "--lines", "-n", type=int, default=100, metavar="N", help="how many lines (100)"
    )

    tail = sub.add_parser(
        "tail", help="print the last lines of a spool; with -f, then follow it live"
    )
    tail.add_argument("dir", metavar="DIR", help="the spool directory")
    tail.add_argument("--stream", choices=STREAMS, default="stdout", help=f"{streams} (stdout)")
    tail.add_argument("-n", "--lines", type=int, default=10, metavar="N", help="how many (10)")
    tail.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="then print what follows until the run ends, and exit with its status",
    )

    follow = sub.add_parser(
        "follow", help="print a spool's output, then follow it live until its run ends"
    )
    follow.add_argument("dir", metavar="DIR", help="the spool directory")
    follow.add_argument("--stream", choices=STREAMS, help="only this stream (default both)")
    start = follow.add_mutually_exclusive_group()
    start.add_argument(
        "--offset", type=int, default=0, metavar="BYTE", help="start at this byte of each stream"
    )
    start.add_argument(
        "--tail",
        type=int,
        metavar="N",
        help="start at the last N lines of each stream known now (0: only what follows)",
    )

    prune = sub.add_parser("prune", help="remove kept spools older than an age")
    prune.add_argument(
        "dir", nargs="?", metavar="DIR", help="directory holding spools (default: temp dir)"
    )
    prune.add_argument(
        "--older-than",
        type=duration,
        required=True,
        metavar="DURATION",
        help="remove spools whose run ended longer ago than this (7d, 12h, 30m...)",
    )


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (``os.write`` may take part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def note(text: str) -> None:
    """Say ``text`` on stderr as ``ccstream: text``."""
    sys.stderr.write(f"ccstream: {text}\n")
    sys.stderr.flush()


def gap_note(gap: Gap) -> str:
    """``gap`` told in words: its stream, bytes, lines, why and where."""
    why = "dropped by the disk quota" if gap.reason == "quota" else f"not spooled ({gap.reason})"
    return f"[{gap.stream}: {gap.bytes} bytes, {gap.lines} lines {why}, from byte {gap.offset}]"


async def _copy_rest(out: int, spool: Spool, stream: StreamName, cut: CutLine) -> int:
    """Write the bytes of a cut line the page left out; return how many could not be read."""
    pos, end = cut.rest_offset, cut.rest_offset + cut.omitted
    while pos < end:
        data = await spool.read(stream, pos, min(_COPY_BLOCK, end - pos))
        if not data:
            return end - pos
        write_all(out, data)
        pos += len(data)
    return 0


async def _print_pages(
    spool: Spool, stream: StreamName, page: Page, count: int
) -> tuple[Page, int, int]:
    """Print ``page`` and the pages after it until ``count`` lines are printed, the next lines
    are not there (yet) or a gap comes; every line whole. Returns the last page read, the lines
    printed and how many bytes of them could not be read (0 when none were lost)."""
    sys.stdout.flush()
    out = sys.stdout.fileno()
    printed = lost = 0
    while True:
        for gap in page.gaps:
            note(gap_note(gap))
        cuts = {cut.line: cut for cut in page.cuts}
        for k, line in enumerate(page.lines, page.first_line):
            write_all(out, line)
            cut = cuts.get(k)
            if cut is not None:
                missing = await _copy_rest(out, spool, stream, cut)
                if missing:
                    lost += missing
                    note(
                        f"[{stream} line {k}: {missing} bytes from byte "
                        f"{cut.rest_offset + cut.omitted - missing} were dropped by the disk "
                        "quota while printing]"
                    )
        printed += len(page.lines)
        if printed >= count or not page.lines or page.complete:
            return page, printed, lost
        page = await spool.page(page.next_line, count - printed, stream)


def _open(directory: str) -> Spool:
    from .spool import Spool

    return Spool.open(directory)


async def _page(args: argparse.Namespace) -> int:
    stream: StreamName = args.stream
    first = args.first
    with _open(args.dir) as spool:
        first_page = await spool.page(first, args.lines, stream)
        page, printed, lost = await _print_pages(spool, stream, first_page, args.lines)
        ended = spool.complete
    state = "the run ended" if ended else "the run goes on"
    start = page.next_line - printed if page.lines else page.first_line - printed
    last = f"{start}-{start + printed - 1}" if printed else "none"
    note(
        f"{stream} lines {last} of {page.known_lines} known ({state}); "
        f"next: --from {page.next_line}"
    )
    return 1 if lost else 0


async def _tail(args: argparse.Namespace) -> int:
    stream: StreamName = args.stream
    if args.follow:
        return await _follow_from(args.dir, (stream,), tail=args.lines, offset=0)
    with _open(args.dir) as spool:
        page = await spool.tail(args.lines, stream)
        _, _, lost = await _print_pages(spool, stream, page, page.known_lines - page.first_line)
    return 1 if lost else 0


async def _tail_offset(spool: Spool, stream: StreamName, count: int) -> int:
    """The byte offset where the last ``count`` lines of ``stream`` known now begin (after a gap
    the quota left there), or the end of what is written for 0."""
    if count == 0:
        return spool.sizes[stream]
    # A page of one byte holds only its first line, cut: its offset, without reading the line.
    page = await spool.tail(count, stream, max_bytes=1)
    if page.cuts:
        return page.cuts[0].offset
    if page.lines:
        return page.next_offset - len(page.lines[0])
    return page.next_offset


async def _follow_from(
    directory: str, streams: tuple[StreamName, ...], *, tail: int | None, offset: int
) -> int:
    """Print ``streams`` of the spool in ``directory`` from byte ``offset`` of each, or from the
    last ``tail`` lines of each, until the run ends; return the run's status."""
    fds = {"stdout": sys.stdout.fileno(), "stderr": sys.stderr.fileno()}
    sys.stdout.flush()
    lost = False
    with _open(directory) as spool:
        if tail is None:
            offsets = {s: offset for s in streams}
        else:
            offsets = {s: await _tail_offset(spool, s, tail) for s in streams}
        async for event in spool.follow(offsets, streams=streams):
            if isinstance(event, Output):
                write_all(fds[event.stream], event.data)
            else:
                lost = True
                note(gap_note(event))
        returncode, reason, error = spool.returncode, spool.reason, spool.error
    return _end_status(returncode, reason, error, lost=lost)


def _end_status(
    returncode: int | None, reason: str | None, error: str | None, *, lost: bool
) -> int:
    """The status of a followed run from the table of :mod:`ccstream._exit_status`, with the
    line ``ccstream run`` prints for it; 255 when the spool does not say how the run ended (its
    writer died)."""
    reason = reason or "unknown"
    end = describe_end(reason, returncode, error=error)
    if end is not None:
        note(end)
    elif error:
        note(error)
    return exit_status(reason, returncode, lost=lost)


async def _follow(args: argparse.Namespace) -> int:
    streams: tuple[StreamName, ...] = (args.stream,) if args.stream else STREAMS
    return await _follow_from(args.dir, streams, tail=args.tail, offset=args.offset)


def _prune(args: argparse.Namespace) -> int:
    from .spool import prune_spools

    for path in prune_spools(args.dir, older_than=args.older_than):
        print(path)
    return 0


def run_spool_command(args: argparse.Namespace) -> int:
    """Run one of :data:`SPOOL_VERBS`; return the exit status."""
    verbs = {"page": _page, "tail": _tail, "follow": _follow}
    try:
        if args.verb in verbs:
            return anyio.run(verbs[args.verb], args)
        return _prune(args)
    except BrokenPipeError:
        # Our reader is gone (``| head``): stop quietly, as a writer killed by SIGPIPE would.
        silence(sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def format_spool_stats(result: Result) -> list[str]:
    """The spool lines of ``ccstream run --stats``."""
    if result.spool_path is None:
        return []
    lines = [f"spool: {result.spool_path}"]
    lines += [f"spool gap: {gap_note(gap)}" for gap in result.gaps]
    if result.spool_error:
        lines.append(f"spool error: {result.spool_error}; {result.unspooled_bytes} bytes unspooled")
    return lines
