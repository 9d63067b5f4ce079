"""The stream API against real subprocesses, on asyncio and trio."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

import ccstream
from tests._helpers import collect, gone
from tests.conftest import LARGE_OUTPUT, PY

pytestmark = pytest.mark.anyio

MiB = 1024 * 1024


async def test_events_are_started_output_then_the_result() -> None:
    kinds: list[type] = []
    async with ccstream.stream(["sh", "-c", "echo out; echo err >&2"]) as run:
        async for event in run:
            kinds.append(type(event))
    assert kinds[0] is ccstream.Started
    assert kinds[-1] is ccstream.Result
    assert set(kinds[1:-1]) == {ccstream.Output}
    assert run.result.ok
    assert run.result.stdout == ccstream.StreamStats(bytes=4, lines=1)
    assert run.result.stderr == ccstream.StreamStats(bytes=4, lines=1)


async def test_exit_code_is_reported_as_is() -> None:
    _, _, result = await collect("exit 7")
    assert result.returncode == 7
    assert result.exit_code == 7
    assert result.signal is None
    assert result.reason is ccstream.Reason.EXITED
    assert not result.ok


async def test_death_by_signal_is_reported_as_the_signal() -> None:
    _, _, result = await collect(["sh", "-c", "kill -USR1 $$"])
    assert result.returncode == -signal.SIGUSR1
    assert result.exit_code is None
    assert result.signal == signal.SIGUSR1
    assert result.signal_name == "SIGUSR1"
    assert result.reason is ccstream.Reason.SIGNALLED
    assert result.shell_status == 128 + signal.SIGUSR1


@pytest.mark.parametrize("mode", ["binary", "text", "lines"])
async def test_a_20_mib_line_without_newline_arrives_intact(mode: ccstream.ChunkMode) -> None:
    # Every byte differs from its neighbours' pattern, so a dropped or repeated frame shows.
    script = (
        "import sys\n"
        "block = bytes(i % 251 + 1 for i in range(1 << 20)).replace(b'\\n', b'.')\n"
        "for i in range(20): sys.stdout.buffer.write(bytes([65 + i]) + block[1:])\n"
    )
    data, _, result = await collect([PY, "-c", script], ccstream.Options(mode=mode))
    block = bytes(i % 251 + 1 for i in range(1 << 20)).replace(b"\n", b".")
    expected = b"".join(bytes([65 + i]) + block[1:] for i in range(20))
    assert len(data["stdout"]) == 20 * MiB
    assert data["stdout"] == expected
    assert result.stdout == ccstream.StreamStats(bytes=20 * MiB, lines=1)
    assert result.ok


async def test_frames_respect_chunk_size_and_tile_each_stream() -> None:
    offsets = {"stdout": 0, "stderr": 0}
    seqs = {"stdout": 0, "stderr": 0}
    async with ccstream.stream(
        ["sh", "-c", "head -c 3000000 /dev/zero; head -c 100000 /dev/zero >&2"],
        ccstream.Options(chunk_size=4096),
    ) as run:
        async for event in run:
            if isinstance(event, ccstream.Output):
                assert 0 < len(event.data) <= 4096
                assert event.offset == offsets[event.stream]
                assert event.seq == seqs[event.stream]
                offsets[event.stream] = event.end
                seqs[event.stream] += 1
    assert offsets == {"stdout": 3_000_000, "stderr": 100_000}


async def test_heavy_stdout_and_stderr_at_once_never_block() -> None:
    # The child alternates 64 KiB writes to both pipes; reading one pipe at a time would deadlock.
    script = (
        "import os\n"
        "out = b'o' * 65536; err = b'e' * 65536\n"
        "for _ in range(320):\n"
        "    os.write(1, out); os.write(2, err)\n"
    )
    with anyio.fail_after(30):
        data, _, result = await collect([PY, "-c", script])
    assert data["stdout"] == b"o" * (320 * 65536)
    assert data["stderr"] == b"e" * (320 * 65536)
    assert result.ok


async def test_grandchild_holding_the_pipes_does_not_hang_the_run() -> None:
    start = time.monotonic()
    data, _, result = await collect(
        ["sh", "-c", "sleep 60 & echo $!"], ccstream.Options(linger=0.3)
    )
    grandchild = int(data["stdout"])
    assert time.monotonic() - start < 10
    assert result.exit_code == 0
    assert result.reason is ccstream.Reason.EXITED
    assert result.lingering_killed
    assert gone(grandchild)


async def test_timeout_kills_the_whole_tree_even_when_it_ignores_sigterm() -> None:
    script = "trap '' TERM; (trap '' TERM; sleep 60) & echo $!; sleep 60"
    data, _, result = await collect(
        ["sh", "-c", script], ccstream.Options(timeout=0.5, kill_grace=0.3)
    )
    grandchild = int(data["stdout"])
    assert result.reason is ccstream.Reason.TIMEOUT
    assert result.signal == signal.SIGKILL
    assert gone(grandchild)
    assert gone(result.pid)


async def test_timeout_with_a_child_that_exits_on_sigterm_reports_sigterm() -> None:
    _, _, result = await collect(["sleep", "60"], ccstream.Options(timeout=0.3))
    assert result.reason is ccstream.Reason.TIMEOUT
    assert result.signal == signal.SIGTERM
    assert 0.3 <= result.duration < 5


async def test_idle_timeout_fires_on_silence_not_on_steady_output() -> None:
    steady = "for i in 1 2 3 4 5 6; do echo $i; sleep 0.1; done"
    _, _, result = await collect(steady, ccstream.Options(idle_timeout=0.5))
    assert result.reason is ccstream.Reason.EXITED
    assert result.stdout.lines == 6
    _, _, result = await collect("echo hi; sleep 60", ccstream.Options(idle_timeout=0.3))
    assert result.reason is ccstream.Reason.IDLE_TIMEOUT
    assert result.signal == signal.SIGTERM


async def test_leaving_the_block_early_kills_the_group_and_says_cancelled() -> None:
    async with ccstream.stream(["sh", "-c", "while :; do echo y; done"]) as run:
        async for event in run:
            if isinstance(event, ccstream.Output):
                break
    assert run.result.reason is ccstream.Reason.CANCELLED
    assert run.result.signal == signal.SIGTERM
    assert gone(run.result.pid)


async def test_cancelled_caller_scope_kills_the_group() -> None:
    run: ccstream.Run | None = None
    with anyio.move_on_after(0.3):
        async with ccstream.stream(["sleep", "60"]) as run:
            async for _ in run:
                pass
    assert run is not None
    assert run.result.reason is ccstream.Reason.CANCELLED
    assert run.result.signal == signal.SIGTERM


async def test_pause_stops_output_and_resume_continues_it() -> None:
    script = "i=0; while [ $i -lt 40 ]; do echo $i; i=$((i+1)); sleep 0.02; done"
    async with ccstream.stream(["sh", "-c", script], ccstream.Options(idle_timeout=0.4)) as run:
        async for event in run:
            if isinstance(event, ccstream.Output):
                run.pause()
                assert run.paused
                await anyio.sleep(0.1)  # the stop is delivered asynchronously
                before = run.stats("stdout").lines
                await anyio.sleep(0.6)  # longer than the idle timeout: paused is not idle
                assert run.stats("stdout").lines == before
                run.resume()
                break
        async for _ in run:
            pass
    assert run.result.ok
    assert run.result.stdout.lines == 40


async def test_stdin_bytes_and_async_iterable_reach_the_child() -> None:
    data, _, result = await collect(["wc", "-c"], ccstream.Options(stdin=b"x" * 300_000))
    assert int(data["stdout"]) == 300_000
    assert result.ok

    async def source() -> AsyncIterator[bytes]:
        for i in range(3):
            yield f"line {i}\n".encode()
            await anyio.sleep(0.01)

    data, _, _ = await collect(["cat"], ccstream.Options(stdin=source()))
    assert data["stdout"] == b"line 0\nline 1\nline 2\n"


async def test_no_stdin_reads_end_of_file() -> None:
    data, _, result = await collect(["cat"])
    assert data["stdout"] == b""
    assert result.ok


async def test_environment_defaults_and_overrides() -> None:
    script = 'printf "%s|%s" "${PYTHONUNBUFFERED-unset}" "${CCS_TEST-unset}"'
    data, _, _ = await collect(script, ccstream.Options(env={"CCS_TEST": "v"}))
    assert data["stdout"] == b"1|v"
    data, _, _ = await collect(script, ccstream.Options(unbuffered=False, inherit_env=False))
    assert data["stdout"] == b"unset|unset"
    data, _, _ = await collect(
        ["/usr/bin/env"], ccstream.Options(inherit_env=False, env={"ONLY": "me"})
    )
    entries = sorted(data["stdout"].decode().split())
    # The run's marker is always there: it is how ccstream finds the run's processes.
    assert [e for e in entries if not e.startswith("CCSTREAM_RUN=")] == [
        "ONLY=me",
        "PYTHONUNBUFFERED=1",
    ]
    (marker,) = [e for e in entries if e.startswith("CCSTREAM_RUN=")]
    assert marker.startswith(f"CCSTREAM_RUN={os.getpid()}.")


async def test_cwd_and_shell_choice() -> None:
    data, _, _ = await collect("pwd", ccstream.Options(cwd="/"))
    assert data["stdout"] == b"/\n"
    data, _, _ = await collect("echo $0", ccstream.Options(shell="/bin/bash"))
    assert data["stdout"] == b"/bin/bash\n"


async def test_slow_consumer_pauses_the_pipe_within_the_buffer_limit(tmp_path: Path) -> None:
    marker = tmp_path / "done"
    script = f"head -c {64 * MiB} /dev/zero; touch {marker}"
    options = ccstream.Options(buffer_limit=1 * MiB)
    async with ccstream.stream(["sh", "-c", script], options) as run:
        await anyio.sleep(1.0)  # consume nothing: the child must be held back by a full pipe
        assert not marker.exists()
        buffer = run._buffer
        assert buffer.buffered("stdout") <= options.buffer_limit + options.read_size
        total = 0
        async for event in run:
            if isinstance(event, ccstream.Output):
                total += len(event.data)
    assert total == 64 * MiB
    assert marker.exists()


async def test_memory_ceiling_kills_the_tree_and_says_so() -> None:
    script = (
        "import time\n"
        "x = bytearray(300 * 1024 * 1024)\n"
        "x[::4096] = b'1' * len(x[::4096])  # touch every page so it is resident\n"
        "time.sleep(60)\n"
    )
    _, _, result = await collect(
        [PY, "-c", script],
        ccstream.Options(memory_limit=100 * MiB, monitor_interval=0.05, timeout=30),
    )
    assert result.reason is ccstream.Reason.MEMORY_LIMIT
    assert result.signal in (signal.SIGTERM, signal.SIGKILL)
    assert result.peak_rss_tree is not None
    assert result.peak_rss_tree > 100 * MiB


async def test_peaks_are_reported() -> None:
    # The child lives long enough for the monitor's first sample, taken in a worker thread.
    _, _, result = await collect(f"head -c {5 * MiB} /dev/zero; sleep 0.3")
    assert result.stdout.bytes == 5 * MiB
    assert result.host_rss_start > 0
    assert result.peak_rss_host >= result.host_rss_start
    assert result.peak_rss_tree is not None
    assert result.peak_rss_tree > 0
    assert result.duration > 0


async def test_concurrent_runs_are_limited_process_wide() -> None:
    previous = ccstream.get_max_concurrent_runs()
    ccstream.set_max_concurrent_runs(2)
    running = 0
    most = 0

    async def one() -> None:
        nonlocal running, most
        async with ccstream.stream(["sleep", "0.2"]) as run:
            running += 1
            most = max(most, running)
            await run.wait()
            running -= 1

    try:
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(one)
    finally:
        ccstream.set_max_concurrent_runs(previous)
    assert most == 2


async def test_an_exception_in_the_callers_block_propagates_unwrapped() -> None:
    with pytest.raises(KeyError):
        async with ccstream.stream(["sleep", "60"]) as run:
            raise KeyError("mine")
    assert run.result.reason is ccstream.Reason.CANCELLED


async def test_line_by_line_output_is_coalesced_into_full_frames() -> None:
    frames = 0
    async with ccstream.stream([PY, LARGE_OUTPUT, "--lines", "100000", "--no-sleep"]) as run:
        async for event in run:
            if isinstance(event, ccstream.Output) and event.stream == "stdout":
                frames += 1
    full = run.result.stdout.bytes / 65536
    # The child writes every line on its own; without coalescing this is ~100,000 frames.
    assert frames <= full * 1.5 + 10, (frames, full)


@pytest.mark.parametrize("mode", ["binary", "text", "lines"])
async def test_interactive_lines_arrive_promptly(mode: ccstream.ChunkMode) -> None:
    script = "import time\nfor _ in range(10):\n    print(time.time())\n    time.sleep(0.1)\n"
    delays: list[float] = []
    pending = b""
    async with ccstream.stream([PY, "-c", script], ccstream.Options(mode=mode)) as run:
        async for event in run:
            if isinstance(event, ccstream.Output):
                # print() writes text and newline separately, so a line may span two frames.
                pending += event.data
                *done, pending = pending.split(b"\n")
                delays.extend(time.time() - float(line) for line in done)
    assert len(delays) == 10
    # Coalescing waits 2 ms at most. Holding lines back until a frame fills would deliver them
    # all at the end, 0.5 s late on median; the bound leaves room for a loaded machine.
    assert sorted(delays)[5] < 0.1, delays
