"""The Redis client's reply buffer stays bounded whatever streams through one connection.

coredis empties a connection's buffer only when a reply ends exactly where the received bytes
end; a connection that is never idle (a node's followers of many spools) kept every byte it
received. :mod:`ccstream.spool.redis._parser` compacts it: here against a real redis-server,
and the parser itself fed a reply stream cut at arbitrary places.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import anyio
import coredis.connection._base as connection
import pytest
from coredis.parser import NotEnoughData
from coredis.parser import Parser as CoredisParser
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ccstream.spool.redis import RedisStore, _parser
from ccstream.spool.redis._parser import COMPACT_AT, CompactingParser
from tests._redis import RedisServer

ENTRY = 65408
ENTRIES = 64
WINDOW = 8  # entries per XRANGE: a follower's window of about 512 KiB
READERS = 16
READS = 40  # per reader: 16 x 40 x 512 KiB = 320 MiB of replies through one connection
BOUND = 4 * 1024 * 1024
"""Most bytes the buffer may hold: twice the larger of COMPACT_AT and a reply, and a read."""


def test_importing_the_store_installs_the_compacting_parser() -> None:
    assert getattr(connection, "Parser") is CompactingParser  # noqa: B009
    assert _parser.install()


@pytest.mark.anyio
async def test_reply_buffer_stays_bounded_under_concurrent_window_reads(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[CompactingParser] = []

    def parser() -> CompactingParser:
        made.append(CompactingParser())
        return made[-1]

    # Only to see the parsers the connections make: they are the real ones.
    monkeypatch.setattr(connection, "Parser", parser)
    async with RedisStore.from_url(redis_server.url, prefix="replybuf") as store:
        client = store.client
        key = "replybuf:stream"
        data = [os.urandom(ENTRY) for _ in range(4)]
        await client.delete([key])
        for i in range(ENTRIES):
            await client.xadd(key, {"d": data[i % 4]}, identifier=f"{(i + 1) * ENTRY}-0")
        peak = 0
        received = 0

        async def reader(n: int) -> None:
            nonlocal received
            for j in range(READS):
                first = (n + j) % (ENTRIES - WINDOW)
                entries = await client.xrange(
                    key, f"({first * ENTRY}-0", f"{(first + WINDOW) * ENTRY}-0"
                )
                assert [e.field_values[b"d"] for e in entries] == [
                    data[(first + k) % 4] for k in range(WINDOW)
                ]
                received += sum(len(e.field_values[b"d"]) for e in entries)

        async def sample() -> None:
            nonlocal peak
            while True:
                peak = max([peak, *(p.buffered for p in made)])
                await anyio.sleep(0.001)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(sample)
                async with anyio.create_task_group() as readers:
                    for n in range(READERS):
                        readers.start_soon(reader, n)
                tg.cancel_scope.cancel()
        await client.delete([key])
    assert made, "no connection was made through coredis' parser"
    assert received == READERS * READS * WINDOW * ENTRY
    assert peak <= BOUND, f"the reply buffer held {peak} bytes"


def _bulk(data: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(data), data)


def _replies(sizes: list[int]) -> tuple[bytes, list[object]]:
    """A RESP stream of replies (bulk strings and arrays of them) and what each parses to."""
    wire = bytearray()
    expected: list[object] = []
    for i, size in enumerate(sizes):
        payload = bytes([i % 251]) * size
        if i % 3 == 0:
            wire += b"*2\r\n" + _bulk(payload) + b":%d\r\n" % i
            expected.append([payload, i])
        else:
            wire += _bulk(payload)
            expected.append(payload)
    return bytes(wire), expected


def _parse_all(
    parser: CompactingParser | CoredisParser, wire: bytes, cuts: list[int]
) -> Iterator[tuple[object, int]]:
    """Feed ``wire`` cut at ``cuts``; every reply parsed, with the buffer's size after it."""
    pos = 0
    for end in [*sorted(cuts), len(wire)]:
        if end <= pos:
            continue
        parser.feed(wire[pos:end])
        pos = end
        while not isinstance(reply := parser.parse(), NotEnoughData):
            size = parser.buffered if isinstance(parser, CompactingParser) else 0
            yield reply[1], size


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 3 * COMPACT_AT // 2), min_size=1, max_size=24),
    cuts=st.lists(st.integers(0, 20 * COMPACT_AT), max_size=40),
    read=st.sampled_from([4096, 65536, 262144]),
)
# A connection never idle: no read ends on a reply's last byte, 9 MiB through the buffer.
@example(sizes=[300_001] * 30, cuts=[], read=65536)
def test_compacting_parser_parses_as_coredis_and_its_buffer_stays_within_twice_a_reply(
    sizes: list[int], cuts: list[int], read: int
) -> None:
    wire, expected = _replies(sizes)
    # Socket reads of ``read`` bytes, and the arbitrary cuts besides.
    points = [c for c in cuts if c < len(wire)] + list(range(read, len(wire), read))
    got = list(_parse_all(CompactingParser(), wire, points))
    assert [reply for reply, _ in got] == expected
    assert [reply for reply, _ in _parse_all(CoredisParser(), wire, points)] == expected
    bound = 2 * (max(COMPACT_AT, max(sizes) + 64) + read)
    assert max(size for _, size in got) <= bound
