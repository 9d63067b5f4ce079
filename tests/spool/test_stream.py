"""Spooled runs end to end: real subprocesses, on asyncio and trio."""

from __future__ import annotations

import os
import time
from pathlib import Path

import anyio
import psutil
import pytest

import ccstream
from ccstream._options import DiskErrorPolicy, SpoolOptions
from ccstream.spool._reader import Spool
from ccstream.spool.local._prune import prune_spools
from ccstream.spool.local._remove import TRASH_MARK, wait_removals
from tests._helpers import collect
from tests.conftest import PY
from tests.spool._helpers import split_lines, sync

pytestmark = pytest.mark.anyio
MiB = 1024 * 1024

# Both streams, interleaved, in many writes: lines on stdout, a progress line on stderr.
CHATTY = (
    "import sys\n"
    "for i in range(3000):\n"
    "    sys.stdout.write(f'line {i} ' + 'x' * (i % 97) + '\\n')\n"
    "    if i % 100 == 0:\n"
    "        sys.stdout.flush(); sys.stderr.write(f'progress {i}\\n'); sys.stderr.flush()\n"
    "sys.stdout.write('no newline at the end')\n"
)


def _spooled(**spool: object) -> ccstream.Options:
    return ccstream.Options(spool=SpoolOptions(**spool))  # type: ignore[arg-type]


async def test_a_spooled_run_yields_the_same_bytes_and_result_as_an_unspooled_one() -> None:
    plain, _, plain_result = await collect([PY, "-c", CHATTY])
    spooled, others, result = await collect([PY, "-c", CHATTY], _spooled(segment_size=64 * 1024))
    assert spooled == plain
    assert isinstance(others[0], ccstream.Started)
    assert isinstance(others[-1], ccstream.Result)
    assert len(others) == 2
    assert result.ok
    assert result.stdout == plain_result.stdout
    assert result.stderr == plain_result.stderr
    assert result.spool_path is not None
    assert result.gaps == ()
    assert result.unspooled_bytes == 0
    assert result.spool_error is None
    assert not Path(result.spool_path).exists(), "removed when the run closed"  # noqa: ASYNC240


async def test_a_merged_replay_equals_the_live_event_sequence() -> None:
    live: list[tuple[str, int, int, bytes]] = []
    async with ccstream.stream([PY, "-c", CHATTY], _spooled(segment_size=32 * 1024)) as run:
        async for event in run:
            if isinstance(event, ccstream.Output):
                live.append((event.stream, event.seq, event.offset, event.data))
        replay = [
            (e.stream, e.seq, e.offset, e.data)
            async for e in run.spool.follow()
            if isinstance(e, ccstream.Output)
        ]
        reopened = Spool.open(run.spool.path)
        again = [
            (e.stream, e.seq, e.offset, e.data)
            async for e in reopened.follow()
            if isinstance(e, ccstream.Output)
        ]
        reopened.close()
    assert {s for s, *_ in live} == {"stdout", "stderr"}
    assert replay == live
    assert again == live


async def test_pages_tail_and_follow_work_while_the_run_is_in_progress(tmp_path: Path) -> None:
    go = tmp_path / "go"
    script = (
        "import os, sys, time\n"
        "for i in range(500): print(f'early {i}')\n"
        "sys.stdout.write('partial'); sys.stdout.flush()\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.01)\n"
        "print(' line'); print('late')\n"
    )
    early = "".join(f"early {i}\n" for i in range(500)).encode()
    async with ccstream.stream([PY, "-c", script], _spooled(index_every=7)) as run:
        spool = run.spool
        with anyio.fail_after(10):
            # A poll: the spool's size is what another task is writing.
            while spool.sizes["stdout"] < len(early) + len("partial"):  # noqa: ASYNC110
                await anyio.sleep(0.01)
        page = await spool.page(495, 100)
        assert page.lines == [f"early {i}\n".encode() for i in range(495, 500)]
        assert page.next_line == 500
        assert page.known_lines == 500
        assert not page.complete
        assert (await spool.tail(2)).lines == [b"early 498\n", b"early 499\n"]
        assert not spool.complete

        followed = bytearray()

        async def follow() -> None:
            async for event in spool.follow({"stdout": 4000}, streams=["stdout"]):
                assert isinstance(event, ccstream.Output)
                followed.extend(event.data)

        async with anyio.create_task_group() as tg:
            tg.start_soon(follow)
            await anyio.sleep(0.1)
            go.touch()
            async for _ in run:
                pass
        page = await spool.page(500, 10)
        assert page.lines == [b"partial line\n", b"late\n"]
        assert page.complete
        assert spool.complete
        assert spool.returncode == 0
    assert bytes(followed) == (early + b"partial line\nlate\n")[4000:]


