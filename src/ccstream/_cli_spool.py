"""The spool side of the ``ccstream`` command line.

``ccstream run --spool DIR ...`` keeps the run's spool in DIR; ``page``, ``tail`` and ``follow``
read one, after the run or from another terminal while it is written; ``prune`` removes old ones.
Lines and frames go to stdout (``follow`` sends stderr frames to stderr); notes about gaps and
where a page ends go to stderr, each line starting with ``ccstream:``.

``page`` and ``tail`` print whole lines, byte for byte as the spool holds them, however long: they
read pages of at most :data:`~ccstream.spool.PAGE_BYTES` and copy the rest of a longer
line from the spool to stdout in blocks of :data:`_COPY_BLOCK`, so memory stays bounded (about
2 MiB) even for a line of gigabytes. Should the quota drop part of such a line while it is being
copied, stderr says how many bytes are missing from where, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

import anyio

from ._events import STREAMS, Gap, Output, Result, StreamName
from ._options import SpoolOptions
from .spool import CutLine, Page, Spool, prune_spools

__all__ = [
    "SPOOL_VERBS",
    "add_run_options",
    "add_spool_commands",
    "format_spool_stats",
    "run_spool_command",
    "spool_options",
]

SPOOL_VERBS = frozenset({"page", "tail", "follow", "prune"})

_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_COPY_BLOCK = 1024 * 1024
"""Bytes per read when copying the rest of a cut line to stdout."""


def parse_age(text: str) -> float:
    """``"90"`` or ``"90s"``, ``"30m"``, ``"12h"``, ``"7d"``: seconds."""
    t = text.strip().lower()
    unit = _AGE_UNITS.get(t[-1:], 0)
    number = t[:-1] if unit else t
    try:
        value = float(number) * (unit or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an age: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"age must not be negative: {text!r}")
    return value


def add_run_options(run: argparse.ArgumentParser, size: Callable[[str], int]) -> None:
    """``--spool`` and its companions for ``ccstream run``; ``size`` parses sizes."""
    run.add_argument("--spool", metavar="DIR", help="keep every byte of output in a spool here")
    run.add_argument("--spool-quota", type=size, metavar="SIZE", help="disk budget of the spool")
    run.add_argument("--spool-segment-size", type=size, default=64 * 1024 * 1024, metavar="SIZE")
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
    page = sub.add_parser("page", help="print lines of a spool from a line number")
    page.add_argument("dir", help="the spool directory")
    page.add_argument("--stream", choices=STREAMS, default="stdout")
    page.add_argument("--from", dest="first", type=int, default=0, metavar="LINE")
    page.add_argument("--lines", "-n", type=int, default=100, metavar="N")

    tail = sub.add_parser("tail", help="print the last lines of a spool")
    tail.add_argument("dir", help="the spool directory")
    tail.add_argument("--stream", choices=STREAMS, default="stdout")
    tail.add_argument("-n", "--lines", type=int, default=10, metavar="N")

    follow = sub.add_parser(
        "follow", help="print a spool's output, then follow it live until its run ends"
    )
    follow.add_argument("dir", help="the spool directory")
    follow.add_argument("--stream", choices=STREAMS, help="only this stream")
    follow.add_argument("--offset", type=int, default=0, help="start at this byte of the stream")

    prune = sub.add_parser("prune", help="remove kept spools older than an age")
    prune.add_argument("dir", nargs="?", help="directory holding spools (default: temp dir)")
    prune.add_argument("--older-than", type=parse_age, required=True, metavar="AGE")


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _note(text: str) -> None:
    sys.stderr.write(f"ccstream: {text}\n")
    sys.stderr.flush()


def _gap_note(gap: Gap) -> str:
    why = "dropped by the disk quota" if gap.reason == "quota" else f"not spooled ({gap.reason})"
    return f"[{gap.stream}: {gap.bytes} bytes, {gap.lines} lines {why}, from byte {gap.offset}]"


async def _copy_rest(out: int, spool: Spool, stream: StreamName, cut: CutLine) -> int:
    """Write the bytes of a cut line the page left out; return how many could not be read."""
    pos, end = cut.rest_offset, cut.rest_offset + cut.omitted
    while pos < end:
        data = await spool.read(stream, pos, min(_COPY_BLOCK, end - pos))
        if not data:
            return end - pos
        _write(out, data)
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
            _note(_gap_note(gap))
        cuts = {cut.line: cut for cut in page.cuts}
        for k, line in enumerate(page.lines, page.first_line):
            _write(out, line)
            cut = cuts.get(k)
            if cut is not None:
                missing = await _copy_rest(out, spool, stream, cut)
                if missing:
                    lost += missing
                    _note(
                        f"[{stream} line {k}: {missing} bytes from byte "
                        f"{cut.rest_offset + cut.omitted - missing} were dropped by the disk "
                        "quota while printing]"
                    )
        printed += len(page.lines)
        if printed >= count or not page.lines or page.complete:
            return page, printed, lost
        page = await spool.page(page.next_line, count - printed, stream)


async def _page(args: argparse.Namespace) -> int:
    stream: StreamName = args.stream
    first = args.first
    with Spool.open(args.dir) as spool:
        try:
            first_page = await spool.page(first, args.lines, stream)
            page, printed, lost = await _print_pages(spool, stream, first_page, args.lines)
        except BrokenPipeError:
            return 0
        ended = spool.complete
    state = "the run ended" if ended else "the run goes on"
    start = page.next_line - printed if page.lines else page.first_line - printed
    last = f"{start}-{start + printed - 1}" if printed else "none"
    _note(
        f"{stream} lines {last} of {page.known_lines} known ({state}); "
        f"next: --from {page.next_line}"
    )
    return 1 if lost else 0


async def _tail(args: argparse.Namespace) -> int:
    stream: StreamName = args.stream
    with Spool.open(args.dir) as spool:
        page = await spool.tail(args.lines, stream)
        try:
            _, _, lost = await _print_pages(spool, stream, page, page.known_lines - page.first_line)
        except BrokenPipeError:
            return 0
    return 1 if lost else 0


async def _follow(args: argparse.Namespace) -> int:
    fds = {"stdout": sys.stdout.fileno(), "stderr": sys.stderr.fileno()}
    streams: tuple[StreamName, ...] = (args.stream,) if args.stream else STREAMS
    offsets: dict[StreamName, int] = {s: args.offset for s in streams}
    sys.stdout.flush()
    with Spool.open(args.dir) as spool:
        async for event in spool.follow(offsets, streams=streams):
            if isinstance(event, Output):
                try:
                    _write(fds[event.stream], event.data)
                except BrokenPipeError:
                    return 0
            else:
                _note(_gap_note(event))
        returncode, reason, error = spool.returncode, spool.reason, spool.error
    if error:
        _note(error)
    if returncode is None:
        _note("the run's end is not known")
        return 1
    if reason not in ("exited", "signalled"):
        _note(f"the run ended: {reason}")
    return returncode if returncode >= 0 else 128 - returncode


def _prune(args: argparse.Namespace) -> int:
    for path in prune_spools(args.dir, older_than=args.older_than):
        print(path)
    return 0


def run_spool_command(args: argparse.Namespace) -> int:
    """Run one of :data:`SPOOL_VERBS`; return the exit status."""
    if args.verb == "page":
        return anyio.run(_page, args)
    if args.verb == "tail":
        return anyio.run(_tail, args)
    if args.verb == "follow":
        return anyio.run(_follow, args)
    return _prune(args)


def format_spool_stats(result: Result) -> list[str]:
    """The spool lines of ``ccstream run --stats``."""
    if result.spool_path is None:
        return []
    lines = [f"spool: {result.spool_path}"]
    lines += [f"spool gap: {_gap_note(gap)}" for gap in result.gaps]
    if result.spool_error:
        lines.append(f"spool error: {result.spool_error}; {result.unspooled_bytes} bytes unspooled")
    return lines
