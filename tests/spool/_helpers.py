"""Helpers for spool tests: frame scripted output, write it through a store's sink, read it back
every way, on the event loop of the backend the test runs on."""

from __future__ import annotations

import atexit
import contextlib
import functools
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, overload

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal

from ccstream._chunker import Chunker
from ccstream._events import Gap, Output, StreamName
from ccstream._options import SpoolOptions
from ccstream.spool import Sink, Store
from ccstream.spool._reader import Page, Spool
from ccstream.spool.testing import StoreFactory

Script = Sequence[tuple[StreamName, bytes]]
"""What a child wrote, in order: (stream, bytes of one write)."""

_T = TypeVar("_T")
_portals: dict[str, BlockingPortal] = {}
_backend = "asyncio"


def use_backend(backend: str) -> None:
    """Run what :func:`sync` awaits on ``backend`` ("asyncio" or "trio") from now on."""
    global _backend
    _backend = backend


@overload
def sync(fn: Callable[..., Awaitable[_T]], *args: Any, **kwargs: Any) -> _T: ...
@overload
def sync(fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T: ...
def sync(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn(*args, **kwargs)`` (awaiting what it returns) from synchronous test code
    (hypothesis drives those), on one event loop thread per backend for the whole session: the
    backend :func:`use_backend` chose, asyncio by default."""
    portal = _portals.get(_backend)
    if portal is None:
        manager = start_blocking_portal(_backend)
        portal = _portals[_backend] = manager.__enter__()
        atexit.register(manager.__exit__, None, None, None)
    return portal.call(functools.partial(fn, *args, **kwargs))


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


@dataclass
class Spooled:
    """A spool written through a store's sink, and how to reach it again."""

    store: Store
    key: str
    sink: Sink
    make_store: StoreFactory
    root: Path


@contextlib.contextmanager
def spool_of(
    script: Script, layout: Mapping[str, Any], make_store: StoreFactory, *, close: bool = True
) -> Iterator[Spooled]:
    """A spool of a fresh store from ``make_store`` that was fed ``script`` through its sink (and
    closed, by default). ``layout`` holds SpoolOptions fields, and ``chunk_size`` for the frames
    (default 32)."""
    options = dict(layout)
    chunk_size = options.pop("chunk_size", 32)
    with tempfile.TemporaryDirectory(prefix="ccstream-test-") as tmp:
        root = Path(tmp) / "store"
        root.mkdir()
        store = sync(make_store, root)
        sink = sync(store.create, "spool", SpoolOptions(**options))
        try:
            sync(_feed, sink, script, chunk_size, close)
            yield Spooled(store, "spool", sink, make_store, root)
        finally:
            if sink.accepting:
                sync(sink.aclose)


async def _feed(sink: Sink, script: Script, chunk_size: int, close: bool) -> None:
    totals = {"stdout": (0, 0), "stderr": (0, 0)}
    for stream, frames in frame_script(script, chunk_size):
        newlines = sink.append(stream, frames)
        assert newlines is not None
        nbytes, nlines = totals[stream]
        totals[stream] = (nbytes + sum(len(f.data) for f in frames), nlines + newlines)
    if close:
        await sink.aclose([totals["stdout"], totals["stderr"]])
    else:
        await written(sink)


async def written(sink: Sink) -> None:
    """Wait (at most 5 s) until the store has published everything handed over so far."""
    sink.flush()
    with anyio.fail_after(5):
        while sink.state.records < sink.records:  # noqa: ASYNC110 - the state is polled
            await anyio.sleep(0.001)


def readers(spooled: Spooled) -> list[Spool]:
    """One reader opened through the store that holds the sink, and one through a fresh store
    over the same place, as another process reads it."""
    other = sync(spooled.make_store, spooled.root)
    return [sync(spooled.store.open, spooled.key), sync(other.open, spooled.key)]


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

    return sync(main)
