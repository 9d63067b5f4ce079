"""The executable allowlist is a boundary: resolved on the server's PATH, matched by real file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ccstream_ws import Client, RPCError

from .conftest import ServerPool

pytestmark = pytest.mark.anyio


def _plant(directory: Path, marker: Path) -> Path:
    """An executable called ``echo`` that leaves ``marker`` behind if it ever runs."""
    script = directory / "echo"
    script.write_text(f"#!/bin/sh\ntouch {marker}\necho planted\n")
    script.chmod(0o755)
    return script


async def test_a_planted_echo_is_refused_by_path_and_by_client_path(
    servers: ServerPool, kind: str, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    planted = _plant(tmp_path, marker)
    server = servers.get(kind, {"allow_shell": False, "allowed_executables": ["echo"]})
    async with Client(server.url) as client:
        # By path: the basename says "echo", the file is not the allowlist's echo.
        for argv in ([str(planted), "hi"], ["./echo", "hi"]):
            with pytest.raises(RPCError) as info:
                await client.execute(argv, cwd=str(tmp_path))
            assert info.value.code == -32001, argv
        # By the client's PATH: the server looks "echo" up on its own PATH, so the real one runs.
        execution = await client.execute(["echo", "hi"], env={"PATH": str(tmp_path)})
        out, err, done = await execution.collect()
        assert (out, err, done.exit_code) == (b"hi\n", b"", 0)
        status = await client.status(execution.id)
        real = shutil.which("echo")
        assert real is not None
        # What ran is the absolute path the allowlist resolved to, not a name to look up again.
        assert status.argv == (real, "hi")
    assert not marker.exists()


async def test_a_link_to_the_allowed_file_runs_the_allowed_file(
    servers: ServerPool, tmp_path: Path
) -> None:
    real = shutil.which("echo")
    assert real is not None
    (tmp_path / "echo").symlink_to(real)
    (tmp_path / "ls").symlink_to(real)  # the same file by another name is another program
    server = servers.get("uvicorn", {"allow_shell": False, "allowed_executables": [real]})
    async with Client(server.url) as client:
        out, _, _ = await (await client.execute([str(tmp_path / "echo"), "ok"])).collect()
        assert out == b"ok\n"
        with pytest.raises(RPCError) as info:
            await client.execute([str(tmp_path / "ls")])
        assert info.value.code == -32001
        assert info.value.data == {"allowed": [real]}
