"""The bounded event buffer and its per-stream sinks, driven directly on asyncio and trio."""

from __future__ import annotations

import anyio
import pytest

from ccstream._buffer import EventBuffer
from ccstream._events import Output, Started
from ccstream.exceptions import InvalidOption

pytestmark = pytest.mark.anyio


def frame(stream: str, seq: int, data: bytes) -> Output:
    return Output(stream, seq, seq * len(data), data)  # type: ignore[arg-type]


async def test_append_never_waits_and_counts_newlines_when_asked() -> None:
    buffer = EventBuffer(16, count_lines=True)
    sink = buffer.sink("stdout")
    assert sink.append("stdout", [frame("stdout", 0, b"a\nb\nc" * 10)]) == 20
    assert sink.backlog == 50 > sink.backlog_limit == 16
    assert EventBuffer(16).append("stdout", [frame("stdout", 0, b"a\n")]) == 0


async def test_a_batch_that_does_not_fit_waits_until_the_consumer_makes_room() -> None:
    buffer = EventBuffer(100)
    sink = buffer.sink("stdout")
    sink.append("stdout", [frame("stdout", 0, b"x" * 80)])
    sink.append("stdout", [frame("stdout", 1, b"y" * 50)])  # 130 > 100: parked
    assert buffer.buffered("stdout") == 80
    assert sink.backlog == 130 > sink.backlog_limit
    released = anyio.Event()

    async def producer() -> None:
        await sink.wait_backlog()
        released.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(producer)
        await anyio.wait_all_tasks_blocked()
        assert buffer.blocked
        assert not released.is_set()
        got = await buffer.get()
        assert isinstance(got, Output)
        assert got.data == b"x" * 80
        with anyio.fail_after(5):
            await released.wait()
    assert not buffer.blocked
    assert buffer.buffered("stdout") == 50
    assert sink.backlog == 50


async def test_a_batch_over_the_whole_limit_is_queued_into_an_empty_share() -> None:
    buffer = EventBuffer(100)
    sink = buffer.sink("stdout")
    sink.append("stdout", [frame("stdout", 0, b"x" * 150)])
    assert buffer.buffered("stdout") == 150
    with anyio.fail_after(1):
        await sink.wait_backlog()  # nothing parked: a single big read never deadlocks


async def test_a_stream_far_behind_does_not_hold_the_other_one() -> None:
    buffer = EventBuffer(100)
    buffer.sink("stdout").append("stdout", [frame("stdout", 0, b"o" * 500)])
    err = buffer.sink("stderr")
    err.append("stderr", [frame("stderr", 0, b"e" * 50)])
    with anyio.fail_after(1):
        await err.wait_backlog()  # stderr is within its own budget
    assert [type(await buffer.get()) for _ in range(2)] == [Output, Output]


async def test_order_of_both_streams_is_kept() -> None:
    buffer = EventBuffer(1000)
    buffer.put(Started(pid=1, pgid=1, argv=("x",), started_at=0.0))
    buffer.append("stdout", [frame("stdout", 0, b"1")])
    buffer.append("stderr", [frame("stderr", 0, b"2")])
    buffer.append("stdout", [frame("stdout", 1, b"3")])
    buffer.close()
    seen = []
    while (event := await buffer.get()) is not None:
        seen.append(event.data if isinstance(event, Output) else "started")
    assert seen == ["started", b"1", b"2", b"3"]


async def test_abandon_drops_output_keeps_other_events_and_frees_waiting_producers() -> None:
    buffer = EventBuffer(10)
    sink = buffer.sink("stdout")
    sink.append("stdout", [frame("stdout", 0, b"x" * 8)])
    sink.append("stdout", [frame("stdout", 1, b"x" * 50)])  # parked
    buffer.put(Started(pid=1, pgid=1, argv=("x",), started_at=0.0))
    async with anyio.create_task_group() as tg:
        tg.start_soon(sink.wait_backlog)
        await anyio.wait_all_tasks_blocked()
        buffer.abandon()
    sink.append("stdout", [frame("stdout", 2, b"y" * 50)])
    assert sink.backlog == 0
    assert isinstance(buffer.get_nowait(), Started)
    assert buffer.get_nowait() is None


async def test_buffer_sink_is_never_held_and_has_nothing_to_flush() -> None:
    sink = EventBuffer(10).sink("stderr")
    sink.flush()
    sink.release_held()
    assert not sink.held
    assert sink.retry_held() is False


@pytest.mark.parametrize("limit", [0, -1, True, 1.5])
def test_limit_must_be_a_positive_int(limit: object) -> None:
    with pytest.raises(InvalidOption):
        EventBuffer(limit)  # type: ignore[arg-type]
