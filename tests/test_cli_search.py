"""``ccstream search`` as a user runs it: grep's output and exit status (0 a match, 1 none, 2 an
error), its flags, whole long lines, a spool with quota gaps, and following a live run."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import PY

CCSTREAM = [PY, "-m", "ccstream"]
CHILD = (
    "import sys\n"
    "for i in range(3000): print(f'line {i}' + (' Needle' if i % 1000 == 5 else ''))\n"
    "print('y' * 200000 + 'needle')\n"
    "print('needle on stderr', file=sys.stderr)\n"
)


def _ccstream(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*CCSTREAM, *args], capture_output=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def spool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("search") / "spool"
    run = _ccstream("run", "--spool", str(directory), "--", PY, "-c", CHILD)
    assert run.returncode == 0, run.stderr
    return directory


def test_matching_lines_print_as_stream_line_text_and_exit_0(spool: Path) -> None:
    found = _ccstream("search", str(spool), "needle")
    assert found.returncode == 0
    assert found.stdout == b"stdout:3001:" + b"y" * 200000 + b"needle\nstderr:1:needle on stderr\n"
    assert found.stderr == b""


def test_flags_as_grep_has_them(spool: Path) -> None:
    folded = _ccstream("search", str(spool), "-i", "--stream", "stdout", "needle")
    assert folded.returncode == 0
    lines = folded.stdout.splitlines()
    assert lines[:3] == [b"6:line 5 Needle", b"1006:line 1005 Needle", b"2006:line 2005 Needle"]
    assert len(lines) == 4
    counted = _ccstream("search", str(spool), "-c", "-i", "needle")
    assert (counted.returncode, counted.stdout) == (0, b"stdout:4\nstderr:1\n")
    one = _ccstream("search", str(spool), "-c", "--stream", "stderr", "needle")
    assert one.stdout == b"1\n"
    regex = _ccstream("search", str(spool), "-E", "--stream", "stdout", r"^line 1\d{3} ")
    assert regex.stdout == b"1006:line 1005 Needle\n"
    first = _ccstream("search", str(spool), "-m", "1", "-i", "--stream", "stdout", "needle")
    assert first.stdout == b"6:line 5 Needle\n"
    literal = _ccstream("search", str(spool), "-F", "line 1\\d")
    assert literal.returncode == 1
    quiet = _ccstream("search", str(spool), "-q", "line")
    assert (quiet.returncode, quiet.stdout) == (0, b"")


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["nothing like this"], 1, b""),
        (["-m", "0", "line"], 1, b""),
        (["-E", "("], 2, b"not a regular expression"),
        (["-E", "-F", "x"], 2, b"not allowed with argument"),
    ],
)
def test_exit_status_is_greps(spool: Path, args: list[str], status: int, message: bytes) -> None:
    done = _ccstream("search", str(spool), *args)
    assert done.returncode == status
    assert done.stdout == b""
    assert message in done.stderr


def test_no_spool_is_an_error_with_status_2(tmp_path: Path) -> None:
    done = _ccstream("search", str(tmp_path / "none"), "x")
    assert done.returncode == 2
    assert b"no spool" in done.stderr


def test_a_gap_in_the_searched_range_is_said_and_the_status_is_2(tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    child = "for i in range(20000): print(f'line {i:06d}')"
    run = _ccstream(
        "run", "--spool", str(directory), "--spool-segment-size", "16K",
        "--spool-quota", "64K", "--", PY, "-c", child,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    done = _ccstream("search", str(directory), "--stream", "stdout", "line 0")
    assert done.returncode == 2
    assert done.stdout.startswith(b"1:line 000000\n")
    assert done.stdout.endswith(b":line 019999\n")
    assert b"lines dropped by the disk quota" in done.stderr
    assert b"were not searched" in done.stderr


def test_follow_keeps_searching_a_live_run_until_it_ends(tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    gate = tmp_path / "go"
    child = (
        "import os, time\nprint('one needle', flush=True)\n"
        f"while not os.path.exists({str(gate)!r}): time.sleep(0.01)\nprint('two needle')"
    )
    writer = subprocess.Popen(
        [*CCSTREAM, "run", "--spool", str(directory), "--", PY, "-c", child],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            now = _ccstream("search", str(directory), "needle")
            if now.returncode == 0:
                break
            assert time.monotonic() < deadline, now.stderr
            time.sleep(0.05)
        assert now.stdout == b"stdout:1:one needle\n"
        assert writer.poll() is None  # searched while the run goes on
        follower = subprocess.Popen(
            [*CCSTREAM, "search", str(directory), "-f", "needle"], stdout=subprocess.PIPE
        )
        time.sleep(0.5)
        assert follower.poll() is None  # it waits for the run
        gate.touch()
        out, _ = follower.communicate(timeout=20)
        followed = subprocess.CompletedProcess(follower.args, follower.returncode, out)
        assert followed.returncode == 0
        assert followed.stdout == b"stdout:1:one needle\nstdout:2:two needle\n"
    finally:
        writer.wait(timeout=10)
    assert writer.returncode == 0
