"""An evicted spool is taken from its readers at once: a follower holding a frame does not keep
the files on disk, and is told why when it asks for the next one."""

from __future__ import annotations

from pathlib import Path

import pytest

import ccstream
from ccstream import Output
from ccstream_ws._config import ServerConfig
from ccstream_ws._spool import ExecutionSpool, spool_options


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _ended_spool(tmp_path: Path, name: str) -> ExecutionSpool:
    config = ServerConfig(spool_directory=str(tmp_path))
    options = ccstream.Options(spool=spool_options(config, name))
    async with ccstream.stream(["seq", "1", "200000"], options) as run:
        spool = ExecutionSpool(run.spool)
        assert (await run.wait()).ok
        await spool.retire()
    return spool


@pytest.mark.anyio
async def test_revoke_closes_a_follower_holding_a_frame_and_frees_the_disk(
    tmp_path: Path,
) -> None:
    spool = await _ended_spool(tmp_path, "e")
    events = spool.follow()
    first = await events.__anext__()
    assert isinstance(first, Output)
    assert not spool.deleted
    # The consumer holds a frame (a slow client's socket): revoking does not wait for it.
    await spool.revoke("evicted for the test")
    spool.remove()
    assert spool.deleted
    assert not (tmp_path / "e").exists()
    with pytest.raises(ccstream.SpoolNotFound, match="evicted for the test"):
        await events.__anext__()
    with pytest.raises(ccstream.SpoolNotFound, match="evicted for the test"):
        await spool.page(0, 1)


@pytest.mark.anyio
async def test_a_follow_started_after_revoke_fails_with_the_reason(tmp_path: Path) -> None:
    spool = await _ended_spool(tmp_path, "f")
    await spool.revoke("evicted")
    spool.remove()
    assert not (tmp_path / "f").exists()
    with pytest.raises(ccstream.SpoolNotFound, match="evicted"):
        async for _ in spool.follow():
            pass
