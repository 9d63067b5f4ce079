"""``ccstream run --spool``, ``page``, ``tail``, ``follow`` and ``prune`` as a user runs them,
including ``follow`` from another process while the run is still writing."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.conftest import PY

CCSTREAM = [PY, "-m", "ccstream"]


def _ccstream(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*CCSTREAM, *args], capture_output=True, timeout=timeout, check=False)


def _lines(first: int, last: int) -> bytes:
    return b"".join(f"line {i}\n".encode() for i in range(first, last))


def test_run_with_a_spool_keeps_it_for_page_tail_and_follow(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    script = (
        "import sys\nfor i in range(20000): print(f'line {i}')\n"
        "print('oops', file=sys.stderr)\nsys.exit(3)"
    )
    run = _ccstream("run", "--spool", str(spool), "--stats", "--", PY, "-c", script)
    assert run.returncode == 3
    assert run.stdout == _lines(0, 20000)
    assert f"ccstream: spool: {spool}".encode() in run.stderr

    page = _ccstream("page", str(spool), "--from", "1000", "--lines", "3")
    assert page.returncode == 0
    assert page.stdout == _lines(1000, 1003)
    assert (
        b"stdout lines 1000-1002 of 20000 known (the run ended); next: --from 1003" in page.stderr
    )

    page = _ccstream("page", str(spool), "--stream", "stderr")
    assert page.stdout == b"oops\n"

    tail = _ccstream("tail", str(spool), "-n", "2")
    assert (tail.returncode, tail.stdout, tail.stderr) == (0, _lines(19998, 20000), b"")

    follow = _ccstream("follow", str(spool))
    assert follow.returncode == 3, "follow ends with the run's own status"
    assert follow.stdout == _lines(0, 20000)
    assert follow.stderr == b"oops\n"

    follow = _ccstream(
        "follow", str(spool), "--stream", "stdout", "--offset", str(len(_lines(0, 19999)))
    )
    assert follow.stdout == b"line 19999\n"


def test_follow_from_another_process_while_the_run_writes(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    script = (
        "import sys, time\n"
        "for i in range(3000):\n"
        "    print(f'line {i}')\n"
        "    if i % 500 == 0: sys.stdout.flush(); time.sleep(0.1)\n"
        "sys.exit(5)\n"
    )
    writer = subprocess.Popen(
        [*CCSTREAM, "run", "--spool", str(spool), "--", PY, "-c", script],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not (spool / "spool.json").exists():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        follower = subprocess.run(
            [*CCSTREAM, "follow", str(spool)], capture_output=True, timeout=30, check=False
        )
    finally:
        assert writer.wait(timeout=30) == 5
    assert follower.stdout == _lines(0, 3000)
    assert follower.returncode == 5


def test_page_across_a_quota_gap_says_what_was_dropped(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    script = "for i in range(100000): print(f'line {i}')"
    run = _ccstream(
        "run",
        "--spool",
        str(spool),
        "--spool-segment-size",
        "64K",
        "--spool-quota",
        "256K",
        "--",
        PY,
        "-c",
        script,
    )
    assert run.returncode == 0
    page = _ccstream("page", str(spool), "--from", "20000", "-n", "2")
    assert page.stdout == b""
    assert b"lines dropped by the disk quota" in page.stderr
    tail = _ccstream("tail", str(spool), "-n", "1")
    assert tail.stdout == b"line 99999\n"


def test_bad_spools_and_prune(tmp_path: Path) -> None:
    missing = _ccstream("tail", str(tmp_path / "nowhere"))
    assert missing.returncode == 2
    assert b"no spool" in missing.stderr
    spool = tmp_path / "spools" / "one"
    assert _ccstream("run", "--spool", str(spool), "--", "true").returncode == 0
    busy = _ccstream("run", "--spool", str(spool), "--", "true")
    assert busy.returncode == 2
    assert b"not empty" in busy.stderr
    kept = _ccstream("prune", str(tmp_path / "spools"), "--older-than", "1h")
    assert (kept.returncode, kept.stdout) == (0, b"")
    gone = _ccstream("prune", str(tmp_path / "spools"), "--older-than", "0s")
    assert gone.stdout.decode().split() == [str(spool)]
    assert not spool.exists()
