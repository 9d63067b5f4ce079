"""Spooled executions end to end: resume after a dropped connection, pagination, reattaching a
detached execution, quota gaps, where spools live and when they go."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

import ccstream
from ccstream_ws import Client, ConnectionLost, Notice, RemoteOutput, RPCError

from ._raw import raw
from .conftest import Server, ServerPool

pytestmark = pytest.mark.anyio
PY = sys.executable
MiB = 1024 * 1024

# About 4 MiB on stdout in 64 writes 10 ms apart (so a resume meets both replay and live output),
# and a line on stderr after each.
STREAMING = (
    "import hashlib, sys, time\n"
    "for i in range(64):\n"
    "    sys.stdout.buffer.write(hashlib.sha256(b'%d' % i).digest() * 2048); sys.stdout.flush()\n"
    "    sys.stderr.write(f'block {i}\\n'); sys.stderr.flush()\n"
    "    time.sleep(0.01)\n"
)
LINES = 25_000


def _streaming_expected() -> tuple[bytes, bytes]:
    out = b"".join(hashlib.sha256(b"%d" % i).digest() * 2048 for i in range(64))
    err = b"".join(b"block %d\n" % i for i in range(64))
    return out, err


def _lines() -> list[bytes]:
    return [b"line %d %s\n" % (i, b"." * (i % 50)) for i in range(LINES)]


LINES_CHILD = (
    f"import sys\nfor i in range({LINES}): sys.stdout.write(f'line {{i}} ' + '.' * (i % 50) + "
    "'\\n')\nsys.stderr.write('done\\n')\n"
)


@pytest.fixture(scope="session")
def spool_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spools")


@pytest.fixture
def quota_server(servers: ServerPool, kind: str, spool_root: Path) -> Server:
    """A server whose spools live in ``spool_root/<kind>`` with a 1 MiB quota per execution."""
    directory = spool_root / kind
    return servers.get(kind, {"spool_directory": str(directory), "spool_quota": MiB})


async def test_dropped_connection_resumes_byte_exact(server: Server) -> None:
    out, err = _streaming_expected()
    received: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
    async with Client(server.url, compression=None, queue_size=4) as first:
        execution = await first.execute(
            [PY, "-c", STREAMING], detach=True, output_options={"encoding": "binary"}
        )
        async for event in execution:
            if isinstance(event, RemoteOutput):
                received[event.stream].append(event.data)
                if sum(map(len, received["stdout"])) >= MiB:
                    break
        await first.drop()
    offsets = dict(execution.offsets)
    assert offsets["stdout"] == sum(map(len, received["stdout"]))
    assert offsets["stderr"] == sum(map(len, received["stderr"]))
    assert 0 < offsets["stdout"] < len(out)
    async with Client(server.url, compression=None) as second:
        rest = await second.subscribe(
            execution.id, offsets, output_options={"encoding": "binary", "chunk_size": 32768}
        )
        async for event in rest:
            if isinstance(event, RemoteOutput):
                assert event.offset == offsets[event.stream]
                offsets[event.stream] += len(event.data)
                received[event.stream].append(event.data)
        assert rest.completion is not None
        assert rest.completion.status == "completed"
    got_out, got_err = b"".join(received["stdout"]), b"".join(received["stderr"])
    assert hashlib.sha256(got_out).digest() == hashlib.sha256(out).digest()
    assert got_err == err


@pytest.mark.asyncio_only
async def test_text_frames_resume_at_their_byte_offsets(server: Server) -> None:
    expected = b"".join(_lines())
    async with raw(server.url) as c:
        await c.recv()
        answer = await c.call("execute", {"argv": [PY, "-c", LINES_CHILD], "detach": True})
        eid = answer["result"]["execution_id"]
        frame = await c.until("process.output")
        first = frame["params"]
    # The connection closes; a new one asks for the rest of stdout, in text frames.
    async with raw(server.url) as c:
        await c.recv()
        offset = first["offset"] + first["size"]
        answer = await c.call(
            "subscribe",
            {
                "execution_id": eid,
                "offsets": {"stdout": offset, "stderr": 0},
                "output_options": {"streams": ["stdout"]},
            },
        )
        assert answer["result"]["status"] == "subscribed"
        await c.until("process.completed")
        frames = [m["params"] for m in c.seen if m.get("method") == "process.output"]
    text = first["data"] + "".join(f["data"] for f in frames)
    assert text.encode() == expected
    assert frames[0]["offset"] == offset


async def test_pagination_walks_every_line_exactly_once(server: Server) -> None:
    lines = _lines()
    async with Client(server.url) as client:
        execution = await client.execute(
            [PY, "-c", LINES_CHILD], output_options={"max_lines": 1000, "pagination": True}
        )
        head = b""
        notices = []
        async for event in execution:
            if isinstance(event, RemoteOutput) and event.stream == "stdout":
                head += event.data
            elif isinstance(event, Notice):
                notices.append(event)
        assert head == b"".join(lines[:1000])
        truncated = [n.params for n in notices if n.method == "process.truncated"]
        assert truncated[0]["next_line"] == 1000
        assert truncated[0]["paginated"] is True
        assert execution.completion is not None
        account = execution.completion.params["output"]["stdout"]
        assert account["next_line"] == 1000
        assert account["omitted_lines"] == LINES - 1000
        # The rest with page, from next_line until the stream is complete.
        seen = [line.decode() for line in lines[:1000]]
        line = account["next_line"]
        calls = 0
        while True:
            page = await execution.page(line=line, count=7000)
            calls += 1
            assert page.first_line == line
            seen += [each.decode() for each in page.lines]
            line = page.next_line
            if line >= page.known_lines and page.complete:
                break
        assert seen == [each.decode() for each in lines]
        assert calls == 4
        assert page.known_lines == LINES
        assert page.gaps == ()
        tail = await client.call(
            "page",
            {"execution_id": execution.id, "stream": "stderr", "encoding": "base64", "count": 5},
        )
        assert tail["lines"] == ["ZG9uZQo="]
        assert tail["complete"] is True


async def test_detached_execution_is_reattached_from_another_connection(server: Server) -> None:
    script = (
        "import sys, time\nprint('before', flush=True)\ntime.sleep(0.6)\nprint('after')\n"
        "sys.exit(3)\n"
    )
    async with Client(server.url) as first:
        detached = await first.execute([PY, "-c", script], detach=True)
        attached = await first.execute(["sleep", "30"])
        async for event in detached:
            if isinstance(event, RemoteOutput):
                break
    # The first connection closed: the attached run was cancelled, the detached one goes on.
    async with Client(server.url) as second:
        state = await second.status(detached.id)
        assert state.state == "running"
        assert state.detached is True
        assert state.argv == (PY, "-c", script)
        assert state.result is None
        again = await second.subscribe(detached.id)
        out, _, completion = await again.collect()
        assert out == b"before\nafter\n"
        assert completion.status == "failed"
        assert completion.exit_code == 3
        assert completion.reason == "exited"
        with pytest.raises(RPCError) as info:
            await second.status(attached.id)
        assert info.value.code == -32002


async def test_subscribe_and_page_refusals(server: Server) -> None:
    async with Client(server.url) as client:
        with pytest.raises(RPCError) as info:
            await client.subscribe("0" * 32)
        assert info.value.code == -32002
        with pytest.raises(RPCError) as info:
            await client.page("0" * 32)
        assert info.value.code == -32002
        execution = await client.execute(["printf", "abc"])
        await execution.wait()
        with pytest.raises(RPCError) as info:
            await client.subscribe(execution.id, {"stdout": 4})
        assert info.value.code == -32602
        # From the very end: nothing more, then the completion.
        end = await client.subscribe(execution.id, {"stdout": 3})
        out, _, completion = await end.collect()
        assert out == b""
        assert completion.status == "completed"


async def test_quota_gaps_reach_clients_as_process_gap(quota_server: Server) -> None:
    count = 400_000  # lines of 10 bytes: 4 MB, four times the quota
    size = count * 10
    child = f"import sys\nsys.stdout.write(''.join(f'{{i:09d}}\\n' for i in range({count})))\n"
    async with Client(quota_server.url, compression=None) as client:
        execution = await client.execute(
            [PY, "-c", child], output_options={"encoding": "binary"}, detach=True
        )
        await execution.wait()
        replay = await client.subscribe(execution.id, output_options={"encoding": "binary"})
        data = bytearray()
        gaps: list[dict[str, Any]] = []
        async for event in replay:
            if isinstance(event, RemoteOutput):
                assert event.offset == len(data) + sum(g["bytes"] for g in gaps)
                data += event.data
            elif isinstance(event, Notice) and event.method == "process.gap":
                gaps.append(event.params)
        assert len(gaps) == 1
        gap = gaps[0]
        assert gap["reason"] == "quota"
        assert gap["type"] == "stdout"
        assert len(data) + gap["bytes"] == size
        assert len(data) <= MiB
        full = b"".join(b"%09d\n" % i for i in range(count))
        assert bytes(data) == full[: gap["offset"]] + full[gap["offset"] + gap["bytes"] :]
        assert gap["lines"] == full[gap["offset"] : gap["offset"] + gap["bytes"]].count(b"\n")
        # A page at a dropped line says so and moves past the gap.
        dropped = gap["offset"] // 10 + 1
        page = await client.page(execution.id, line=dropped, count=10)
        assert page.lines == ()
        assert page.gaps[0] == ccstream.Gap(
            "stdout", gap["offset"], gap["bytes"], gap["lines"], "quota"
        )
        # The first line wholly after the gap (the one its end cuts is not returned).
        assert page.next_line == -(-(gap["offset"] + gap["bytes"]) // 10)


async def test_spools_live_in_spool_dir_until_the_execution_is_dropped(
    quota_server: Server, spool_root: Path, kind: str
) -> None:
    directory = spool_root / kind
    async with Client(quota_server.url) as client:
        kept = await client.execute(["echo", "kept"])
        await kept.wait()
        assert (directory / kept.id / "spool.json").is_file()
        short = await client.execute(["echo", "short"], detach=True, retention=0.3)
        await short.wait()
    with anyio.fail_after(5):
        # Closing the connection drops the attached execution at once, the detached one after
        # its retention.
        # Polled: the files are the server's, it tells no one when it removes them.
        while (directory / kept.id).exists() or (directory / short.id).exists():  # noqa: ASYNC110
            await anyio.sleep(0.05)
    async with Client(quota_server.url) as client:
        with pytest.raises(RPCError) as info:
            await client.subscribe(short.id)
        assert info.value.code == -32002


async def test_a_subscriber_keeps_a_running_execution_after_its_owner_dropped(
    server: Server,
) -> None:
    # Not detached: the owner's drop cancels the run; a subscriber still gets it to the end.
    async with Client(server.url) as owner:
        execution = await owner.execute(["sh", "-c", "echo start; sleep 30"])
        # The drop must come after the child printed (a loaded machine may take a while to
        # start sh): what is under test is the subscriber, not a race with the spawn.
        with anyio.fail_after(10):
            async for event in execution:
                if isinstance(event, RemoteOutput):
                    break
        async with Client(server.url) as watcher:
            watched = await watcher.subscribe(execution.id)
            await owner.drop()
            out, _, completion = await watched.collect()
    assert out == b"start\n"
    assert completion.status == "canceled"
    with pytest.raises(ConnectionLost):
        await owner.status()


async def test_a_spool_that_cannot_be_made_refuses_the_execution(
    servers: ServerPool, kind: str, tmp_path: Path
) -> None:
    spools = tmp_path / "spools"
    spools.mkdir()
    server = servers.get(kind, {"spool_directory": str(spools)})
    # Usable at start (else the server would not start); unusable now: a file in its place.
    spools.rmdir()
    spools.write_text("not a directory")
    async with Client(server.url) as client:
        with pytest.raises(RPCError) as info:
            await client.execute(["echo", "hi"])
        assert info.value.code == -32005
        assert "spool" in info.value.message
        # The connection carries on.
        assert (await client.call("ping"))["pong"] is True
