"""The local store's own resources: what it keeps for a key holds no file open."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import ccstream
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


async def test_a_run_with_a_store_writes_its_spool_through_it(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    options = ccstream.Options(spool=ccstream.SpoolOptions(store=store, key="k", keep=True))
    async with ccstream.stream(["seq", "1", "5000"], options) as run:
        reader = store.open("k")  # made by store.create: read live, by key, during the run
        assert (await run.wait()).ok
    assert reader.path == tmp_path / "k"
    expected = b"".join(b"%d\n" % i for i in range(1, 5001))
    assert await reader.read("stdout", 0, len(expected) + 1) == expected
    assert store.state("k").complete
    reader.close()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"store": "not a store", "key": "k"}, "must be a Store"),
        ({"store": LocalStore(), "key": ""}, "needs a key"),
        ({"store": LocalStore(), "key": "k", "directory": "/tmp/x"}, "takes no directory"),
        ({"key": "k"}, "needs a store"),
    ],
)
def test_spool_options_with_a_store_are_checked(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ccstream.InvalidOption, match=message):
        ccstream.SpoolOptions(**fields)  # type: ignore[arg-type]
