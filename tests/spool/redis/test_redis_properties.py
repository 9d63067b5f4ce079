"""Property tests of the Redis store with the public strategies of ``ccstream.spool.testing``:
tiny segments and checkpoints, written through one store and read through a second one on the
same Redis (what another node reads: only what Redis holds), on asyncio and trio."""

from __future__ import annotations

import itertools
import os

from hypothesis import given, settings

from ccstream._events import Gap, Output, StreamName
from ccstream._options import SpoolOptions
from ccstream.spool.redis import RedisStore
from ccstream.spool.testing import layouts, quota_scripts, scripts
from tests._redis import RedisServer
from tests.spool._helpers import Script, frame_script, split_lines, streams_of, sync

# A few examples each: every one starts two stores and crosses many segment boundaries.
SETTINGS = settings(max_examples=int(os.environ.get("REDIS_EXAMPLES", "25")), deadline=None)
_keys = itertools.count()


async def _write_and_read(
    url: str, script: Script, layout: dict[str, int], quota_segments: int | None
) -> tuple[list[Output | Gap], dict[StreamName, list[bytes]]]:
    """Write ``script`` through one store, then read it through another: every event of a
    ``follow`` and every line of a walk of pages, per stream."""
    fields: dict[str, object] = dict(layout)
    chunk_size = layout["chunk_size"]
    del fields["chunk_size"]
    if quota_segments is not None:
        fields.update(quota=quota_segments * layout["segment_size"], on_quota="drop")
    key = f"p{next(_keys)}"
    async with RedisStore.from_url(url, prefix="props") as writer:
        sink = writer.create(key, SpoolOptions(**fields))  # type: ignore[arg-type]
        totals = {"stdout": [0, 0], "stderr": [0, 0]}
        for stream, frames in frame_script(script, chunk_size):
            newlines = sink.append(stream, frames)
            assert newlines is not None
            totals[stream][0] += sum(len(f.data) for f in frames)
            totals[stream][1] += newlines
        await sink.aclose([(*totals["stdout"],), (*totals["stderr"],)])  # type: ignore[list-item]
        async with RedisStore.from_url(url, prefix="props") as node:
            spool = await node.aopen(key)
            events = [event async for event in spool.follow()]
            lines: dict[StreamName, list[bytes]] = {}
            for stream in ("stdout", "stderr"):
                got: list[bytes] = []
                line = 0
                while True:
                    page = await spool.page(line, 7, stream, max_bytes=1 << 20)
                    got += page.lines
                    if page.complete:
                        break
                    line = page.next_line
                lines[stream] = got
            spool.close()
        await writer.remove(key)
    return events, lines


@SETTINGS
@given(scripts(), layouts(page_cache=False))
def test_what_another_node_reads_is_exactly_what_was_written(
    redis_server: RedisServer, spool_backend: str, script: Script, layout: dict[str, int]
) -> None:
    events, lines = sync(_write_and_read, redis_server.url, script, layout, None)
    expected = streams_of(script)
    got: dict[StreamName, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
    for event in events:
        assert isinstance(event, Output)
        assert event.offset == len(got[event.stream])
        got[event.stream] += event.data
    for stream in ("stdout", "stderr"):
        assert bytes(got[stream]) == expected[stream]
        assert lines[stream] == split_lines(expected[stream])


@SETTINGS
@given(quota_scripts(), layouts(page_cache=False))
def test_quota_gaps_plus_what_another_node_reads_account_for_every_byte(
    redis_server: RedisServer, spool_backend: str, script: Script, layout: dict[str, int]
) -> None:
    events, lines = sync(_write_and_read, redis_server.url, script, layout, 4)
    expected = streams_of(script)
    pos: dict[StreamName, int] = {"stdout": 0, "stderr": 0}
    for event in events:
        assert event.offset == pos[event.stream], "a byte neither read nor in a gap"
        if isinstance(event, Gap):
            assert event.reason == "quota"
            chunk = expected[event.stream][event.offset : event.offset + event.bytes]
            assert event.lines == chunk.count(b"\n")
            pos[event.stream] += event.bytes
        else:
            assert (
                event.data == expected[event.stream][event.offset : event.offset + len(event.data)]
            )
            pos[event.stream] += len(event.data)
    gaps = {event.stream: event for event in events if isinstance(event, Gap)}
    for stream in ("stdout", "stderr"):
        assert pos[stream] == len(expected[stream])
        every = split_lines(expected[stream])
        gap = gaps.get(stream)
        if gap is None:
            assert lines[stream] == every
            continue
        # The pages give the lines before the gap as they were, then only whole kept lines.
        head = split_lines(expected[stream][: gap.offset])
        whole = head if not head or head[-1].endswith(b"\n") else head[:-1]
        assert lines[stream][: len(whole)] == whole
        assert set(lines[stream]) <= set(every)
        assert len(lines[stream]) <= len(every)
