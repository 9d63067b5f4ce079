"""The Redis store, run by hand: throughput of a run spooled to Redis against one spooled to the
local disk, and the Redis memory each byte kept costs.

    .venv/bin/python benchmarks/bench_redis.py [--size-mib 1024] [--repeats 3] [--backend asyncio]
    .venv/bin/python benchmarks/bench_redis.py --latency [--lines 500] [--backend asyncio]
    .venv/bin/python benchmarks/bench_redis.py --replay [--size-mib 256] [--repeats 3]

Each round runs ``cat`` of a file of random bytes (``--size-mib`` MiB) with a consumer that
counts the bytes, once spooled to a local directory and once through a :class:`RedisStore` on a
redis-server this script starts on a free loopback port (``--save ''``, no AOF: what Redis keeps
in memory is what is measured), interleaved. After each Redis round, the growth of Redis'
``used_memory`` (``INFO memory``) over the bytes kept is the memory ratio (target: at most
1.05); the spool is then removed. Prints the medians and the median ratio of the times.

``--latency``: a child prints a line with its time every 10 ms; the run writes through one
store, and a follower reads through a second store on the same Redis (its own connections, as
another node: it sees only what Redis holds, woken by the spool's tailer). Prints the median and
the 90th percentile of the time from a line's print to its arrival at the follower.

``--replay``: a resuming reader on another node: the ended spool of ``--size-mib`` MiB is
followed from offset 0 through a second store (Redis) against ``Spool.open`` of the same output
spooled to a local directory (from the page cache), interleaved.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

import ccstream
from _common import MiB, interleave, report, write_blob
from ccstream._options import SpoolOptions
from ccstream.spool.local._remove import wait_removals
from ccstream.spool.redis import RedisStore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests._redis import redis_server


async def _consume(path: Path, spool: SpoolOptions) -> int:
    total = 0
    async with ccstream.stream(["cat", str(path)], ccstream.Options(spool=spool)) as run:
        async for event in run:
            if isinstance(event, ccstream.Output):
                total += len(event.data)
    assert run.result.ok, run.result
    assert not run.result.gaps, run.result.gaps
    return total


_TICKER = """
import sys, time
for _ in range(int(sys.argv[1])):
    print(repr(time.time()), flush=True)
    time.sleep(0.01)
"""


async def _latency(url: str, lines: int) -> list[float]:
    delays: list[float] = []
    async with RedisStore.from_url(url) as node_a, RedisStore.from_url(url) as node_b:
        spool = SpoolOptions(store=node_a, key="latency", keep=True)
        argv = [sys.executable, "-c", _TICKER, str(lines)]
        async with ccstream.stream(argv, ccstream.Options(spool=spool)) as run:
            await node_a.ready("latency")
            reader = await node_b.aopen("latency")
            carry = b""
            async with anyio.create_task_group() as tg:
                tg.start_soon(run.wait)
                async for event in reader.follow(streams=["stdout"]):
                    now = time.time()
                    assert isinstance(event, ccstream.Output)
                    *whole, carry = (carry + bytes(event.data)).split(b"\n")
                    delays += [now - float(line) for line in whole]
            reader.close()
        await node_a.remove("latency")
    return delays


async def _replay(spool: ccstream.Spool) -> int:
    total = 0
    async for event in spool.follow():
        assert isinstance(event, ccstream.Output)
        total += len(event.data)
    spool.close()
    return total


def replay(args: argparse.Namespace, size: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ccstream-bench-", dir=args.dir) as tmp:
        root = Path(tmp)
        blob = write_blob(root, size)
        anyio.run(_consume, blob, SpoolOptions(directory=root / "kept", keep=True))
        with redis_server(root) as server:

            async def write() -> None:
                async with RedisStore.from_url(server.url) as store:
                    await _consume(blob, SpoolOptions(store=store, key="replay", keep=True))

            anyio.run(write)

            def local() -> float:
                start = time.perf_counter()
                total = anyio.run(_replay, ccstream.Spool.open(root / "kept"))
                assert total == size, total
                return time.perf_counter() - start

            def redis() -> float:
                async def once() -> float:
                    async with RedisStore.from_url(server.url) as node:
                        start = time.perf_counter()
                        total = await _replay(await node.aopen("replay"))
                        assert total == size, total
                        return time.perf_counter() - start

                return anyio.run(once, backend=args.backend)

            print(
                f"{args.size_mib} MiB replayed from offset 0 on {args.backend}: a local spool "
                f"against the same from Redis through another store, {args.repeats} rounds"
            )
            times = interleave([("local replay", local), ("redis replay", redis)], args.repeats)
    report(times, "local replay", size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backend", default="asyncio", choices=("asyncio", "trio"))
    parser.add_argument("--dir", default=None, help="where the blob and the local spool go")
    parser.add_argument("--latency", action="store_true", help="follow latency across stores")
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--replay", action="store_true", help="replay from another store")
    args = parser.parse_args()
    if args.replay:
        replay(args, args.size_mib * MiB)
        return
    if args.latency:
        with (
            tempfile.TemporaryDirectory(prefix="ccstream-bench-") as tmp,
            redis_server(Path(tmp)) as server,
        ):
            delays = anyio.run(_latency, server.url, args.lines, backend=args.backend)
        assert len(delays) == args.lines, len(delays)
        ms = sorted(d * 1000 for d in delays)
        print(
            f"{args.lines} lines, one every 10 ms, written through one store and followed "
            f"through another on {args.backend}: median {statistics.median(ms):.1f} ms, "
            f"90th percentile {ms[int(len(ms) * 0.9)]:.1f} ms, max {ms[-1]:.1f} ms"
        )
        return
    size = args.size_mib * MiB
    memory: list[float] = []
    rounds = iter(range(1_000_000))
    with tempfile.TemporaryDirectory(prefix="ccstream-bench-", dir=args.dir) as tmp:
        root = Path(tmp)
        blob = write_blob(root, size)
        with redis_server(root) as server:

            def local() -> float:
                start = time.perf_counter()
                total = anyio.run(_consume, blob, SpoolOptions(directory=root / "spool"))
                elapsed = time.perf_counter() - start
                assert total == size, total
                wait_removals()  # the background deletion is not the next round's cost
                return elapsed

            def redis() -> float:
                key = f"bench-{next(rounds)}"

                async def once() -> float:
                    async with RedisStore.from_url(server.url) as store:
                        before = await store.client.info("memory")
                        start = time.perf_counter()
                        total = await _consume(blob, SpoolOptions(store=store, key=key, keep=True))
                        elapsed = time.perf_counter() - start
                        assert total == size, total
                        after = await store.client.info("memory")
                        grown = int(str(after["used_memory"])) - int(str(before["used_memory"]))
                        memory.append(grown / size)
                        await store.remove(key)
                        return elapsed

                return anyio.run(once, backend=args.backend)

            print(
                f"{args.size_mib} MiB through cat on {args.backend}, spooled to the local disk "
                f"and to Redis, {args.repeats} interleaved rounds"
            )
            times = interleave([("local spool", local), ("redis spool", redis)], args.repeats)
    report(times, "local spool", size)
    print(
        f"Redis used_memory per byte kept: median {statistics.median(memory):.4f}x "
        f"(rounds: {', '.join(f'{m:.4f}' for m in memory)})"
    )


if __name__ == "__main__":
    main()
