"""The client's own connection, on asyncio and on trio: permessage-deflate negotiated when it is
offered, keepalive pings that leave a quiet run alone, a failed connection as ConnectionLost."""

from __future__ import annotations

import hashlib

import anyio
import pytest

from ccstream_ws import Client, ConnectionLost, RemoteOutput
from ccstream_ws.client._queue import Closed, Queue

from .conftest import Server, free_port

pytestmark = pytest.mark.anyio

COMPRESSIBLE = "import sys; sys.stdout.write('the same line, again and again\\n' * 100_000)"


def _extensions(client: Client) -> list[str]:
    assert client._ws is not None
    return [extension.name for extension in client._ws.protocol.extensions]


@pytest.mark.parametrize("compression", ["deflate", None])
async def test_permessage_deflate_is_negotiated_only_when_offered_and_output_stays_exact(
    server: Server, compression: str | None
) -> None:
    expected = b"the same line, again and again\n" * 100_000
    async with Client(server.url, compression=compression) as client:  # type: ignore[arg-type]
        assert _extensions(client) == (["permessage-deflate"] if compression else [])
        for encoding in ("binary", "text"):
            execution = await client.execute(
                ["python3", "-c", COMPRESSIBLE], output_options={"encoding": encoding}
            )
            out, err, completion = await execution.collect()
            assert hashlib.sha256(out).digest() == hashlib.sha256(expected).digest()
            assert (err, completion.exit_code, completion.losses) == (b"", 0, ())


async def test_pings_leave_a_quiet_run_and_its_output_alone(server: Server) -> None:
    async with Client(server.url, ping_interval=0.02) as client:
        execution = await client.execute(["sh", "-c", "sleep 0.4; echo done"])
        with anyio.fail_after(10):
            events = [event async for event in execution]
    output = [event for event in events if isinstance(event, RemoteOutput)]
    assert [event.data for event in output] == [b"done\n"]
    assert execution.completion is not None
    assert execution.completion.status == "completed"


async def test_a_connection_that_cannot_be_made_is_connection_lost() -> None:
    with pytest.raises(ConnectionLost) as info:
        async with Client(f"ws://127.0.0.1:{free_port()}/ws", open_timeout=5):
            pytest.fail("connected to a port nobody listens on")
    assert info.value.code is None
    assert "cannot connect" in str(info.value)


async def test_a_refused_upgrade_is_connection_lost(server: Server) -> None:
    with pytest.raises(ConnectionLost) as info:
        async with Client(server.url.replace("/ws", "/nowhere"), open_timeout=5):
            pytest.fail("upgraded on a path the server does not serve")
    # Refused before the upgrade (docs/protocol.md, Endpoints): HTTP 403, no WebSocket at all.
    assert info.value.code is None
    assert "403" in str(info.value)


async def test_the_event_queue_holds_at_most_its_size_and_drains_after_close() -> None:
    queue: Queue[int] = Queue(2)
    await queue.put(1)
    await queue.put(2)
    with anyio.move_on_after(0.05) as waited:
        await queue.put(3)  # full: the reader waits for the program
    assert waited.cancelled_caught
    async with anyio.create_task_group() as group:
        group.start_soon(queue.put, 3)
        await anyio.sleep(0.01)
        assert await queue.get() == 1  # makes room: the waiting put goes in
    queue.close()
    assert [await queue.get(), await queue.get()] == [2, 3]
    with pytest.raises(Closed):
        await queue.get()
    await queue.put(4)  # after close: dropped, nobody will take it
    with pytest.raises(Closed):
        await queue.get()
