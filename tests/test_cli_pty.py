"""``ccstream run --pty``, ``--pty-size``, ``--pty-stderr`` and ``--force-color``, run as real
subprocesses (the window-following one on a terminal of its own, made by the library)."""

from __future__ import annotations

import re
import subprocess
import sys

import anyio
import pytest

import ccstream
from tests.conftest import PY
from tests.test_pty import RESIZE

SEES = (
    "import os, sys; s = os.get_terminal_size(); "
    "print(os.isatty(1), os.isatty(2), s.lines, s.columns, flush=True); "
    "print('err', file=sys.stderr, flush=True)"
)


def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ccstream", *args], capture_output=True, timeout=60
    )


def test_pty_on_a_pipe_is_24_by_80_with_stderr_merged() -> None:
    done = cli("run", "--pty", "--", PY, "-c", SEES)
    assert done.returncode == 0
    assert done.stdout == b"True True 24 80\nerr\n"
    assert done.stderr == b""


def test_pty_size_and_stderr_on_its_own_pipe() -> None:
    done = cli("run", "--pty", "--pty-size", "12x34", "--pty-stderr", "pipe", "--", PY, "-c", SEES)
    assert done.returncode == 0
    assert done.stdout == b"True False 12 34\n"
    assert done.stderr == b"err\n"


@pytest.mark.parametrize("size", ["0x80", "24", "axb", "24x70000"])
def test_a_bad_pty_size_is_a_usage_error(size: str) -> None:
    done = cli("run", "--pty", "--pty-size", size, "--", "true")
    assert done.returncode == 2
    assert b"ROWSxCOLS" in done.stderr


def test_force_color_sets_the_variables() -> None:
    done = cli("run", "--force-color", "--", "sh", "-c", 'echo "$FORCE_COLOR $CLICOLOR_FORCE"')
    assert done.stdout == b"1 1\n"


@pytest.mark.anyio
async def test_pty_follows_the_size_of_our_terminal() -> None:
    # ccstream itself runs on a 30x90 terminal; resizing that one resizes the command's.
    argv = [PY, "-m", "ccstream", "run", "--pty", "--", PY, "-c", RESIZE]
    seen = bytearray()
    options = ccstream.Options(pty=ccstream.Pty(30, 90), timeout=30)

    async def resize_until_seen(run: ccstream.Run) -> None:
        # A resize that comes before ccstream listens for SIGWINCH is lost (its default is to
        # ignore it): resize again, to another size each time, until the command saw one.
        sizes = [(41, 101), (42, 102)]
        while b"winch" not in seen and not run.done:
            if b"start" in seen and seen.endswith(b"\n"):
                run.resize(*sizes[0])
                sizes.reverse()
            await anyio.sleep(0.2)

    async with ccstream.stream(argv, options) as run, anyio.create_task_group() as tg:
        tg.start_soon(resize_until_seen, run)
        async for event in run:
            if isinstance(event, ccstream.Output):
                seen += event.data
                if b"winch" in seen and seen.endswith(b"\n"):
                    run.cancel()
    assert seen.startswith(b"start 30 90\n"), seen
    assert re.search(rb"winch 4[12] 10[12]\n", seen), seen
