"""``ccstream search DIR PATTERN``: the lines of a spool that hold a pattern, as grep prints them.

Each matching line is printed whole, byte for byte, as ``LINE:TEXT`` (``STREAM:LINE:TEXT`` when
both streams are searched), LINE counted from 1 as grep does (``ccstream page --from`` counts
from 0: line N there is ``--from N-1``). The line comes from a :meth:`~ccstream.Spool.search`
match of at most 64 KiB, and the rest of a longer line is copied from the spool in blocks, so
memory stays bounded whatever the line lengths.

The exit status is grep's: 0 when a line matched, 1 when none did, 2 on an error — a spool that
is not there, a bad pattern, or output in the searched range that the spool does not hold (a
quota or disk-error gap, each said on stderr with its bytes and lines), even when lines matched.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import anyio

from ._cli_spool import gap_note, note, write_all
from ._events import STREAMS
from .exceptions import CCStreamError
from .spool import Match, Spool

__all__ = ["add_search_command", "run_search_command"]

_TEXT_BYTES = 64 * 1024
"""Bytes of a line a match carries; the rest is copied from the spool."""

_COPY_BLOCK = 1024 * 1024
"""Bytes per read when copying the rest of a long line to stdout."""

_DESCRIPTION = """\
Print the lines of a spool (ccstream run --spool DIR) that hold PATTERN, each whole, as
LINE:TEXT, or STREAM:LINE:TEXT when both streams are searched. LINE counts from 1 as grep's
does (ccstream page --from counts from 0). Memory stays bounded whatever the line lengths."""

_STATUS = """\
exit status:
  0  a line matched
  1  no line matched
  2  an error: no spool in DIR, a bad pattern, or output in the searched range that the spool
     does not hold (its bytes and lines are said on stderr), even when lines matched
"""


def add_search_command(sub: Any) -> None:
    """The ``search`` subcommand."""
    search = sub.add_parser(
        "search",
        help="print the lines of a spool that hold a pattern (like grep)",
        description=_DESCRIPTION,
        epilog=_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    search.add_argument("dir", help="the spool directory")
    search.add_argument("pattern", help="the text to find (a regular expression with -E)")
    kind = search.add_mutually_exclusive_group()
    kind.add_argument(
        "-E",
        "--regexp",
        dest="regex",
        action="store_true",
        help="PATTERN is a Python regular expression (applied to each line without its newline)",
    )
    kind.add_argument(
        "-F",
        "--fixed-strings",
        dest="regex",
        action="store_false",
        help="PATTERN is a literal string (the default)",
    )
    search.add_argument(
        "-i", "--ignore-case", action="store_true", help="ignore ASCII case differences"
    )
    search.add_argument("--stream", choices=STREAMS, help="search only this stream (default both)")
    search.add_argument(
        "-c", "--count", action="store_true", help="print only the count of matching lines"
    )
    search.add_argument(
        "-m", "--max-count", type=int, metavar="N", help="stop after N matching lines (in all)"
    )
    search.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing; exit status only"
    )
    search.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="while the run goes on, keep searching what it writes until it ends",
    )


def run_search_command(args: argparse.Namespace) -> int:
    """Run ``ccstream search``; its exit status."""
    if args.max_count is not None and args.max_count < 0:
        print("ccstream search: -m must not be negative", file=sys.stderr)
        return 2
    try:
        return anyio.run(_search, args)
    except CCStreamError as exc:
        print(f"ccstream: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


async def _print(out: int, spool: Spool, match: Match, prefix: bytes) -> int:
    """Write ``match``'s line whole; return how many of its bytes could not be read."""
    write_all(out, prefix + match.text)
    pos = match.offset + len(match.text)
    end = match.offset + match.length
    while pos < end:
        data = await spool.read(match.stream, pos, min(_COPY_BLOCK, end - pos))
        if not data:
            write_all(out, b"\n")
            return end - pos
        write_all(out, data)
        pos += len(data)
    write_all(out, b"\n")
    return 0


async def _search(args: argparse.Namespace) -> int:
    if args.max_count == 0:
        return 1  # grep -m 0: nothing is read, nothing matches
    sys.stdout.flush()
    out = sys.stdout.fileno()
    both = args.stream is None
    counts = dict.fromkeys(STREAMS if both else (args.stream,), 0)
    lost = 0
    with Spool.open(args.dir) as spool:
        search = spool.search(
            args.pattern.encode(),
            regex=args.regex,
            ignore_case=args.ignore_case,
            stream=args.stream,
            follow=args.follow,
            limit=args.max_count,
            max_line_bytes=_TEXT_BYTES,
        )
        try:
            async for match in search:
                counts[match.stream] += 1
                if args.quiet:
                    break
                if args.count:
                    continue
                name = f"{match.stream}:" if both else ""
                missing = await _print(out, spool, match, f"{name}{match.line + 1}:".encode())
                if missing:
                    lost += missing
                    note(
                        f"[{match.stream} line {match.line + 1}: {missing} bytes were dropped "
                        "by the disk quota while printing]"
                    )
            if args.count and not args.quiet:
                text = "".join(f"{name}:{n}\n" if both else f"{n}\n" for name, n in counts.items())
                write_all(out, text.encode())
        except BrokenPipeError:
            # Our reader left (``| head``): what it wanted was printed.
            return 0 if sum(counts.values()) else 1
        for gap in search.gaps:
            note(gap_note(gap) + " were not searched")
    if search.gaps or lost:
        return 2
    return 0 if sum(counts.values()) else 1