async def test_a_slow_consumer_never_holds_back_the_child(tmp_path: Path) -> None:
    done = tmp_path / "done"
    size = 48 * MiB
    script = (
        f"head -c {size} /dev/urandom > {tmp_path / 'data'}; cat {tmp_path / 'data'}; touch {done}"
    )
    options = ccstream.Options(buffer_limit=1 * MiB, spool=SpoolOptions(segment_size=8 * MiB))
    host = psutil.Process()
    async with ccstream.stream(["sh", "-c", script], options) as run:
        start = host.memory_info().rss
        with anyio.fail_after(30):
            # Consume nothing: without a spool the child would be stuck on a full pipe.
            while not done.exists():  # noqa: ASYNC110
                await anyio.sleep(0.02)
        grown = host.memory_info().rss - start
        got = bytearray()
        async for event in run:
            if isinstance(event, ccstream.Output):
                got += event.data
    assert bytes(got) == (tmp_path / "data").read_bytes()
    assert grown < 24 * MiB, f"host RSS grew by {grown / MiB:.1f} MiB"
    assert run.result.ok


async def test_quota_keeps_head_and_tail_and_counts_what_it_dropped() -> None:
    script = "for i in range(200_000): print(f'{i:07d}')"  # 8 bytes a line, 1.6 MB
    segment = 64 * 1024
    options = _spooled(segment_size=segment, quota=6 * segment, index_every=100)
    async with ccstream.stream([PY, "-c", script], options) as run:
        events = [e async for e in run]
        spool = run.spool
        result = run.result
        assert result.ok
        assert result.stdout.lines == 200_000
        [gap] = result.gaps
        assert gap.reason == "quota"
        assert gap.offset == segment
        assert gap.lines * 8 == gap.bytes
        assert spool.gaps == [gap]
        kept = spool.sizes["stdout"] - gap.bytes
        assert kept <= 6 * segment
        # Head and newest tail are intact; the page at the gap says so and skips it.
        assert (await spool.page(0, 2)).lines == [b"0000000\n", b"0000001\n"]
        assert (await spool.tail(1)).lines == [b"0199999\n"]
        first_lost = segment // 8
        page = await spool.page(first_lost, 10)
        assert page.lines == []
        assert page.gaps == [gap]
        assert page.next_line == first_lost + gap.lines
        assert (await spool.page(page.next_line, 1)).lines == [f"{page.next_line:07d}\n".encode()]
        # A replay reports the gap where the data is missing.
        replay = [e async for e in spool.follow()]
        assert [e for e in replay if isinstance(e, ccstream.Gap)] == [gap]
        assert sum(len(e.data) for e in replay if isinstance(e, ccstream.Output)) == kept
    # The live consumer got everything: it reads behind the child, ahead of the quota.
    live = sum(len(e.data) for e in events if isinstance(e, ccstream.Output))
    assert live == 1_600_000


