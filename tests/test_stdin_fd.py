"""``Options(stdin=fd)``: the child gets the caller's file descriptor as its stdin, as it is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import ccstream
from tests._helpers import collect

pytestmark = pytest.mark.anyio


async def test_a_pipe_given_as_stdin_is_read_by_the_child_and_stays_open_for_the_caller() -> None:
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"through the pipe\n")
        os.close(write_end)
        data, _, result = await collect(["cat"], ccstream.Options(stdin=read_end))
        assert (result.returncode, bytes(data["stdout"])) == (0, b"through the pipe\n")
        os.fstat(read_end)  # still ours: the run did not close it
    finally:
        os.close(read_end)


async def test_a_file_given_as_stdin_shares_its_offset_with_the_caller(tmp_path: Path) -> None:
    path = tmp_path / "input"
    path.write_bytes(b"first\nsecond\n")
    fd = os.open(path, os.O_RDONLY)
    try:
        # The shell's ``read`` takes one line and seeks back to just after it.
        data, _, _ = await collect(["sh", "-c", "read a; echo $a"], ccstream.Options(stdin=fd))
        assert bytes(data["stdout"]) == b"first\n"
        assert os.read(fd, 100) == b"second\n"
    finally:
        os.close(fd)


async def test_a_terminal_given_as_stdin_is_a_terminal_in_the_child() -> None:
    parent, child = os.openpty()
    try:
        data, _, _ = await collect(
            ["sh", "-c", "test -t 0 && echo tty"], ccstream.Options(stdin=child)
        )
    finally:
        os.close(parent)
        os.close(child)
    assert bytes(data["stdout"]) == b"tty\n"


@pytest.mark.parametrize("stdin", [-1, True, 1.5, "0"])
def test_a_bad_stdin_is_an_invalid_option(stdin: object) -> None:
    with pytest.raises(ccstream.InvalidOption, match="stdin"):
        ccstream.Options(stdin=stdin)  # type: ignore[arg-type]
