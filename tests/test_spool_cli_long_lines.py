"""``ccstream page`` and ``tail`` print lines longer than a page whole, byte for byte."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ccstream._events import Output
from ccstream._options import SpoolOptions
from ccstream.spool._reader import PAGE_BYTES
from ccstream.spool.local._writer import SpoolWriter
from tests.conftest import PY

# Around the page bound: under it, at it, over it, several times over; the last without newline.
LINES = [
    b"first\n",
    b"a" * (PAGE_BYTES - 1) + b"\n",
    b"b" * (PAGE_BYTES + 1) + b"\n",
    b"c" * (3 * PAGE_BYTES + 12345) + b"\n",
    b"short\n",
    b"d" * (2 * PAGE_BYTES),
]


@pytest.fixture(scope="module")
def spool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("long") / "spool"
    writer = SpoolWriter(SpoolOptions(directory=directory, keep=True))
    offset = 0
    for seq, line in enumerate(LINES):
        writer.append("stdout", [Output("stdout", seq, offset, line)])
        offset += len(line)
    writer.close([(offset, len(LINES) - 1), (0, 0)], returncode=0, reason="exited")
    return directory


def _ccstream(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [PY, "-m", "ccstream", *args], capture_output=True, timeout=30, check=False
    )


@pytest.mark.parametrize(("first", "count"), [(0, 100), (1, 1), (2, 1), (3, 2), (5, 1), (2, 3)])
def test_page_prints_each_line_whole(spool: Path, first: int, count: int) -> None:
    run = _ccstream("page", str(spool), "--from", str(first), "--lines", str(count))
    assert run.returncode == 0
    assert run.stdout == b"".join(LINES[first : first + count])
    last = min(first + count, len(LINES)) - 1
    assert f"stdout lines {first}-{last} of {len(LINES)} known".encode() in run.stderr


@pytest.mark.parametrize("count", [1, 2, 3, 6, 50])
def test_tail_prints_each_line_whole(spool: Path, count: int) -> None:
    run = _ccstream("tail", str(spool), "-n", str(count))
    assert (run.returncode, run.stderr) == (0, b"")
    assert run.stdout == b"".join(LINES[-count:])
