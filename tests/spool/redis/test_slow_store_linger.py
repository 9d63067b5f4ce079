"""A store that is slow when the child exits: what the child left in its pipes is still read —
the time the pumps wait for the store to take their backlog is not the child's descendants
lingering (``Options.linger``)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import anyio
import pytest

import ccstream
from ccstream import Options, SpoolOptions
from ccstream.spool.redis import RedisStore
from tests._redis import redis_server

pytestmark = pytest.mark.anyio

SIZE = 512 << 10
"""Over the sink's backlog limit (half its 256 KiB of memory), under the 1 MiB pipe: the child
writes it all and exits while most of it is still in the pipe."""
CHILD = f"import sys\nsys.stdout.buffer.write(b'x' * {SIZE})\n"


def _debug_sleep(port: int, seconds: float) -> None:
    """Block the Redis server for ``seconds`` (``DEBUG SLEEP``), as a busy one would be."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"DEBUG SLEEP {seconds}\r\n".encode())
        assert s.recv(64).startswith(b"+OK")


async def test_output_left_in_the_pipes_is_read_while_the_store_is_slow(tmp_path: Path) -> None:
    with redis_server(tmp_path, "--enable-debug-command", "yes") as redis:
        async with RedisStore.from_url(redis.url) as store, anyio.create_task_group() as group:
            spool = SpoolOptions(store=store, key="slow", memory=256 << 10)
            options = Options(linger=0.2, spool=spool)
            # Redis stalls for far longer than the linger while the child writes and exits.
            group.start_soon(anyio.to_thread.run_sync, _debug_sleep, redis.port, 1.5)
            await anyio.sleep(0.2)
            async with ccstream.stream([sys.executable, "-c", CHILD], options) as run:
                result = await run.wait()
            state = await store.astate("slow")
    assert result.ok
    assert not result.lingering_killed
    assert result.stdout.bytes == SIZE
    assert state.sizes[0] == SIZE
