"""The spool memory shared by busy writers: each busy one gets an equal share, at least its
own memory and at most the pool's ``most``; an idle or closed one gives its share back; a
writer's cache of recent frames grows with its share."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccstream import InvalidOption, SpoolOptions
from ccstream._chunker import Chunker
from ccstream.spool import MemoryPool
from ccstream.spool._memory import IDLE_AFTER
from ccstream.spool.local import SpoolWriter

MiB = 1024 * 1024


def test_one_busy_writer_gets_the_most() -> None:
    pool = MemoryPool(64 * MiB, most=16 * MiB)
    assert pool.grant("a", 2 * MiB, 0.0) == 16 * MiB


def test_busy_writers_share_the_pool_and_keep_their_own_memory() -> None:
    pool = MemoryPool(64 * MiB, most=16 * MiB)
    writers = [f"w{i}" for i in range(64)]
    grants = [pool.grant(w, 2 * MiB, 0.0) for w in writers]
    assert grants[-1] == 2 * MiB  # 1 MiB each, but never less than its own memory
    assert pool.busy == 64
    eight = MemoryPool(64 * MiB, most=16 * MiB)
    assert [eight.grant(w, 256 * 1024, 0.0) for w in writers[:8]][-1] == 8 * MiB


def test_idle_and_closed_writers_give_their_share_back() -> None:
    pool = MemoryPool(64 * MiB, most=64 * MiB)
    pool.grant("a", MiB, 0.0)
    assert pool.grant("b", MiB, 0.0) == 32 * MiB
    # "a" wrote nothing for longer than IDLE_AFTER: "b" is alone.
    assert pool.grant("b", MiB, IDLE_AFTER + 0.5) == 64 * MiB
    assert pool.grant("a", MiB, IDLE_AFTER + 0.6) == 32 * MiB
    pool.leave("a")
    assert pool.grant("b", MiB, IDLE_AFTER + 0.61) == 64 * MiB


@given(st.integers(1, 100), st.integers(1, 1 << 30), st.integers(256 * 1024, 64 * MiB))
def test_shares_never_exceed_the_pool_unless_own_memory_does(
    writers: int, total: int, floor: int
) -> None:
    pool = MemoryPool(total)
    grants = [pool.grant(i, floor, 0.0) for i in range(writers)]
    # Once every writer has asked, each holds the same share.
    final = pool.grant(0, floor, 0.0)
    assert final * writers <= max(total, floor * writers)
    assert all(g >= floor for g in grants)


def test_bad_pools_are_refused() -> None:
    with pytest.raises(InvalidOption):
        MemoryPool(0)
    with pytest.raises(InvalidOption):
        MemoryPool(MiB, most=True)
    with pytest.raises(InvalidOption, match="memory_pool"):
        SpoolOptions(memory_pool=object())  # type: ignore[arg-type]


def test_a_writers_cache_grows_to_its_share(tmp_path: Path) -> None:
    pool = MemoryPool(64 * MiB, most=16 * MiB)
    options = SpoolOptions(directory=tmp_path / "s", memory=2 * MiB, memory_pool=pool)
    writer = SpoolWriter(options)
    assert writer.cache_bytes == 512 * 1024
    frames = Chunker("stdout", chunk_size=64 * 1024).feed(b"x" * MiB)
    assert writer.append("stdout", frames) is not None
    # The share above its own memory goes to the cache; the hand-offs and the backlog keep
    # their sizes.
    assert writer.cache_bytes == 512 * 1024 + 16 * MiB - 2 * MiB
    assert writer.flush_bytes == 512 * 1024
    assert writer.backlog_limit == MiB
    writer.close()
    assert pool.busy == 0, "a closed writer still holds its share"
    writer.remove()
