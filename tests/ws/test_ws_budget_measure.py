"""The spool budget's measure, directly: an execution dropped while the others are measured
(its spool deleted, its key forgotten by the store) holds nothing, and the measure goes on."""

from __future__ import annotations

import pytest

import ccstream
from ccstream.spool import LocalStore
from ccstream_ws import ServerConfig
from ccstream_ws.protocol._params import parse_execute
from ccstream_ws.server._execution import Execution
from ccstream_ws.server._spool_budget import _measure

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _execution(store: LocalStore, key: str) -> Execution:
    params = parse_execute({"argv": ["true"]}, ServerConfig().max_chunk_size)
    execution = Execution(
        key, params, ccstream.Options(), owner="o", retention=0.0, stdin=None, store=store
    )
    writer = store.create(key, ccstream.SpoolOptions())
    writer.append("stdout", [ccstream.Output("stdout", 0, 0, b"x" * 1000)])
    writer.close()
    execution.spooled = True
    return execution


async def test_an_execution_forgotten_during_the_measure_is_skipped() -> None:
    store = LocalStore()  # temporary directories: a forgotten key has no path any more
    kept, dropped = _execution(store, "kept"), _execution(store, "dropped")
    # Dropped as the registry drops an expired execution, between two measures' awaits; its
    # flag is not set yet when the measure comes to it.
    await store.remove("dropped")
    store.forget("dropped")
    await _measure([dropped, kept])
    assert kept.disk_bytes is not None
    assert kept.disk_bytes > 1000
    assert dropped.disk_bytes is None
    await store.remove("kept")
