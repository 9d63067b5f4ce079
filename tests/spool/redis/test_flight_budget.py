"""The flush scripts a store has in flight stay within its ``flight_bytes`` while Redis is
slow, whatever the number of runs writing through it, and every run's output is stored whole."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import anyio
import pytest

import ccstream
from ccstream import Options, SpoolOptions
from ccstream.spool.redis import RedisStore
from ccstream.spool.redis._flight import FlightBudget
from tests._redis import redis_server

pytestmark = pytest.mark.anyio

RUNS = 12
SIZE = 2 << 20
MEMORY = 256 << 10
FLIGHT = 2 << 20
"""Two of the largest flushes (a 1 MiB read of the pump is one hand-off): unbounded, the 12
runs' flushes held 12 MiB in flight during the stall."""
CHILD = f"import sys\nsys.stdout.buffer.write(b'y' * {SIZE})\n"


def _debug_sleep(port: int, seconds: float) -> None:
    """Block the Redis server for ``seconds`` (``DEBUG SLEEP``), as a busy one would be."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"DEBUG SLEEP {seconds}\r\n".encode())
        assert s.recv(64).startswith(b"+OK")


async def test_flushes_in_flight_stay_within_the_stores_budget_while_redis_is_slow(
    tmp_path: Path,
) -> None:
    results = []
    with redis_server(tmp_path, "--enable-debug-command", "yes") as redis:
        async with RedisStore.from_url(redis.url, flight_bytes=FLIGHT) as store:

            async def run(n: int) -> None:
                spool = SpoolOptions(store=store, key=f"f{n}", memory=MEMORY, keep=True)
                async with ccstream.stream(
                    [sys.executable, "-c", CHILD], Options(spool=spool)
                ) as r:
                    results.append(await r.wait())

            with anyio.fail_after(30):
                async with anyio.create_task_group() as group:
                    for n in range(RUNS):
                        group.start_soon(run, n)
                    await anyio.sleep(0.3)
                    # Redis stalls while every run has output to store: flushes pile up.
                    await anyio.to_thread.run_sync(_debug_sleep, redis.port, 0.5)
            states = [await store.astate(f"f{n}") for n in range(RUNS)]
            peak, used = store.flights.peak, store.flights.used
    assert len(results) == RUNS
    assert all(result.ok and result.stdout.bytes == SIZE for result in results)
    assert [state.sizes[0] for state in states] == [SIZE] * RUNS
    assert 0 < peak <= FLIGHT
    assert used == 0


async def test_a_flush_larger_than_the_budget_goes_alone_and_waiters_go_in_order() -> None:
    budget = FlightBudget(100)
    order: list[str] = []

    async def flush(name: str, nbytes: int, hold: anyio.Event) -> None:
        async with budget.hold(nbytes):
            order.append(name)
            await hold.wait()

    first, big, small = anyio.Event(), anyio.Event(), anyio.Event()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(flush, "first", 60, first)
            await anyio.sleep(0.01)
            group.start_soon(flush, "big", 500, big)
            await anyio.sleep(0.01)
            group.start_soon(flush, "small", 10, small)  # fits, yet waits behind "big"
            await anyio.sleep(0.01)
            assert order == ["first"]
            first.set()
            await anyio.sleep(0.01)
            assert order == ["first", "big"]
            assert budget.used == 500
            big.set()
            small.set()
    assert order == ["first", "big", "small"]
    assert budget.used == 0
    assert budget.peak == 500
