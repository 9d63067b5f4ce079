"""The conformance suite of :mod:`ccstream.spool.testing`, against the local store, on asyncio
and trio: one test per check, each on a fresh store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from ccstream.spool import LocalStore, Store
from ccstream.spool.testing import CHECKS, check_store

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
async def test_the_local_store_passes(
    check: Callable[[Store], Awaitable[None]], tmp_path: Path
) -> None:
    await check(LocalStore(tmp_path))


async def test_check_store_runs_every_check_on_a_fresh_store(tmp_path: Path) -> None:
    made: list[Path] = []

    def make(directory: Path) -> Store:
        made.append(directory)
        return LocalStore(directory)

    await check_store(make, tmp_path)
    assert len(made) == len(CHECKS) == len(set(made))
