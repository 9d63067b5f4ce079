"""The local store's own resources: what it keeps for a key holds no file open."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ccstream._options import SpoolOptions
from ccstream.spool import LocalStore

pytestmark = pytest.mark.anyio


def _open_files_under(root: Path) -> list[str]:
    """The paths under ``root`` this process holds open (``/dev/fd``: Linux and macOS)."""
    real = os.path.realpath(root)
    out = []
    for fd in os.listdir("/dev/fd"):
        try:
            target = os.readlink(f"/dev/fd/{fd}")
        except OSError:
            continue  # closed meanwhile, or the listing's own descriptor
        if target.startswith(real):
            out.append(target)
    return out


async def test_a_created_spool_holds_no_file_open_once_its_sink_and_readers_closed(
    tmp_path: Path,
) -> None:
    root = tmp_path
    store = LocalStore(root)
    sink = store.create("one", SpoolOptions())
    with store.open("one") as spool:
        assert (await spool.page()).lines == []
    await sink.aclose()
    assert _open_files_under(root) == []
    assert await store.remove("one")
    assert _open_files_under(root) == []
