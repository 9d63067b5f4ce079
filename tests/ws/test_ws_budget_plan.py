"""The spool budget's arithmetic, sans-I/O: reservations, admission, eviction order, and the
settings that derive from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccstream.spool.local._usage import disk_bytes
from ccstream_ws import ServerConfig
from ccstream_ws.exceptions import ConfigError
from ccstream_ws.server._budget import (
    ALLOWANCE_FLOOR,
    SEGMENT_MAX,
    SPOOL_MEMORY,
    SPOOL_MEMORY_MOST,
    Holding,
    admit,
    hold_outlives_owner,
    memory_pool,
    quota_for,
    reader_hold,
    reservation,
    shed,
    spool_options,
)

MiB = 1024 * 1024
GiB = 1024 * MiB

holdings_st = st.lists(
    st.builds(
        Holding,
        key=st.uuids().map(str),
        size=st.integers(0, 64 * MiB),
        evictable=st.booleans(),
        ended_at=st.floats(0, 1e6, allow_nan=False),
    ),
    max_size=20,
    unique_by=lambda h: h.key,
)


@given(holdings_st, st.integers(1, 512 * MiB), st.integers(0, 64 * MiB))
def test_admission_never_exceeds_the_budget_and_evicts_the_first_ended_first(
    holdings: list[Holding], budget: int, need: int
) -> None:
    plan = admit(budget, holdings, need)
    by_key = {h.key: h for h in holdings}
    left = [h for h in holdings if h.key not in plan.evict]
    if plan.admitted:
        assert plan.used == sum(h.size for h in left) + need <= budget
        evicted = [by_key[k] for k in plan.evict]
        assert all(h.evictable for h in evicted)
        # Oldest first, and none spared that ended before one evicted.
        assert [h.ended_at for h in evicted] == sorted(h.ended_at for h in evicted)
        if evicted:
            last = evicted[-1].ended_at
            assert all(h.ended_at >= last for h in left if h.evictable)
            # Each eviction was needed: without the last one it would not have fitted.
            assert plan.used + evicted[-1].size > budget
    else:
        assert plan.evict == ()
        assert sum(h.size for h in holdings if not h.evictable) + need > budget


@given(holdings_st, st.integers(1, 512 * MiB))
def test_shedding_evicts_oldest_first_until_within_the_budget_or_none_left(
    holdings: list[Holding], budget: int
) -> None:
    evict = shed(budget, holdings)
    left = [h for h in holdings if h.key not in evict]
    assert sum(h.size for h in left) <= budget or not any(h.evictable for h in left)


@given(st.integers(0, 64 * GiB))
def test_quota_for_a_share_is_the_largest_whose_reservation_fits(share: int) -> None:
    quota = quota_for(share)
    if quota > 0:
        assert reservation(quota) <= share
    assert reservation(quota + 1) > share


def test_reservation_is_the_quota_plus_a_segment() -> None:
    assert reservation(MiB) == MiB + 64 * 1024 + ALLOWANCE_FLOOR
    assert reservation(16 * GiB) == 16 * GiB + SEGMENT_MAX + ALLOWANCE_FLOOR


def test_default_budget_is_room_for_max_executions_at_their_quota() -> None:
    config = ServerConfig(max_executions=2, spool_quota=64 * MiB)
    assert config.budget == 2 * reservation(64 * MiB)
    assert config.execution_quota == 64 * MiB
    # Neither a quota nor a budget: no bound at all, as asked.
    assert ServerConfig(spool_quota=None).budget is None


def test_a_budget_without_a_quota_gives_each_execution_its_share() -> None:
    config = ServerConfig(max_executions=4, spool_quota=None, spool_budget=100 * MiB)
    quota = config.execution_quota
    assert quota is not None
    assert 4 * reservation(quota) <= 100 * MiB < 4 * reservation(quota + 4096)
    assert spool_options(config, "e").quota == quota


def test_a_budget_too_small_for_one_execution_is_refused() -> None:
    with pytest.raises(ConfigError, match="does not hold one execution"):
        ServerConfig(spool_quota=64 * MiB, spool_budget=64 * MiB)
    with pytest.raises(ConfigError, match="does not hold one execution"):
        ServerConfig(max_executions=64, spool_quota=None, spool_budget=32 * MiB)
    with pytest.raises(ConfigError):
        ServerConfig(spool_budget=1000)


def test_disk_bytes_counts_files_directories_and_blocks(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    (root / "sub").mkdir(parents=True)
    (root / "a").write_bytes(b"x" * 10_000)
    (root / "sub" / "b").write_bytes(b"y")
    sparse = root / "sparse"
    with sparse.open("wb") as f:
        f.truncate(5 * MiB)
    size = disk_bytes(root)
    # Every file at least its length (the sparse one too), and the directories themselves.
    assert size >= 10_000 + 1 + 5 * MiB
    assert size <= 10_000 + 1 + 5 * MiB + 64 * 1024
    assert disk_bytes(tmp_path / "missing") == 0


def test_the_quota_holds_for_the_owners_reader_as_on_quota_says() -> None:
    # "pause": held each time the last reader leaves, and after the owner left as well.
    assert reader_hold("pause") is True
    assert hold_outlives_owner("pause")
    # "auto": held for the first reader only, and let go when the owner leaves.
    assert reader_hold("auto") is False
    assert not hold_outlives_owner("auto")
    # "drop": never held.
    assert reader_hold("drop") is None


def test_the_servers_spool_memory_is_one_pool_for_its_executions() -> None:
    pool = memory_pool()
    assert (pool.total, pool.most) == (SPOOL_MEMORY, SPOOL_MEMORY_MOST)
    options = spool_options(ServerConfig(), "e", pool=pool)
    assert options.memory_pool is pool
    assert spool_options(ServerConfig(), "e").memory_pool is None
