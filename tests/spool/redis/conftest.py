"""Fixtures of the Redis store's tests: an open :class:`RedisStore` on the session's real
redis-server (``tests/conftest.py``), under a prefix of its own per test."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

from ccstream.spool.redis import RedisStore
from tests._redis import RedisServer

_prefixes = itertools.count()


def prefix() -> str:
    """A key prefix no other test of the session uses."""
    return f"t{next(_prefixes)}"


@pytest.fixture
async def redis_store(redis_server: RedisServer) -> AsyncIterator[RedisStore]:
    """An open store on the session's redis-server, its keys under a fresh prefix."""
    async with RedisStore.from_url(redis_server.url, prefix=prefix(), retention=600) as store:
        yield store
