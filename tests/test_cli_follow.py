"""``ccstream follow DIR --tail N`` and ``ccstream tail -f`` on a live run and on an ended one:
the installed ``ccstream`` entry point, real subprocesses, a real spool."""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CCSTREAM = str(Path(sys.executable).with_name("ccstream"))
PY = sys.executable

# 100 lines on stdout and 10 on stderr, then, once the file ``go`` exists, 5 and 1 more; exit 7.
SCRIPT = """
import os, sys, time
for i in range(100):
    print(f"line {i}")
    if i % 10 == 0:
        print(f"err {i // 10}", file=sys.stderr)
sys.stdout.flush()
while not os.path.exists(sys.argv[1]):
    time.sleep(0.01)
for i in range(100, 105):
    print(f"line {i}")
print("err 10", file=sys.stderr)
sys.exit(7)
"""


def _lines(first: int, last: int, word: str = "line") -> bytes:
    return b"".join(f"{word} {i}\n".encode() for i in range(first, last))


def _ccstream(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [CCSTREAM, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=False,
    )


@contextlib.contextmanager
def _live_run(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A run writing ``tmp_path/spool``, paused after its first 100 lines until ``go`` exists."""
    spool, go = tmp_path / "spool", tmp_path / "go"
    writer = subprocess.Popen(
        [CCSTREAM, "run", "--spool", str(spool), PY, "-c", SCRIPT, str(go)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while _ccstream("tail", str(spool), "-n", "1").stdout != b"line 99\n":
            assert time.monotonic() < deadline, "the run did not write its first lines"
            time.sleep(0.05)
        yield spool, go
        assert writer.wait(timeout=30) == 7
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()


def _read_until(fd: int, wanted: bytes, within: float = 20) -> bytes:
    """Read ``fd`` until exactly ``wanted`` arrived (fail on more, or on a timeout)."""
    got = b""
    deadline = time.monotonic() + within
    while len(got) < len(wanted):
        left = deadline - time.monotonic()
        assert left > 0, f"only {got!r} arrived"
        if select.select([fd], [], [], left)[0]:
            data = os.read(fd, 65536)
            assert data, f"end of output after {got!r}"
            got += data
    assert got == wanted
    return got


@contextlib.contextmanager
def _follower(*args: str) -> Iterator[subprocess.Popen[bytes]]:
    """``ccstream *args`` with its stdout and stderr piped here; killed (by its id) if it is
    still running when the block ends."""
    follower = subprocess.Popen(
        [CCSTREAM, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        yield follower
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()


def test_follow_tail_prints_the_last_lines_of_each_stream_then_what_follows(
    tmp_path: Path,
) -> None:
    with (
        _live_run(tmp_path) as (spool, go),
        _follower("follow", str(spool), "--tail", "3") as follower,
    ):
        assert follower.stdout is not None
        assert follower.stderr is not None
        _read_until(follower.stdout.fileno(), _lines(97, 100))
        _read_until(follower.stderr.fileno(), _lines(7, 10, "err"))
        assert follower.poll() is None, "the follower must wait for the live run"
        go.touch()
        out, err = follower.communicate(timeout=30)
    assert out == _lines(100, 105)
    assert err == b"err 10\n"
    assert follower.returncode == 7, "the run's own status"


def test_tail_f_follows_one_stream_from_its_last_lines(tmp_path: Path) -> None:
    with (
        _live_run(tmp_path) as (spool, go),
        _follower("tail", "-f", "-n", "2", str(spool)) as follower,
    ):
        assert follower.stdout is not None
        _read_until(follower.stdout.fileno(), _lines(98, 100))
        go.touch()
        out, err = follower.communicate(timeout=30)
    assert (out, err, follower.returncode) == (_lines(100, 105), b"", 7)


def test_follow_tail_0_prints_only_what_comes_after(tmp_path: Path) -> None:
    with (
        _live_run(tmp_path) as (spool, go),
        _follower("follow", "--stream", "stdout", "--tail", "0", str(spool)) as follower,
    ):
        time.sleep(0.3)  # time to print anything it wrongly would
        go.touch()
        out, err = follower.communicate(timeout=30)
    assert (out, err, follower.returncode) == (_lines(100, 105), b"", 7)


def test_tail_f_of_an_ended_run_prints_its_last_lines_and_its_status(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    assert _ccstream("run", "--spool", str(spool), "sh", "-c", "seq 1 50; exit 3").returncode == 3
    done = _ccstream("tail", "-f", "-n", "4", str(spool))
    assert (done.returncode, done.stdout, done.stderr) == (3, b"47\n48\n49\n50\n", b"")
    more = _ccstream("follow", "--tail", "100", str(spool))
    assert (more.returncode, more.stdout) == (3, b"".join(b"%d\n" % i for i in range(1, 51)))


def test_tail_of_more_lines_than_there_are_starts_at_the_first(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    _ccstream("run", "--spool", str(spool), "printf", "a\\nb\\nno newline")
    done = _ccstream("follow", "--tail", "10", str(spool))
    assert (done.returncode, done.stdout) == (0, b"a\nb\nno newline")
    last = _ccstream("tail", "-f", "-n", "1", str(spool))
    assert (last.returncode, last.stdout) == (0, b"no newline")


def test_following_a_run_that_timed_out_exits_124_and_says_so(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    run = _ccstream("run", "--spool", str(spool), "--timeout", "200ms", "sleep", "30")
    assert run.returncode == 124
    done = _ccstream("tail", "-f", str(spool))
    assert done.returncode == 124
    assert done.stderr == b"ccstream: timed out (the child was killed by SIGTERM)\n"


@pytest.mark.parametrize("args", [["--tail", "3", "--offset", "5"], ["--tail", "x"]])
def test_follow_rejects_a_bad_start(tmp_path: Path, args: list[str]) -> None:
    done = _ccstream("follow", str(tmp_path), *args)
    assert done.returncode == 2
    assert b"usage: ccstream follow" in done.stderr
