"""The conformance suite of :mod:`ccstream.spool.testing` against the Redis store, on asyncio
and trio: one test per check, each on a fresh store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from ccstream.spool import Store
from ccstream.spool.redis import RedisStore
from ccstream.spool.testing import CHECKS

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
async def test_the_redis_store_passes(
    redis_store: RedisStore, check: Callable[[Store], Awaitable[None]]
) -> None:
    await check(redis_store)
