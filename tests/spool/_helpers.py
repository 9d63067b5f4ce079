"""Helpers for spool tests: frame scripted output, drive a writer, read it back every way."""

from __future__ import annotations

import atexit
import contextlib
import functools
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal

from ccstream._chunker import Chunker
from ccstream._events import Gap, Output, StreamName
from ccstream._options import SpoolOptions
from ccstream.spool._reader import Page, Spool
from ccstream.spool.local._writer import SpoolWriter

Script = Sequence[tuple[StreamName, bytes]]
"""What a child wrote, in order: (stream, bytes of one write)."""

_T = TypeVar("_T")
_portal: BlockingPortal | None = None


def sync(fn: Callable[..., Awaitable[_T]], *args: Any, **kwargs: Any) -> _T:
    """Await ``fn(*args, **kwargs)`` from synchronous test code (hypothesis drives those), on
    one event loop in a thread for the whole session."""
    global _portal
    if _portal is None:
        manager = start_blocking_portal()
        _portal = manager.__enter__()
        atexit.register(manager.__exit__, None, None, None)
    return _portal.call(functools.partial(fn, *args, **kwargs))


def split_lines(data: bytes) -> list[bytes]:
    """``data``'s lines, each with its newline; a last unterminated line as it is."""
    lines = data.split(b"\n")
    out = [line + b"\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def streams_of(script: Script) -> dict[StreamName, bytes]:
    out: dict[StreamName, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
    for stream, data in script:
        out[stream] += data
    return {name: bytes(data) for name, data in out.items()}


def frame_script(script: Script, chunk_size: int) -> list[tuple[StreamName, list[Output]]]:
    """Each write framed as the pump would (binary mode), one batch per write."""
    chunkers = {s: Chunker(s, chunk_size=chunk_size) for s in ("stdout", "stderr")}
    return [(stream, chunkers[stream].feed(data)) for stream, data in script if data]


@contextlib.contextmanager
def spool_of(
    script: Script, layout: Mapping[str, Any], *, close: bool = True
) -> Iterator[SpoolWriter]:
    """A writer in a temporary directory that was fed ``script`` (and closed, by default).
    ``layout`` holds SpoolOptions fields, and ``chunk_size`` for the frames (default 32)."""
    options = dict(layout)
    chunk_size = options.pop("chunk_size", 32)
    with tempfile.TemporaryDirectory(prefix="ccstream-test-") as tmp:
        writer = SpoolWriter(SpoolOptions(directory=Path(tmp) / "spool", **options))
        try:
            totals = {"stdout": (0, 0), "stderr": (0, 0)}
            for stream, frames in frame_script(script, chunk_size):
                newlines = writer.append(stream, frames)
                assert newlines is not None
                nbytes, nlines = totals[stream]
                totals[stream] = (nbytes + sum(len(f.data) for f in frames), nlines + newlines)
            if close:
                writer.close([totals["stdout"], totals["stderr"]])
            else:
                written(writer)
            yield writer
        finally:
            if not writer.closed:
                writer.close()


def written(writer: SpoolWriter, timeout: float = 5.0) -> None:
    """Wait until the disk thread has written everything handed over so far."""
    writer.flush()
    deadline = time.monotonic() + timeout
    while writer.state.records < writer.records:
        assert time.monotonic() < deadline, "the disk thread did not catch up"
        time.sleep(0.001)


def readers(writer: SpoolWriter) -> list[Spool]:
    """The live handle and one opened from the files, as another process would."""
    return [Spool(writer.source()), Spool.open(writer.path)]


def walk(spool: Spool, count: int, stream: StreamName = "stdout") -> list[Page]:
    """Every page from line 0 by the cursor, until complete (or, while running, caught up)."""
    pages = []
    line = 0
    for _ in range(100_000):
        page = sync(spool.page, line, count, stream)
        pages.append(page)
        if page.complete or (page.next_line == line and not page.gaps):
            return pages
        assert page.next_line > line, page
        line = page.next_line
    raise AssertionError("the cursor never reached the end")


def follow_all(
    spool: Spool,
    offsets: dict[StreamName, int] | None = None,
    streams: Sequence[StreamName] = ("stdout", "stderr"),
) -> list[Output | Gap]:
    async def main() -> list[Output | Gap]:
        with anyio.fail_after(10):
            return [event async for event in spool.follow(offsets, streams=streams)]

    return anyio.run(main)
