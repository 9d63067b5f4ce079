"""The quota and live readers: under ``on_quota="pause"`` nothing a reader has not taken is
dropped and the child waits for it; under ``"drop"`` the middle goes and every gap is counted.

The planner (:func:`next_drop`, :func:`slowest`) is checked synchronously with hypothesis, on
its own and over a run of segments and moving readers; the rest runs real children on both
backends, with a consumer that stops reading for a while.
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ccstream
from ccstream import Gap, Output, Reason
from ccstream._pipes import PIPE_SIZE
from ccstream.spool._quota import ReaderMark, next_drop, slowest

PY = sys.executable
SEGMENT = 64 * 1024
QUOTA = 4 * SEGMENT
BLOCK = 64 * 1024
READ_SIZE = 64 * 1024
# The child writes numbered 64 KiB blocks and records after each how many bytes it wrote, so a
# test sees whether it is blocked.
CHILD = """
import os, sys
count, progress = int(sys.argv[1]), sys.argv[2]
fd = os.open(progress, os.O_WRONLY | os.O_CREAT, 0o600)
out = sys.stdout.buffer
for i in range(count):
    out.write(b"%08d" % i * 8192)
    out.flush()
    os.pwrite(fd, b"%16d" % ((i + 1) * 65536), 0)
"""


def _expected(blocks: int) -> bytes:
    return b"".join(b"%08d" % i * 8192 for i in range(blocks))


def _options(policy: ccstream.QuotaPolicy, **kwargs: float) -> ccstream.Options:
    return ccstream.Options(
        read_size=READ_SIZE,
        spool=ccstream.SpoolOptions(
            segment_size=SEGMENT, quota=QUOTA, memory=256 * 1024, on_quota=policy
        ),
        **kwargs,  # type: ignore[arg-type]
    )


def _progress(path: Path) -> int:
    text = path.read_bytes().strip()
    return int(text) if text else 0


# -- the planner --------------------------------------------------------------------------------

_middle = st.lists(
    st.tuples(st.integers(0, 1), st.integers(1, 40), st.integers(0, 5)), max_size=12
).map(lambda entries: sorted(entries, key=lambda e: e[1]))
_low = st.tuples(st.none() | st.integers(0, 41 * 16), st.none() | st.integers(0, 41 * 16))


@given(_middle, _low)
def test_next_drop_picks_the_first_segment_every_reader_of_its_stream_has_passed(
    middle: list[tuple[int, int, int]], low: tuple[int | None, int | None]
) -> None:
    size = 16

    def passed(entry: tuple[int, int, int]) -> bool:
        reached = low[entry[0]]
        return reached is None or reached >= (entry[1] + 1) * size

    i = next_drop(middle, size, low)
    if i is None:
        assert not any(passed(e) for e in middle)
    else:
        assert passed(middle[i])
        assert not any(passed(e) for e in middle[:i])


@given(st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100), st.booleans(), st.booleans())))
def test_slowest_is_the_lowest_offset_of_the_readers_that_want_each_stream(
    readers: list[tuple[int, int, bool, bool]],
) -> None:
    marks = [ReaderMark([a, b], [wa, wb]) for a, b, wa, wb in readers]
    for sid in (0, 1):
        wanted = [m.pos[sid] for m in marks if m.want[sid]]
        assert slowest(marks)[sid] == (min(wanted) if wanted else None)


# -- the planner over a run -------------------------------------------------------------------

# (0, stream, _, n): the stream finishes n % 4 more segments; (1, reader, stream, n): a reader
# takes up to n more bytes of a stream. After each step the quota sheds down to _KEEP middle
# segments, as the writer does, asking next_drop each time.
_steps = st.lists(
    st.tuples(st.integers(0, 1), st.integers(0, 2), st.integers(0, 1), st.integers(0, 300)),
    min_size=1,
    max_size=60,
)
_KEEP = 2


def _shed(
    middle: list[tuple[int, int, int]], size: int, marks: list[ReaderMark], dropped: list[list[int]]
) -> None:
    while len(middle) > _KEEP:
        i = next_drop(middle, size, slowest(marks))
        if i is None:
            return  # held: the writer waits for a reader
        sid, index, _lines = middle.pop(i)
        for mark in marks:
            if mark.want[sid]:
                assert mark.pos[sid] >= (index + 1) * size, "dropped bytes a reader had not read"
        # Oldest first within a stream, from the first middle segment: one gap per stream.
        assert index == (dropped[sid][-1] + 1 if dropped[sid] else 1)
        dropped[sid].append(index)


@given(_steps, st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=3))
def test_pause_planner_never_drops_bytes_a_live_reader_has_not_read_and_frees_once_all_read(
    steps: list[tuple[int, int, int, int]], wants: list[tuple[bool, bool]]
) -> None:
    size = 16
    marks = [ReaderMark([0, 0], [a, b]) for a, b in wants]
    middle: list[tuple[int, int, int]] = []
    written = [0, 0]
    dropped: list[list[int]] = [[], []]
    for kind, first, second, n in steps:
        if kind == 0:
            sid = first % 2
            for _ in range(n % 4):
                index = written[sid] // size
                if index >= 1:  # segment 0 is the head: always kept
                    middle.append((sid, index, 0))
                written[sid] += size
        else:
            mark = marks[first % len(marks)]
            mark.pos[second] = min(written[second], mark.pos[second] + n)
        _shed(middle, size, marks, dropped)
    # Readers that took everything free the quota: it holds its bound again.
    for mark in marks:
        mark.pos[:] = written
    _shed(middle, size, marks, dropped)
    assert len(middle) <= _KEEP


# -- real runs ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_consumer_that_stops_reading_holds_the_child_and_then_gets_every_byte(
    tmp_path: Path,
) -> None:
    blocks = 128  # 8 MiB, 32 quotas
    progress = tmp_path / "progress"
    digest = hashlib.sha256()
    received = 0
    gaps: list[Gap] = []
    async with ccstream.stream(
        [PY, "-c", CHILD, str(blocks), str(progress)], _options("pause")
    ) as run:
        async for event in run:
            if isinstance(event, Gap):
                gaps.append(event)
            elif isinstance(event, Output):
                assert event.offset == received
                digest.update(event.data)
                received += len(event.data)
                if received == BLOCK:
                    # Stop reading: the pumps stop at the quota and the child blocks on its pipe.
                    await anyio.sleep(0.4)
                    read_then, wrote_then = run.stats("stdout").bytes, _progress(progress)
                    await anyio.sleep(0.3)
                    assert run.stats("stdout").bytes == read_then
                    assert _progress(progress) == wrote_then
                    assert read_then <= received + QUOTA + 2 * READ_SIZE + 2 * BLOCK
                    assert wrote_then <= read_then + PIPE_SIZE + BLOCK
    assert gaps == []
    assert received == blocks * BLOCK
    assert digest.hexdigest() == hashlib.sha256(_expected(blocks)).hexdigest()
    assert run.result.reason is Reason.EXITED
    assert run.result.returncode == 0
    # The spool dropped the middle after it was delivered, and says so.
    assert sum(g.bytes for g in run.result.gaps) > 0


@pytest.mark.anyio
async def test_drop_policy_gives_counted_gaps_that_add_up_to_the_output(tmp_path: Path) -> None:
    blocks = 128
    expected = _expected(blocks)
    received = gap_bytes = 0
    pos = 0
    async with ccstream.stream(
        [PY, "-c", CHILD, str(blocks), str(tmp_path / "progress")], _options("drop")
    ) as run:
        async for event in run:
            if isinstance(event, Gap):
                assert event.offset <= pos
                gap_bytes += event.offset + event.bytes - pos
                pos = event.offset + event.bytes
            elif isinstance(event, Output):
                assert event.offset == pos
                assert event.data == expected[event.offset : event.end]
                received += len(event.data)
                pos = event.end
                if received == BLOCK:
                    await anyio.sleep(0.5)  # the child runs on; the middle goes
    assert gap_bytes > 0
    assert received + gap_bytes == blocks * BLOCK
    assert run.result.stdout.bytes == blocks * BLOCK


@pytest.mark.anyio
async def test_a_held_run_is_not_idle_and_its_pipe_outlives_linger(tmp_path: Path) -> None:
    # Output the pipe can hold past the quota: the child writes it all and exits while held.
    blocks = (QUOTA + PIPE_SIZE // 2) // BLOCK
    received = 0
    options = _options("pause", idle_timeout=0.2, linger=0.2)
    async with ccstream.stream(
        [PY, "-c", CHILD, str(blocks), str(tmp_path / "progress")], options
    ) as run:
        async for event in run:
            assert not isinstance(event, Gap)
            if isinstance(event, Output):
                received += len(event.data)
                if received == BLOCK:
                    await anyio.sleep(0.8)
    assert received == blocks * BLOCK
    assert run.result.reason is Reason.EXITED
    assert not run.result.lingering_killed


@pytest.mark.anyio
async def test_a_held_run_still_times_out(tmp_path: Path) -> None:
    t0 = time.monotonic()
    async with ccstream.stream(
        [PY, "-c", CHILD, "1000", str(tmp_path / "progress")], _options("pause", timeout=0.5)
    ) as run:
        async for event in run:
            if isinstance(event, Output) and event.offset == 0:
                await anyio.sleep(1.5)  # one frame, then nothing: held until the timeout
    assert run.result.reason is Reason.TIMEOUT
    assert time.monotonic() - t0 < 5
    assert run.result.stdout.bytes < 1000 * BLOCK


@pytest.mark.anyio
async def test_wait_and_unread_runs_are_not_held(tmp_path: Path) -> None:
    blocks = 128
    with anyio.fail_after(20):
        async with ccstream.stream(
            [PY, "-c", CHILD, str(blocks), str(tmp_path / "progress")], _options("pause")
        ) as run:
            result = await run.wait()
    assert result.reason is Reason.EXITED
    assert result.stdout.bytes == blocks * BLOCK
    assert sum(g.bytes for g in result.gaps) > 0


@pytest.mark.anyio
async def test_spool_follow_is_a_live_reader_until_it_is_closed(tmp_path: Path) -> None:
    blocks = 128
    expected = _expected(blocks)
    got = bytearray()
    with anyio.fail_after(20):
        async with ccstream.stream(
            [PY, "-c", CHILD, str(blocks), str(tmp_path / "progress")], _options("pause")
        ) as run:

            async def follow() -> None:
                async for event in run.spool.follow():
                    assert isinstance(event, Output)
                    got.extend(event.data)
                    if len(got) == BLOCK:
                        await anyio.sleep(0.3)

            async def quit_early() -> None:
                events = run.spool.follow()
                async for _ in events:
                    break
                await events.aclose()

            async with anyio.create_task_group() as tg:
                tg.start_soon(follow)
                tg.start_soon(quit_early)
                result = await run.wait()
    assert bytes(got) == expected
    assert result.reason is Reason.EXITED


def test_on_quota_is_validated() -> None:
    with pytest.raises(ccstream.InvalidOption, match="on_quota"):
        ccstream.SpoolOptions(on_quota="later")  # type: ignore[arg-type]
    assert ccstream.SpoolOptions().on_quota == "pause"


@pytest.mark.anyio
async def test_a_hold_keeps_the_output_for_a_reader_to_come(tmp_path: Path) -> None:
    blocks = 64
    got = bytearray()
    with anyio.fail_after(20):
        async with ccstream.stream(
            [PY, "-c", CHILD, str(blocks), str(tmp_path / "progress")], _options("pause")
        ) as run:
            let_go = run.spool.hold()
            await anyio.sleep(0.4)
            held = run.stats("stdout").bytes
            await anyio.sleep(0.2)
            assert run.stats("stdout").bytes == held < blocks * BLOCK
            events = run.spool.follow()
            first = await events.__anext__()
            let_go()  # the follower holds from here
            assert isinstance(first, Output)
            got.extend(first.data)
            async for event in events:
                assert isinstance(event, Output)
                got.extend(event.data)
    assert bytes(got) == _expected(blocks)


@pytest.mark.anyio
async def test_a_cancelled_follower_stops_holding_the_run(tmp_path: Path) -> None:
    with anyio.fail_after(20):
        async with ccstream.stream(
            [PY, "-c", CHILD, "128", str(tmp_path / "progress")], _options("pause")
        ) as run:
            with anyio.move_on_after(0.3):
                async for _ in run.spool.follow():
                    await anyio.sleep(10)  # stuck on its first frame until cancelled
            result = await run.wait()
    assert result.reason is Reason.EXITED
    assert result.stdout.bytes == 128 * BLOCK
