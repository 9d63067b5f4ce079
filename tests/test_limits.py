"""Resource limits are in force before the child's own code runs."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

import ccstream
from tests._helpers import collect
from tests.conftest import PY

pytestmark = pytest.mark.anyio
MiB = 1024 * 1024


async def test_open_files_limit_is_seen_by_the_child() -> None:
    data, _, _ = await collect(
        "ulimit -n", ccstream.Options(limits=ccstream.ResourceLimits(open_files=64))
    )
    assert data["stdout"] == b"64\n"


async def test_address_space_limit_stops_a_big_allocation() -> None:
    script = (
        "try:\n    b = bytearray(512 * 1024 * 1024)\nexcept MemoryError:\n    print('refused')\n"
    )
    data, _, result = await collect(
        [PY, "-c", script],
        ccstream.Options(limits=ccstream.ResourceLimits(address_space=256 * MiB)),
    )
    assert data["stdout"] == b"refused\n"
    assert result.ok


async def test_file_size_limit_kills_with_sigxfsz(tmp_path: Path) -> None:
    target = tmp_path / "big"
    _, _, result = await collect(
        ["sh", "-c", f"head -c {4 * MiB} /dev/zero > {target}"],
        ccstream.Options(limits=ccstream.ResourceLimits(file_size=1 * MiB)),
    )
    # The shell reports its child's SIGXFSZ as an exit status of 128 + SIGXFSZ.
    assert result.exit_code == 128 + signal.SIGXFSZ
    assert target.stat().st_size == 1 * MiB


async def test_cpu_limit_kills_a_busy_loop() -> None:
    _, _, result = await collect(
        [PY, "-c", "while True: pass"],
        ccstream.Options(limits=ccstream.ResourceLimits(cpu_time=1), timeout=30),
    )
    assert result.signal in (signal.SIGXCPU, signal.SIGKILL)
    assert result.reason is ccstream.Reason.SIGNALLED
