"""Shared fixtures: every async test runs on asyncio and on trio."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._redis import RedisServer
from ._redis import redis_server as start_redis

ROOT = Path(__file__).resolve().parent.parent
LARGE_OUTPUT = str(ROOT / "scripts" / "large_output.py")
PY = sys.executable


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each ``@pytest.mark.anyio`` test once per backend."""
    return str(request.param)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session (skipped with the reason when not installed)."""
    with start_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server
