"""The conformance suite every spool store must pass (as ``trio.testing.check_one_way_stream``
checks a stream): call :func:`check_store` with a factory of empty stores, inside an async test
on each backend, or run the :data:`CHECKS` one by one.

Each check writes scripted output through the store's :class:`~ccstream.spool.Sink` and reads it
back through :meth:`Store.aopen <ccstream.spool.Store.aopen>`, asserting one invariant of the
contract in :mod:`ccstream.spool._base`:

- a walk of pages by their cursor gives every line once, in order; the page at line ``k`` holds
  lines ``k`` on; every page holds at most ``max_bytes`` bytes of lines, and a longer line comes
  alone, cut, with the rest readable at its ``rest_offset``;
- ``follow`` from 0 replays the frames in the order they were appended (the merged sequence is
  the live one), and from any offset yields exactly the bytes from there;
- under a quota, the gaps plus the kept bytes account for every byte written, per stream;
- completion: the final state carries the return code and reason, and pages say complete;
- a reader opened while the sink writes sees the same as one opened after it closed;
- a removed spool cuts its readers off with :class:`~ccstream.SpoolNotFound`.

The scripts are seeded, so a failure repeats; they are small, so the suite takes seconds.

The hypothesis strategies of the spool's property tests are here too — :func:`writes`,
:func:`scripts`, :func:`quota_scripts`, :func:`layouts` (see
:mod:`ccstream.spool._strategies`) — for a store's own property tests. They need hypothesis
(``pip install 'ccstream[testing]'``); the checks above do not, and without it only asking for a
strategy fails, with an :class:`ImportError` that says so.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from .._chunker import Chunker
from .._events import STREAMS, Gap, Output, StreamName
from .._options import SpoolOptions
from ..exceptions import SpoolNotFound
from ._base import Sink, Store
from ._reader import Page, Spool

if TYPE_CHECKING:
    from ._strategies import layouts, quota_scripts, scripts, writes

__all__ = [
    "CHECKS",
    "StoreFactory",
    "check_store",
    "layouts",
    "quota_scripts",
    "scripts",
    "writes",
]

_STRATEGIES = frozenset({"layouts", "quota_scripts", "scripts", "writes"})


def __getattr__(name: str) -> Any:
    # The strategies need hypothesis, which only their users install: import it on demand.
    if name not in _STRATEGIES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from . import _strategies
    except ImportError as exc:
        raise ImportError(
            f"ccstream.spool.testing.{name} is a hypothesis strategy and needs hypothesis: "
            "pip install 'ccstream[testing]'"
        ) from exc
    return getattr(_strategies, name)


StoreFactory = Callable[[Path], Store]
"""Makes an empty store whose spools live under the given directory (a store that keeps them
elsewhere may ignore it)."""

Script = list[tuple[StreamName, bytes]]


def _script(seed: int, writes: int = 300, long_every: int = 0) -> Script:
    """Lines of varied lengths on both streams, some writes cutting lines in two."""
    rng = random.Random(seed)
    out: Script = []
    for i in range(writes):
        stream: StreamName = "stdout" if rng.random() < 0.7 else "stderr"
        width = rng.choice((0, 1, 5, 40, 200))
        if long_every and i % long_every == 0:
            width = 5000
        data = f"{i:05d}".encode() + b"x" * width + b"\n"
        if rng.random() < 0.2:
            data = data[: max(1, len(data) // 2)]  # a write that ends inside a line
        out.append((stream, data))
    return out


def _streams(script: Script) -> dict[StreamName, bytes]:
    out: dict[StreamName, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
    for stream, data in script:
        out[stream] += data
    return {name: bytes(data) for name, data in out.items()}


def _lines(data: bytes) -> list[bytes]:
    parts = data.split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _options(**fields: object) -> SpoolOptions:
    base: dict[str, object] = {"segment_size": 4096, "index_every": 7, "index_bytes": 1024}
    base.update(fields)
    return SpoolOptions(**base)  # type: ignore[arg-type]


async def _write(
    sink: Sink, script: Script, chunk_size: int = 64, *, pause: float | None = None
) -> list[Output]:
    """Append ``script`` framed as a pump would, close the sink; return the frames in order."""
    chunkers = {name: Chunker(name, chunk_size=chunk_size) for name in STREAMS}
    totals = {name: [0, 0] for name in STREAMS}
    frames: list[Output] = []
    for stream, data in script:
        batch = chunkers[stream].feed(data)
        if not batch:
            continue
        newlines = sink.append(stream, batch)
        assert newlines is not None, "the sink refused frames"
        totals[stream][0] += sum(len(f.data) for f in batch)
        totals[stream][1] += newlines
        frames.extend(batch)
        if pause is not None:
            sink.flush()
            await anyio.sleep(pause)
    await sink.aclose(
        [(totals["stdout"][0], totals["stdout"][1]), (totals["stderr"][0], totals["stderr"][1])],
        returncode=3,
        reason="exited",
    )
    return frames


async def _walk(spool: Spool, stream: StreamName, count: int, max_bytes: int) -> list[Page]:
    pages: list[Page] = []
    line = 0
    for _ in range(100_000):
        page = await spool.page(line, count, stream, max_bytes=max_bytes)
        pages.append(page)
        if page.complete:
            return pages
        assert page.next_line > line or page.gaps, f"the cursor is stuck at line {line}"
        line = page.next_line
    raise AssertionError("the cursor never reached the end")


async def _rebuilt(spool: Spool, stream: StreamName, pages: Sequence[Page]) -> list[bytes]:
    """The lines of ``pages``, each cut line made whole again from :meth:`Spool.read`."""
    lines: list[bytes] = []
    for page in pages:
        cuts = {cut.line: cut for cut in page.cuts}
        for k, line in enumerate(page.lines, page.first_line):
            cut = cuts.get(k)
            if cut is not None:
                rest = b""
                while len(rest) < cut.omitted:
                    more = await spool.read(stream, cut.rest_offset + len(rest), cut.omitted)
                    assert more, "the rest of a cut line is not readable"
                    rest += more
                line += rest
            lines.append(line)
    return lines


# -- the checks --------------------------------------------------------------------------------


async def check_page_walks_give_every_line_once_within_the_byte_bound(store: Store) -> None:
    """Page walks by the cursor, for several ``count`` and ``max_bytes``: every line once, in
    order, each page within its bounds, a longer line alone and cut."""
    script = _script(1, long_every=37)
    await _write(store.create("walk", _options()), script)
    expected = _streams(script)
    with await store.aopen("walk") as spool:
        for stream in STREAMS:
            for count, max_bytes in ((1, 1 << 20), (7, 300), (1000, 4096), (3, 1)):
                pages = await _walk(spool, stream, count, max_bytes)
                for page in pages:
                    assert len(page.lines) <= count
                    assert sum(len(line) for line in page.lines) <= max_bytes
                    if page.cuts:
                        assert len(page.lines) == 1
                assert await _rebuilt(spool, stream, pages) == _lines(expected[stream])


async def check_the_page_at_line_k_holds_the_lines_from_k(store: Store) -> None:
    """``page(k, n)`` holds lines ``k`` to ``k + n - 1``; ``tail(n)`` the last ``n``."""
    script = _script(2)
    await _write(store.create("at-k", _options()), script)
    lines = _lines(_streams(script)["stdout"])
    with await store.aopen("at-k") as spool:
        assert await spool.known_lines("stdout") == len(lines)
        for k in (0, 1, 13, len(lines) // 2, len(lines) - 1, len(lines)):
            for n in (1, 5, 64):
                page = await spool.page(k, n)
                assert page.first_line == k
                assert page.lines == lines[k : k + n]
                assert page.next_line == max(k, min(k + n, len(lines)))
                assert page.next_offset == len(b"".join(lines[: page.next_line]))
        for n in (1, 10, len(lines) + 5):
            tail = await spool.tail(n)
            assert tail.lines == lines[-n:]


async def check_merged_replay_is_the_live_sequence(store: Store) -> None:
    """``follow`` from 0 replays the frames in the order they were appended."""
    frames = await _write(store.create("merged", _options()), _script(3))
    with await store.aopen("merged") as spool:
        got = [event async for event in spool.follow()]
    assert all(isinstance(event, Output) for event in got)
    assert [(e.stream, e.offset, e.data) for e in got if isinstance(e, Output)] == [
        (f.stream, f.offset, f.data) for f in frames
    ]


async def check_follow_from_any_offset_yields_exactly_the_bytes_from_there(store: Store) -> None:
    """``follow({stream: k})`` yields the stream's bytes from ``k`` on, whatever ``k``."""
    script = _script(4)
    await _write(store.create("offsets", _options()), script)
    expected = _streams(script)
    rng = random.Random(4)
    with await store.aopen("offsets") as spool:
        for stream in STREAMS:
            size = len(expected[stream])
            for start in {0, 1, size // 3, size - 1, size, rng.randrange(size + 1)}:
                got = bytearray()
                async for event in spool.follow({stream: start}, streams=(stream,)):
                    assert isinstance(event, Output)
                    assert event.offset == start + len(got)
                    got += event.data
                assert bytes(got) == expected[stream][start:]


async def check_quota_gaps_and_kept_bytes_account_for_every_byte(store: Store) -> None:
    """Under a quota, per stream: the gaps plus the kept bytes tile what was written; pages
    report the gaps and give each kept line once."""
    script = _script(5, writes=900)
    options = _options(quota=4 * 4096, on_quota="drop")
    await _write(store.create("quota", options), script)
    expected = _streams(script)
    with await store.aopen("quota") as spool:
        assert spool.gaps, "the quota dropped nothing: the check proves nothing"
        for stream in STREAMS:
            pos = 0
            async for event in spool.follow(streams=(stream,)):
                assert event.offset == pos, "a byte neither kept nor in a gap"
                if isinstance(event, Gap):
                    assert event.reason == "quota"
                    pos += event.bytes
                else:
                    assert event.data == expected[stream][pos : pos + len(event.data)]
                    pos += len(event.data)
            assert pos == len(expected[stream])
            pages = await _walk(spool, stream, 50, 4096)
            kept = [line for page in pages for line in page.lines]
            assert len(kept) == len(set(kept)), "a line came twice"


async def check_completion_is_recorded(store: Store) -> None:
    """After the sink closed: complete, the return code and reason, pages complete."""
    await _write(store.create("done", _options()), _script(6, writes=20))
    state = await store.astate("done")
    assert state.complete
    assert (state.returncode, state.reason) == (3, "exited")
    with await store.aopen("done") as spool:
        assert spool.complete
        assert (spool.returncode, spool.reason) == (3, "exited")
        assert (await spool.tail(1)).complete


async def check_a_reader_opened_while_writing_sees_what_one_after_sees(store: Store) -> None:
    """A ``follow`` opened before the first frame, running while the sink writes, gets the
    same frames as a reader opened after the sink closed."""
    script = _script(7, writes=120)
    sink = store.create("live", _options())
    with await store.aopen("live") as live:
        got: list[Output | Gap] = []

        async def follow() -> None:
            async for event in live.follow(poll_interval=0.01):
                got.append(event)

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(follow)
                frames = await _write(sink, script, pause=0.0)
    with await store.aopen("live") as after:
        replay = [event async for event in after.follow()]
    key = [(e.stream, e.offset, bytes(e.data)) for e in got if isinstance(e, Output)]
    assert key == [(e.stream, e.offset, bytes(e.data)) for e in replay if isinstance(e, Output)]
    assert key == [(f.stream, f.offset, f.data) for f in frames]


async def check_removing_cuts_readers_off(store: Store) -> None:
    """:meth:`Store.remove` cuts off a reader that holds a frame; opening fails after."""
    await _write(store.create("gone", _options()), _script(8))
    spool = await store.aopen("gone")
    events = spool.follow()
    assert isinstance(await events.__anext__(), Output)
    assert await store.remove("gone", "removed by the check")
    assert store.removed("gone")
    for attempt in (events.__anext__(), spool.page(0, 1)):
        try:
            await attempt
        except SpoolNotFound as exc:
            if "removed by the check" not in str(exc):
                raise AssertionError(f"cut off without the reason: {exc}") from exc
        else:
            raise AssertionError("a reader of a removed spool was not cut off")
    await events.aclose()
    spool.close()
    try:
        await store.aopen("gone")
    except SpoolNotFound:
        pass
    else:
        raise AssertionError("a removed spool opened")


CHECKS: tuple[Callable[[Store], Awaitable[None]], ...] = (
    check_page_walks_give_every_line_once_within_the_byte_bound,
    check_the_page_at_line_k_holds_the_lines_from_k,
    check_merged_replay_is_the_live_sequence,
    check_follow_from_any_offset_yields_exactly_the_bytes_from_there,
    check_quota_gaps_and_kept_bytes_account_for_every_byte,
    check_completion_is_recorded,
    check_a_reader_opened_while_writing_sees_what_one_after_sees,
    check_removing_cuts_readers_off,
)
"""Every check, each taking a fresh store."""


async def check_store(make_store: StoreFactory, root: Path) -> None:
    """Run every check of :data:`CHECKS`, each on a fresh store made by ``make_store`` in its own
    directory under ``root``."""
    for i, check in enumerate(CHECKS):
        directory = root / f"{i:02d}-{check.__name__}"
        directory.mkdir(parents=True)
        await check(make_store(directory))
