"""What the Redis store adds to the contract, against a real redis-server: the layout, fencing,
retried flushes, the TTL at the end, the eviction policy, Redis out of memory, a restart that
lost the data, and one tailer per spool."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import coredis
import pytest

import ccstream
from ccstream import Gap, Output, SpoolError, SpoolNotFound, SpoolOptions
from ccstream._chunker import Chunker
from ccstream._events import StreamName
from ccstream.spool.redis import MAX_ENTRY, RedisSink, RedisStore, SpoolFenced, SpoolLost
from ccstream.spool.redis._layout import Keys
from tests._redis import RedisServer, redis_server
from tests.spool.redis.conftest import prefix

pytestmark = pytest.mark.anyio

PY = sys.executable
SEGMENT = 64 * 1024


def _options(**fields: Any) -> SpoolOptions:
    return SpoolOptions(segment_size=SEGMENT, memory=256 * 1024, **fields)


async def _entries(store: RedisStore, key: str) -> list[tuple[bytes, bytes]]:
    """``(id, data)`` of each entry of stream ``key``."""
    out = []
    for entry in await store.client.xrange(key, "-", "+"):
        ident, data = entry.identifier, entry.field_values[b"d"]
        assert isinstance(ident, bytes)
        assert isinstance(data, bytes)
        out.append((ident, data))
    return out


class _Writer:
    """Frames written to a sink as a pump would, with the totals its end needs."""

    def __init__(self, sink: RedisSink) -> None:
        self.sink = sink
        self.chunkers = {name: Chunker(name, chunk_size=64 * 1024) for name in ("stdout", "stderr")}
        self.totals = {"stdout": [0, 0], "stderr": [0, 0]}

    def write(self, stream: StreamName, data: bytes) -> None:
        frames = self.chunkers[stream].feed(data)
        newlines = self.sink.append(stream, frames)
        if newlines is not None:
            self.totals[stream][0] += len(data)
            self.totals[stream][1] += newlines

    async def stored(self) -> None:
        """Wait until Redis holds everything appended (or the sink failed)."""
        self.sink.flush()
        with anyio.fail_after(10):
            while self.sink.backlog and self.sink.error is None:
                await self.sink.wait_disk(0.01)

    async def close(self) -> ccstream.spool.SpoolState:
        return await self.sink.aclose(
            [tuple(self.totals["stdout"]), tuple(self.totals["stderr"])],  # type: ignore[list-item]
            returncode=0,
            reason="exited",
        )


async def test_entries_are_at_most_max_entry_bytes_and_their_ids_are_end_offsets(
    redis_store: RedisStore,
) -> None:
    sink = redis_store.create("layout", _options())
    writer = _Writer(sink)
    data = bytes(range(256)) * 1200  # 300 KiB: the head segment and some tail
    writer.write("stdout", data)
    await writer.close()
    keys = Keys(redis_store.prefix, "layout")
    pos = 0
    got = bytearray()
    for key in (keys.head(0), keys.tail(0)):
        for ident, chunk in await _entries(redis_store, key):
            assert 0 < len(chunk) <= MAX_ENTRY
            pos += len(chunk)
            assert ident == f"{pos}-0".encode(), "an entry's id is its end offset"
            assert (key == keys.head(0)) == (pos <= SEGMENT), "the head holds the first segment"
            got += chunk
    assert bytes(got) == data


async def test_the_quota_trims_the_middle_keeps_the_head_and_counts_the_gap(
    redis_store: RedisStore,
) -> None:
    sink = redis_store.create("quota", _options(quota=4 * SEGMENT, on_quota="drop"))
    writer = _Writer(sink)
    data = b"".join(b"%07d\n" % i for i in range(200_000))  # 1.6 MB: 24 segments
    writer.write("stdout", data)
    state = await writer.close()
    (gap,) = state.gaps
    assert (gap.offset, gap.reason) == (SEGMENT, "quota")
    assert gap.lines == data[gap.offset : gap.offset + gap.bytes].count(b"\n")
    keys = Keys(redis_store.prefix, "quota")
    head = b"".join(data for _, data in await _entries(redis_store, keys.head(0)))
    tail = await _entries(redis_store, keys.tail(0))
    first = int(tail[0][0].split(b"-")[0]) - len(tail[0][1])
    assert head == data[:SEGMENT]
    assert first == gap.offset + gap.bytes, "Redis holds nothing of the gap, and all after it"
    kept = len(head) + sum(len(data) for _, data in tail)
    assert kept + gap.bytes == len(data)


async def test_a_writer_whose_epoch_is_stale_is_refused_and_its_end_counts_what_was_lost(
    redis_store: RedisStore, redis_server: RedisServer
) -> None:
    sink = redis_store.create("fenced", _options())
    writer = _Writer(sink)
    writer.write("stdout", b"before\n" * 1000)
    await writer.stored()
    assert sink.epoch == 1
    assert await redis_store.fence("fenced") == 2  # taken over: another node's turn
    writer.write("stdout", b"after\n" * 1000)
    writer.sink.flush()
    with anyio.fail_after(10):
        await sink.wait_failed()
    assert isinstance(sink.failure, SpoolFenced)
    assert sink.error is not None
    assert "stale" in sink.error
    state = await writer.close()
    assert state.gap(0, "disk_error") == Gap("stdout", 7000, 6000, 1000, "disk_error")
    async with RedisStore.from_url(redis_server.url, prefix=redis_store.prefix) as owner:
        stored = await owner.astate("fenced")
        assert stored.sizes == (7000, 0), "the fenced writer stored nothing more"
        assert not stored.complete, "nor may it end the spool: the new owner does"
        final = await owner.finalize("fenced", reason="node_lost")
        assert (final.complete, final.reason) == (True, "node_lost")
        assert (await owner.astate("fenced")).reason == "node_lost"


async def test_a_second_writer_of_a_key_in_redis_is_refused(
    redis_store: RedisStore, redis_server: RedisServer
) -> None:
    sink = redis_store.create("twice", _options())
    await sink.ready()
    async with RedisStore.from_url(redis_server.url, prefix=redis_store.prefix) as other:
        second = other.create("twice", _options())
        with pytest.raises(SpoolError, match="in Redis already"):
            await second.ready()
        await second.aclose()
    await sink.aclose()


async def test_a_retried_flush_is_recognised_and_not_stored_twice(
    redis_store: RedisStore,
) -> None:
    sent: list[list[Any]] = []
    script = redis_store._flush

    async def recording(*, keys: list[str], args: list[Any]) -> Any:
        sent.append(args)
        return await script(keys=keys, args=args)

    redis_store._flush = recording
    sink = redis_store.create("retry", _options())
    writer = _Writer(sink)
    writer.write("stdout", b"x" * 100_000 + b"\n")
    await writer.stored()
    keys = Keys(redis_store.prefix, "retry")
    client = redis_store.client
    before = (await client.xlen(keys.head(0)), await client.xlen(keys.tail(0)))
    order = await client.strlen(keys.order)
    # The reply was lost and the client sends the same flush again: recognised by its seq.
    assert await script(keys=keys.all(), args=sent[-1]) == 0
    assert (await client.xlen(keys.head(0)), await client.xlen(keys.tail(0))) == before
    assert await client.strlen(keys.order) == order
    # A flush that does not start where the spool is (a lost one before it) is refused.
    late = list(sent[-1])
    late[1] = str(int(late[1]) + 1)
    with pytest.raises(Exception, match="CCSOFFSET"):
        await script(keys=keys.all(), args=late)
    state = await writer.close()
    assert state.sizes == (100_001, 0)
    assert state.gaps == ()


async def test_no_key_expires_while_live_and_every_key_gets_the_ttl_at_the_end(
    redis_store: RedisStore,
) -> None:
    sink = redis_store.create("ttl", _options())
    writer = _Writer(sink)
    for stream in ("stdout", "stderr"):
        writer.write(stream, b"line\n" * 30_000)  # 150 kB each: head and tail of both
    await writer.stored()
    client = redis_store.client
    names = Keys(redis_store.prefix, "ttl").all()
    assert await client.exists(names) == len(names), "every key of the layout is there"
    assert [await client.ttl(name) for name in names] == [-1] * len(names)
    await writer.close()
    ttls = [await client.pttl(name) for name in names]
    assert all(590_000 < ttl <= 600_000 for ttl in ttls), ttls
    assert max(ttls) - min(ttls) < 1000, "set in one step"


async def test_a_redis_that_evicts_keys_is_refused(tmp_path: Path) -> None:
    with (
        redis_server(tmp_path, "--maxmemory-policy", "allkeys-lru") as server,
        pytest.raises(SpoolError, match="noeviction"),
    ):
        async with RedisStore.from_url(server.url):
            pass


@pytest.mark.parametrize("policy", ["continue", "stop"])
async def test_redis_out_of_memory_is_a_full_disk_with_a_counted_gap(
    tmp_path: Path, policy: str
) -> None:
    child = "import sys\nfor i in range(40): sys.stdout.write('%07d' % i * 25000 + '\\n')"
    with redis_server(tmp_path, "--maxmemory", "4mb") as server:
        async with RedisStore.from_url(server.url, prefix=prefix()) as store:
            spool = _options(store=store, key="oom", keep=True, on_disk_error=policy)
            async with ccstream.stream([PY, "-c", child], ccstream.Options(spool=spool)) as run:
                result = await run.wait()
            written = run.stats("stdout").bytes
            (gap,) = [g for g in result.gaps if g.reason == "disk_error"]
            assert gap.bytes > 0
            assert result.spool_error is not None
            assert "OOM" in result.spool_error
            stored = await store.astate("oom")
            assert stored.complete, "the end is recorded even though Redis is full"
            assert stored.gap(0, "disk_error") == gap
            assert stored.sizes[0] == gap.offset
            if policy == "stop":
                assert result.reason is ccstream.Reason.SPOOL_ERROR
            else:
                assert result.ok
                assert written == 40 * 175_001
                assert gap.offset + gap.bytes == written


async def test_a_redis_restarted_empty_is_reported_as_the_epoch_lost_never_other_bytes(
    tmp_path: Path,
) -> None:
    with redis_server(tmp_path) as server:
        async with RedisStore.from_url(server.url, prefix=prefix()) as store:
            writer = _Writer(store.create("gone", _options()))
            writer.write("stdout", b"the first execution\n" * 100)
            await writer.close()
            reader = await store.aopen("gone")
            assert (await reader.page(0, 1)).lines == [b"the first execution\n"]
            epoch = store.epoch
            server.restart()
            with pytest.raises(SpoolLost, match="lost"):
                await reader.page(0, 1)
            with pytest.raises(SpoolLost, match="epoch"):
                await store.aopen("gone")
            with pytest.raises(SpoolLost, match=epoch):
                await store.check_epoch()
            assert issubclass(SpoolLost, SpoolNotFound)
            reader.close()


async def test_followers_of_a_spool_in_one_process_share_one_blocking_connection(
    redis_store: RedisStore, redis_server: RedisServer
) -> None:
    sink = redis_store.create("many", _options())
    writer = _Writer(sink)
    await sink.ready()
    got: list[int] = []
    blocked: list[int] = []
    async with RedisStore.from_url(redis_server.url, prefix=redis_store.prefix) as node:

        async def follow() -> None:
            spool = await node.aopen("many")
            count = 0
            async for event in spool.follow(poll_interval=0.5):
                assert isinstance(event, Output)
                count += len(event.data)
            got.append(count)
            spool.close()

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                for _ in range(20):
                    tg.start_soon(follow)
                for _ in range(5):
                    await anyio.sleep(0.1)
                    info = await redis_store.client.info("clients")
                    blocked.append(int(str(info["blocked_clients"])))
                    writer.write("stdout", b"more\n" * 10)
                    sink.flush()
                await writer.close()
    assert got == [250] * 20
    assert max(blocked) == 1, blocked


async def test_ping_and_keys(redis_store: RedisStore) -> None:
    assert await redis_store.ping() < 5
    writer = _Writer(redis_store.create("k1", _options()))
    await writer.close()
    assert await redis_store.akeys() == ["k1"]
    assert redis_store.keys() == ["k1"]
    assert await redis_store.usage("k1") > 0
    assert await redis_store.remove("k1")
    assert await redis_store.akeys() == []
    assert await redis_store.usage("k1") == 0


async def test_removing_a_spool_being_written_stops_its_run_and_says_why(
    redis_store: RedisStore,
) -> None:
    child = "import sys, time\nfor i in range(400): print(i, flush=True); time.sleep(0.01)"
    spool = _options(store=redis_store, key="live", keep=True)
    with anyio.fail_after(20):
        async with ccstream.stream([PY, "-c", child], ccstream.Options(spool=spool)) as run:
            async for event in run:
                if isinstance(event, Output):
                    assert await redis_store.remove("live")
                    break
            result = await run.wait()
    assert result.reason is ccstream.Reason.SPOOL_ERROR
    assert result.spool_error is not None
    assert "removed" in result.spool_error
    assert await redis_store.akeys() == []


def test_the_public_names_of_the_redis_store_exist() -> None:
    import ccstream.spool.redis as module

    for name in module.__all__:
        assert getattr(module, name) is not None, name
    assert issubclass(SpoolFenced, SpoolError)


async def test_connections_cut_mid_run_lose_and_double_nothing(
    redis_store: RedisStore, redis_server: RedisServer
) -> None:
    child = (
        "import sys, time\n"
        "for i in range(60): sys.stdout.write('%06d' % i * 20000 + '\\n'); "
        "sys.stdout.flush(); time.sleep(0.01)"
    )
    spool = _options(store=redis_store, key="cut", keep=True)
    async with (
        RedisStore.from_url(redis_server.url, prefix="killer") as killer,
        ccstream.stream([PY, "-c", child], ccstream.Options(spool=spool)) as run,
    ):
        with anyio.fail_after(20):
            for _ in range(6):
                await anyio.sleep(0.1)
                # Every other client's connection is cut, the store's in the middle of a flush
                # or not: coredis sends the command again, and the script knows it.
                await killer.client.client_kill(type_=coredis.PureToken.NORMAL, skipme=True)
            result = await run.wait()
    assert result.ok, result
    assert not result.gaps
    expected = b"".join(b"%06d" % i * 20000 + b"\n" for i in range(60))
    reader = await redis_store.aopen("cut")
    got = bytearray()
    async for event in reader.follow():
        assert isinstance(event, Output)
        assert event.offset == len(got)
        got += event.data
    assert bytes(got) == expected
    state = await reader.state()
    assert state.sizes == (len(expected), 0)
    reader.close()
