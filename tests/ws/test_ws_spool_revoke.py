"""An evicted spool is taken from its readers at once: a follower holding a frame does not keep
the files on disk, and is told why when it asks for the next one."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

import ccstream
from ccstream import Output
from ccstream.spool import LocalStore
from ccstream_ws.server._budget import spool_options
from ccstream_ws.server._config import ServerConfig


def _open_files(directory: Path) -> list[str]:
    """The files under ``directory`` this process holds open (Linux: /proc/self/fd)."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return []
    held = []
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(directory)):
            held.append(target)
    return held


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _ended_spool(tmp_path: Path, name: str) -> LocalStore:
    config = ServerConfig(spool_directory=str(tmp_path))
    store = LocalStore(tmp_path)
    spool = dataclasses.replace(spool_options(config, name), directory=None, store=store, key=name)
    options = ccstream.Options(spool=spool)
    async with ccstream.stream(["seq", "1", "200000"], options) as run:
        assert (await run.wait()).ok
    return store


@pytest.mark.anyio
async def test_revoke_closes_a_follower_holding_a_frame_and_frees_the_disk(
    tmp_path: Path,
) -> None:
    store = await _ended_spool(tmp_path, "e")
    spool = store.open("e")
    events = spool.follow()
    first = await events.__anext__()
    assert isinstance(first, Output)
    assert not store.removed("e")
    # The consumer holds a frame (a slow client's socket): revoking does not wait for it, and
    # the reader's files are closed now, so the deletion frees the disk at once.
    store.revoke("e", "evicted for the test")
    assert not _open_files(tmp_path / "e")
    await store.remove("e")
    assert store.removed("e")
    assert not (tmp_path / "e").exists()
    with pytest.raises(ccstream.SpoolNotFound, match="evicted for the test"):
        await events.__anext__()
    with pytest.raises(ccstream.SpoolNotFound, match="evicted for the test"):
        await spool.page(0, 1)
    with pytest.raises(ccstream.SpoolNotFound, match="evicted for the test"):
        store.open("e")
    spool.close()


@pytest.mark.anyio
async def test_a_follow_started_after_revoke_fails_with_the_reason(tmp_path: Path) -> None:
    store = await _ended_spool(tmp_path, "f")
    spool = store.open("f")
    await store.remove("f", "evicted")
    assert not (tmp_path / "f").exists()
    with pytest.raises(ccstream.SpoolNotFound, match="evicted"):
        async for _ in spool.follow():
            pass
    spool.close()
