"""The conformance suite of :mod:`ccstream.spool.testing`, against every store of
``conftest.STORES``, on asyncio and trio: one test per check, each on a fresh store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from ccstream.spool import Store
from ccstream.spool.testing import CHECKS, StoreFactory, check_store

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
async def test_the_store_passes(
    store_factory: StoreFactory, check: Callable[[Store], Awaitable[None]], tmp_path: Path
) -> None:
    await check(store_factory(tmp_path))


async def test_check_store_runs_every_check_on_a_fresh_store(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    made: list[Path] = []

    def make(directory: Path) -> Store:
        made.append(directory)
        return store_factory(directory)

    await check_store(make, tmp_path)
    assert len(made) == len(CHECKS) == len(set(made))
