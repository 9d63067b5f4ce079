"""``run()``: the whole run with a bounded capture of each stream."""

from __future__ import annotations

import pytest

import ccstream

pytestmark = pytest.mark.anyio


async def test_small_output_is_captured_whole() -> None:
    done = await ccstream.run("echo hello; echo oops >&2; exit 4")
    assert done.returncode == 4
    assert done.stdout.head == b"hello\n"
    assert done.stdout.complete
    assert done.stderr.head == b"oops\n"


async def test_big_output_keeps_head_and_tail_and_counts_the_middle() -> None:
    script = "i=0; while [ $i -lt 20000 ]; do echo line$i; i=$((i+1)); done"
    done = await ccstream.run(["sh", "-c", script], capture_bytes=1000)
    out = done.stdout
    assert out.head.startswith(b"line0\nline1\n")
    assert len(out.head) == 1000
    assert out.tail.endswith(b"line19999\n")
    assert len(out.tail) == 1000
    assert not out.complete
    assert len(out.head) + out.omitted_bytes + len(out.tail) == done.result.stdout.bytes
    assert out.total_lines == 20000
