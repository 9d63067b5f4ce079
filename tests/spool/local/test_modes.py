"""Every file a spool makes is private to the server's user, whatever the umask allows."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import ccstream
from ccstream import Options, SpoolOptions

pytestmark = pytest.mark.anyio


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The common umask 022, which lets plain file creation make 0644 files."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("permissive_umask")
async def test_spool_files_are_0600_and_its_directory_0700(tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    script = (
        "import sys\n"
        "for i in range(2000): print('line', i, 'x' * 40)\n"
        "sys.stderr.write('err\\n' * 100)\n"
    )
    options = Options(
        spool=SpoolOptions(directory=spool_dir, keep=True, segment_size=16 * 1024, index_every=10)
    )
    async with ccstream.stream([sys.executable, "-c", script], options) as run:
        async for _event in run:
            pass
    assert run.result is not None
    assert run.result.ok
    assert stat.S_IMODE(spool_dir.stat().st_mode) == 0o700
    names = sorted(p.name for p in spool_dir.iterdir())
    # Segments (several: the output is larger than one), the order log, meta and both indexes.
    assert sum(name.startswith("stdout.") and name.endswith(".seg") for name in names) > 1
    assert {"order.log", "spool.json", "stdout.idx", "stderr.idx"} <= set(names), names
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in spool_dir.iterdir()}
    assert modes == dict.fromkeys(names, 0o600)