@pytest.mark.parametrize("policy", ["stop", "continue"])
async def test_a_full_disk_is_reported_and_the_policy_decides(
    policy: DiskErrorPolicy, tmp_path: Path
) -> None:
    # Segment 1 of stdout is /dev/full: writing it fails with ENOSPC, as a full disk does.
    spool_dir = tmp_path / "spool"
    script = "import time\nfor i in range(40_000): print(f'{i:07d}')\ntime.sleep(0.3)\nprint('end')"
    options = ccstream.Options(
        spool=SpoolOptions(
            directory=spool_dir,
            segment_size=64 * 1024,
            on_disk_error=policy,
            keep=True,
        )
    )
    data = bytearray()
    async with ccstream.stream([PY, "-c", script], options) as run:
        os.symlink("/dev/full", spool_dir / "stdout.00000001.seg")
        async for event in run:
            if isinstance(event, ccstream.Output):
                data += event.data
    result = run.result
    assert result.spool_error is not None
    assert "No space left" in result.spool_error
    [gap] = result.gaps
    assert gap.reason == "disk_error"
    assert gap.offset <= 64 * 1024
    assert result.unspooled_bytes == gap.bytes
    assert gap.offset + gap.bytes == result.stdout.bytes
    expected = b"".join(f"{i:07d}\n".encode() for i in range(40_000)) + b"end\n"
    assert data[: gap.offset] == expected[: gap.offset]
    spool = Spool.open(spool_dir)
    assert spool.error == result.spool_error
    assert spool.gaps == [gap]
    assert spool.sizes["stdout"] == gap.offset
    last = sync(spool.tail, 1)
    assert last.complete
    assert gap in last.gaps
    spool.close()
    if policy == "stop":
        assert result.reason is ccstream.Reason.SPOOL_ERROR
        assert not result.ok
    else:
        assert result.ok
        assert bytes(data) == expected, "the live consumer still got every byte"


async def test_the_spool_is_removed_on_close_unless_kept(tmp_path: Path) -> None:
    async with ccstream.stream(["echo", "hi"], _spooled()) as run:
        await run.wait()
        path = run.spool.path
        assert (await run.spool.page()).lines == [b"hi\n"]
    assert not path.exists()
    with pytest.raises(ccstream.SpoolError):
        await run.spool.page()

    kept = tmp_path / "kept"
    async with ccstream.stream(["echo", "hi"], _spooled(directory=kept, keep=True)) as run:
        await run.wait()
    assert run.result.spool_path == str(kept)
    with Spool.open(kept) as spool:
        assert (await spool.page()).lines == [b"hi\n"]
        assert spool.complete
        assert spool.returncode == 0
        assert spool.reason == "exited"


async def test_closing_a_run_renames_its_spool_away_at_once_and_deletes_it_behind(
    tmp_path: Path,
) -> None:
    for directory, existed in ((tmp_path / "made", False), (tmp_path / "given", True)):
        if existed:
            directory.mkdir()
        script = "import sys\nfor i in range(3000): sys.stdout.write('x' * 1023 + '\\n')"
        async with ccstream.stream([PY, "-c", script], _spooled(directory=directory)) as run:
            async for _ in run:
                pass
        # Gone (or emptied, for a directory the caller made) as soon as the block ends...
        if existed:
            assert _names(directory) == []
        else:
            assert not directory.exists()
        # ...and the files themselves once the background deletion is done.
        assert wait_removals(timeout=30)
        assert not [name for name in _names(tmp_path) if TRASH_MARK in name]
    assert _names(tmp_path) == ["given"]


async def test_prune_removes_a_spool_left_half_deleted_by_a_killed_process(
    tmp_path: Path,
) -> None:
    kept = tmp_path / "kept"
    async with ccstream.stream(["echo", "hi"], _spooled(directory=kept, keep=True)):
        pass
    trash = tmp_path / f".kept{TRASH_MARK}0123abcd"
    kept.rename(trash)
    assert prune_spools(tmp_path, older_than=0) == [trash]
    assert _names(tmp_path) == []


