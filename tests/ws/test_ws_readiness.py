"""The spool directory checked before ``serve`` listens; ``/readyz`` beside ``/healthz``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ccstream_ws.server._readiness import spool_problem

from ._cli_server import serve_cli, stop
from ._http import get_json
from ._raw import raw
from .conftest import free_port

pytestmark = pytest.mark.anyio


def _serve_fails(spool_dir: Path) -> str:
    """Run ``serve --spool-dir spool_dir``; it must exit non-zero without ever listening."""
    port = free_port()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ccstream_ws.cli",
            "serve",
            "--port",
            str(port),
            "--spool-dir",
            str(spool_dir),
        ],
        capture_output=True,
        timeout=30,
    )
    assert result.returncode == 2, result
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    err = result.stderr.decode()
    assert "Traceback" not in err
    assert "Uvicorn running" not in err
    return err


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mounts a tmpfs with the given options (Linux, as root) and gives its path; unmounted
    after the test."""
    if sys.platform != "linux" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root on Linux to mount a tmpfs")
    point = tmp_path / "mnt"
    point.mkdir()
    mounted = False

    def mount(options: str) -> Path:
        nonlocal mounted
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)])
        if done.returncode != 0:
            pytest.skip("cannot mount a tmpfs here")
        mounted = True
        return point

    yield mount
    if mounted:
        subprocess.run(["umount", str(point)], check=True)


def test_a_spool_dir_that_is_a_file_stops_serve_before_listening(tmp_path: Path) -> None:
    path = tmp_path / "a-file"
    path.write_text("x")
    err = _serve_fails(path)
    assert f"the spool directory {path} is not usable: it is not a directory" in err


def test_a_missing_spool_dir_is_made(tmp_path: Path) -> None:
    path = tmp_path / "new" / "spools"
    assert spool_problem(str(path), create=True) is None
    assert path.is_dir()
    assert (path.stat().st_mode & 0o777) == 0o700


def test_an_unwritable_spool_dir_stops_serve_before_listening(
    tmpfs: Callable[[str], Path],
) -> None:
    point = tmpfs("ro,size=1m")  # read-only: refused to root as well
    err = _serve_fails(point)
    assert f"the spool directory {point} is not usable: cannot create a file in it" in err


def test_a_full_spool_disk_stops_serve_before_listening(tmpfs: Callable[[str], Path]) -> None:
    point = tmpfs("size=64k")  # below the 1 MiB a spool directory must have free
    err = _serve_fails(point)
    assert f"the spool directory {point} is not usable: its file system is full" in err


async def test_readyz_says_not_ready_at_the_execution_limit_and_healthz_stays_ok(
    tmp_path: Path,
) -> None:
    port = free_port()
    proc = serve_cli(
        port,
        tmp_path / "server.log",
        "--max-executions",
        "1",
        "--spool-dir",
        str(tmp_path / "spools"),
    )
    try:
        assert get_json(port, "/readyz") == (200, {"ready": True, "status": "ready", "reasons": []})
        async with raw(f"ws://127.0.0.1:{port}/ws") as client:
            await client.recv()
            answer = await client.call("execute", {"argv": ["sleep", "30"]})
            eid = answer["result"]["execution_id"]
            status, body = get_json(port, "/readyz")
            assert (status, body["ready"]) == (503, False)
            assert body["reasons"] == ["at the limit of 1 running executions"]
            assert get_json(port, "/healthz")[0] == 200
            await client.call("cancel", {"execution_id": eid})
            await client.until("process.completed")
        assert get_json(port, "/readyz")[0] == 200
        # The spool directory going away makes the server unready, and it says why.
        shutil.rmtree(tmp_path / "spools", ignore_errors=True)
        status, body = get_json(port, "/readyz")
        assert status == 503
        assert body["reasons"] == [
            f"the spool directory {tmp_path / 'spools'} is not usable: it does not exist"
        ]
        assert get_json(port, "/healthz")[0] == 200
        (tmp_path / "spools").mkdir()
        assert get_json(port, "/readyz")[0] == 200
    finally:
        stop(proc, signal.SIGTERM)


def test_the_app_under_plain_uvicorn_fails_its_startup_on_an_unusable_spool_dir(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a-file"
    path.write_text("x")
    port = free_port()
    here = Path(__file__).resolve().parent
    result = subprocess.run(
        [
            sys.executable,
            str(here / "_server.py"),
            "uvicorn",
            str(port),
            json.dumps({"spool_directory": str(path)}),
        ],
        capture_output=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert f"the spool directory {path} is not usable: it is not a directory" in (
        result.stderr.decode()
    )
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
