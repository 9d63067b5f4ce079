"""Bad input is a clear exception from ccstream.exceptions, raised before any event."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import ccstream

pytestmark = pytest.mark.anyio


async def _start(command: Any, options: ccstream.Options | None = None) -> None:
    async with ccstream.stream(command, options) as run:
        async for _ in run:
            pytest.fail("no event may come from a command that cannot start")


async def test_command_not_found() -> None:
    with pytest.raises(ccstream.CommandNotFound, match="no-such-command-ccs"):
        await _start(["no-such-command-ccs", "x"])


async def test_missing_shell_is_command_not_found() -> None:
    with pytest.raises(ccstream.CommandNotFound):
        await _start("echo hi", ccstream.Options(shell="/no/such/shell"))


async def test_path_that_does_not_exist() -> None:
    with pytest.raises(ccstream.CommandNotFound):
        await _start(["/no/such/program"])


async def test_file_without_execute_permission(tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    os.chmod(script, 0o644)
    with pytest.raises(ccstream.NotExecutable):
        await _start([str(script)])
    env = {"PATH": str(tmp_path)}
    with pytest.raises(ccstream.NotExecutable):
        await _start(["script.sh"], ccstream.Options(env=env))


async def test_directory_is_not_executable(tmp_path: Path) -> None:
    with pytest.raises(ccstream.NotExecutable):
        await _start([str(tmp_path)])


async def test_missing_cwd(tmp_path: Path) -> None:
    with pytest.raises(ccstream.CwdNotFound):
        await _start(["true"], ccstream.Options(cwd=tmp_path / "missing"))


@pytest.mark.parametrize("command", [[], "", "   ", [""], ["echo", 3], b"echo", 42, ["a\0b"]])
async def test_malformed_commands(command: Any) -> None:
    with pytest.raises(ccstream.InvalidOption):
        await _start(command)


def test_spawn_errors_are_oserrors_and_ccstream_errors() -> None:
    assert issubclass(ccstream.CommandNotFound, OSError)
    assert issubclass(ccstream.CommandNotFound, ccstream.CCStreamError)
    assert issubclass(ccstream.InvalidOption, ValueError)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"chunk_size": 0},
        {"chunk_size": 8},
        {"chunk_size": True},
        {"chunk_size": 1.5},
        {"buffer_limit": 1024},
        {"timeout": -1},
        {"timeout": 0},
        {"timeout": float("nan")},
        {"idle_timeout": "5"},
        {"kill_grace": 0},
        {"memory_limit": -5},
        {"mode": "words"},
        {"env": {"A": 1}},
        {"env": {"A=B": "x"}},
        {"env": ["A"]},
        {"stdin": "text is not bytes"},
        {"shell": ""},
        {"limits": {"cpu_time": 1}},
        {"coalesce": -0.1},
        {"coalesce": 2},
    ],
)
def test_invalid_options_are_refused_when_made(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ccstream.InvalidOption):
        ccstream.Options(**kwargs)


@pytest.mark.parametrize("field", ["address_space", "cpu_time", "file_size", "open_files"])
def test_invalid_resource_limits(field: str) -> None:
    with pytest.raises(ccstream.InvalidOption):
        ccstream.ResourceLimits(**{field: 0})


async def test_options_must_be_options() -> None:
    with pytest.raises(ccstream.CCStreamError):
        await _start(["true"], {"timeout": 1})  # type: ignore[arg-type]
