"""The conformance suite of :mod:`ccstream.spool.testing` against the Redis store, on asyncio
and trio: one test per check, each on a fresh store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import pytest

from ccstream import SpoolOptions
from ccstream.spool import Sink, Spool, SpoolState, Store
from ccstream.spool.redis import RedisStore
from ccstream.spool.testing import CHECKS
from tests._redis import RedisServer

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
async def test_the_redis_store_passes(
    redis_store: RedisStore, check: Callable[[Store], Awaitable[None]]
) -> None:
    await check(redis_store)


class _Apart(Store):
    """Writes through ``writer`` and reads through ``reader``: two stores on one Redis, as two
    nodes are, so the checks read what Redis holds (not the writer's memory)."""

    def __init__(self, writer: RedisStore, reader: RedisStore) -> None:
        self.writer = writer
        self.reader = reader

    def create(
        self, key: str, options: SpoolOptions, *, argv: Sequence[str] = (), mode: str = "binary"
    ) -> Sink:
        return self.writer.create(key, options, argv=argv, mode=mode)

    def open(self, key: str) -> Spool:
        return self.reader.open(key)

    async def aopen(self, key: str) -> Spool:
        await self.writer.ready(key)  # as a node publishes an execution once it is in Redis
        return await self.reader.aopen(key)

    def revoke(self, key: str, reason: str) -> None:
        self.reader.revoke(key, reason)

    async def remove(self, key: str, reason: str | None = None) -> bool:
        return await self.reader.remove(key, reason)

    def removed(self, key: str) -> bool:
        return self.reader.removed(key)

    def state(self, key: str) -> SpoolState:
        return self.reader.state(key)

    async def astate(self, key: str) -> SpoolState:
        return await self.reader.astate(key)

    def behind(self, key: str) -> list[int]:
        return self.reader.behind(key)

    def keys(self) -> list[str]:
        return self.reader.keys()

    async def usage(self, key: str) -> int:
        return await self.reader.usage(key)

    async def prune(self, older_than: float) -> list[str]:
        return await self.reader.prune(older_than)


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
async def test_a_second_store_on_the_same_redis_reads_what_the_first_wrote(
    redis_store: RedisStore,
    redis_server: RedisServer,
    check: Callable[[Store], Awaitable[None]],
) -> None:
    async with RedisStore.from_url(redis_server.url, prefix=redis_store.prefix) as reader:
        await check(_Apart(redis_store, reader))
