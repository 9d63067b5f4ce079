"""The followers, directly: the run's own (RunFollower) hands out the writer's very frame
objects; a reader's (Follower) starts inside a frame with the rest of it; a step that fails
changes nothing, so it can run again."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccstream._chunker import Chunker
from ccstream._events import Output
from ccstream._options import SpoolOptions
from ccstream.spool._follow import Follower, RunFollower
from ccstream.spool.local import DirectorySource, SpoolWriter

pytestmark = pytest.mark.anyio


def _writer(tmp_path: Path) -> tuple[SpoolWriter, list[Output]]:
    writer = SpoolWriter(SpoolOptions(directory=tmp_path / "s", segment_size=4096))
    chunker = Chunker("stdout", chunk_size=100)
    frames = chunker.feed(b"".join(b"line %04d\n" % i for i in range(300)))
    assert writer.append("stdout", frames) is not None
    return writer, frames


async def test_the_run_follower_hands_out_the_writers_own_frames(tmp_path: Path) -> None:
    writer, frames = _writer(tmp_path)
    source = writer.source()
    follower = RunFollower(writer, source)
    got = [await follower.next() for _ in frames]
    assert all(a is b for a, b in zip(got, frames, strict=True)), (
        "copied or read back instead of handed"
    )
    await writer.aclose([(sum(len(f.data) for f in frames), 300), (0, 0)])
    assert await follower.next() is None
    follower.close()
    source.close()


async def test_a_follower_from_inside_a_frame_starts_with_the_rest_of_it(tmp_path: Path) -> None:
    writer, frames = _writer(tmp_path)
    await writer.aclose([(sum(len(f.data) for f in frames), 300), (0, 0)])
    source = DirectorySource(writer.path)
    follower = Follower(source, {"stdout": 150}, ["stdout"], poll_interval=0.01)
    first = await follower.next()
    assert isinstance(first, Output)
    assert first.offset == 150
    assert first.data == frames[1].data[50:]
    follower.close()
    source.close()


async def test_a_step_that_fails_changes_nothing(tmp_path: Path) -> None:
    writer = SpoolWriter(SpoolOptions(directory=tmp_path / "s", segment_size=1 << 20))
    frames = Chunker("stdout", chunk_size=1 << 16).feed(bytes(range(256)) * 8192)  # 2 MiB
    assert writer.append("stdout", frames) is not None
    await writer.aclose([(sum(len(f.data) for f in frames), 0), (0, 0)])
    source = DirectorySource(writer.path)
    follower = Follower(source, None, ["stdout"], poll_interval=0.01)
    assert follower._advance()  # a first batch of frames
    batch = len(follower._pending)
    assert 0 < batch < len(frames)
    taken = [await follower.next() for _ in range(batch)]  # handed out: the batch is done
    before = (follower._r, list(follower._pos))
    ranges = follower._ranges
    calls = 0
    read = ranges.read

    def flaky(sid: int, start: int, end: int) -> tuple[bytes, int | None]:
        nonlocal calls
        calls += 1
        if calls == 2:  # one frame of the batch is read, the next fails
            raise OSError("once")
        return read(sid, start, end)

    ranges.read = flaky  # type: ignore[method-assign]
    with pytest.raises(OSError, match="once"):
        follower._advance()
    assert (follower._r, list(follower._pos)) == before
    assert not follower._pending
    rest = []
    while (event := await follower.next()) is not None:
        rest.append(event)
    data = b"".join(e.data for e in [*taken, *rest] if isinstance(e, Output))
    assert data == b"".join(f.data for f in frames)
    follower.close()
    source.close()


async def test_batches_are_the_followed_events_in_order_and_bounded(tmp_path: Path) -> None:
    """``follow_batches`` gives what ``follow`` gives, in batches of at least one event, of at
    most ``max_events`` events, and past ``max_bytes`` only by their last frame."""
    from ccstream.spool import Spool

    writer, frames = _writer(tmp_path)
    await writer.aclose([(sum(len(f.data) for f in frames), 300), (0, 0)])
    with Spool.open(writer.path) as spool:
        single = [event async for event in spool.follow()]
        batches = [b async for b in spool.follow_batches(max_bytes=250, max_events=7)]
    assert [e for b in batches for e in b] == single
    assert all(1 <= len(b) <= 7 for b in batches)
    for batch in batches:
        sizes = [len(e.data) for e in batch if isinstance(e, Output)]
        assert sum(sizes[:-1]) < 250
    assert len(batches) < len(single), "every batch held one event: nothing was batched"


async def test_batches_from_the_writers_memory_take_what_is_ready(tmp_path: Path) -> None:
    """A live reader's batch is everything the writer has in memory, up to its bounds, and
    the very frame objects the pump made."""
    writer, frames = _writer(tmp_path)
    writer.flush()  # a reader of the store takes what is on disk (the pump flushes so)
    spool_source = writer.source()
    follower = Follower(spool_source, None, ["stdout"], poll_interval=0.01)
    batch = await follower.batch(1 << 30, 1000)
    assert len(batch) == len(frames)
    assert all(a is b for a, b in zip(batch, frames, strict=True))
    await writer.aclose([(sum(len(f.data) for f in frames), 300), (0, 0)])
    assert await follower.batch(1 << 30, 1000) == []
    follower.close()
    spool_source.close()


async def test_batch_bounds_are_checked(tmp_path: Path) -> None:
    from ccstream import InvalidOption
    from ccstream.spool import Spool

    writer, frames = _writer(tmp_path)
    await writer.aclose([(sum(len(f.data) for f in frames), 300), (0, 0)])
    with Spool.open(writer.path) as spool:
        for bad in ({"max_bytes": 0}, {"max_events": True}, {"max_bytes": 1.5}):
            with pytest.raises(InvalidOption):
                async for _ in spool.follow_batches(**bad):
                    pass


async def test_a_complete_spool_is_read_once(tmp_path: Path) -> None:
    """Once a directory's spool is complete its state is kept: nothing in it changes, and a
    follower asks for the state at every step (spool.json is not parsed again)."""
    writer, frames = _writer(tmp_path)
    await writer.aclose([(sum(len(f.data) for f in frames), 300), (0, 0)])
    source = DirectorySource(writer.path)
    first = source.snapshot()
    assert first.complete
    (writer.path / "spool.json").write_text("not json any more")
    assert source.snapshot() is first
    source.close()