def _names(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


async def test_prune_removes_only_kept_spools_older_than_the_age(tmp_path: Path) -> None:
    for name in ("old", "new"):
        async with ccstream.stream(["true"], _spooled(directory=tmp_path / name, keep=True)):
            pass
    (tmp_path / "not-a-spool").mkdir()
    meta = tmp_path / "old" / "spool.json"
    text = meta.read_text()
    ended = float(text.split('"ended_at":')[1].split(",")[0])
    meta.write_text(text.replace(f'"ended_at":{ended}', f'"ended_at":{ended - 7200}'))
    assert prune_spools(tmp_path, older_than=3600) == [tmp_path / "old"]
    assert _names(tmp_path) == ["new", "not-a-spool"]
    assert prune_spools(tmp_path, older_than=0) == [tmp_path / "new"]


async def test_bad_spool_settings_and_directories_fail_before_anything_runs(
    tmp_path: Path,
) -> None:
    with pytest.raises(ccstream.InvalidOption, match="quota"):
        SpoolOptions(segment_size=1024, quota=2048)
    with pytest.raises(ccstream.InvalidOption, match="on_disk_error"):
        SpoolOptions(on_disk_error="ignore")  # type: ignore[arg-type]
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "file").write_text("mine")
    with pytest.raises(ccstream.SpoolError, match="not empty"):
        async with ccstream.stream(["true"], _spooled(directory=busy)):
            pass
    assert (busy / "file").read_text() == "mine"
    with pytest.raises(ccstream.CommandNotFound):
        async with ccstream.stream(["no-such-command-ccs"], _spooled(directory=tmp_path / "s")):
            pass
    assert not (tmp_path / "s").exists()
    with pytest.raises(ccstream.SpoolNotFound):
        Spool.open(tmp_path)
    with pytest.raises(ccstream.SpoolNotFound):
        Spool.open(tmp_path / "nowhere")
    async with ccstream.stream(["true"]) as run:
        with pytest.raises(ccstream.CCStreamError, match="no spool"):
            run.spool  # noqa: B018


async def test_text_mode_frames_replay_with_their_invalid_byte_counts() -> None:
    script = "import sys; sys.stdout.buffer.write(b'ok \\xff\\xfe bad\\n' * 20000)"
    options = ccstream.Options(mode="lines", spool=SpoolOptions(segment_size=4096))
    async with ccstream.stream([PY, "-c", script], options) as run:
        live = [e for e in [e async for e in run] if isinstance(e, ccstream.Output)]
        replay = [e async for e in run.spool.follow() if isinstance(e, ccstream.Output)]
        # From the middle of a frame: the rest of it, with its own count.
        mid = live[1].offset + 3
        partial = [e async for e in run.spool.follow({"stdout": mid}, streams=["stdout"])]
    assert replay == live
    assert sum(e.invalid_bytes for e in live) == 2 * 20000
    assert isinstance(partial[0], ccstream.Output)
    assert partial[0].offset == mid
    assert partial[0].data == live[1].data[3:]
    assert partial[0].invalid_bytes == live[1].data[3:].count(b"\xff") * 2


async def test_lines_and_bytes_of_a_big_spool_read_back_exactly() -> None:
    script = (
        "import sys\nfor i in range(100_000): sys.stdout.write(f'{i}:' + 'y' * (i % 300) + '\\n')"
    )
    async with ccstream.stream([PY, "-c", script], _spooled(segment_size=1 * MiB)) as run:
        await run.wait()
        spool = run.spool
        start = time.perf_counter()
        page = await spool.page(90_000, 5)
        took = time.perf_counter() - start
        expected = [f"{i}:".encode() + b"y" * (i % 300) + b"\n" for i in range(90_000, 90_005)]
        assert page.lines == expected
        assert took < 0.5
        whole = b"".join(f"{i}:".encode() + b"y" * (i % 300) + b"\n" for i in range(100_000))
        assert await spool.read("stdout", 12345, 1000) == whole[12345:13345]
        assert split_lines(whole)[-3:] == (await spool.tail(3)).lines


async def test_pages_see_the_output_of_a_steadily_printing_child_within_moments() -> None:
    # A line every millisecond: the pump rarely finds the pipe empty for long.
    script = "import time\nfor i in range(1500):\n    print(i, flush=True)\n    time.sleep(0.001)"
    async with ccstream.stream([PY, "-c", script], _spooled()) as run:
        await anyio.sleep(0.5)
        seen = await run.spool.known_lines()
        assert not run.spool.complete
        assert seen > 50, f"only {seen} lines visible after 0.5 s"
        page = await run.spool.page(seen - 1, 1)
        assert page.lines == [f"{seen - 1}\n".encode()]
        await run.wait()
