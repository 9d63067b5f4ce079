"""The on-disk format: a spool directory written by an earlier ccstream (main at 8563cf7, kept in
tests/data/spool-format-1 with what that code read from it) opens and reads the same."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ccstream import Spool
from ccstream.spool import LocalStore

DATA = Path(__file__).resolve().parent.parent.parent / "data"
SPOOL = DATA / "spool-format-1"
EXPECTED: dict[str, Any] = json.loads((DATA / "spool-format-1.expected.json").read_text())

pytestmark = pytest.mark.anyio


async def _walk(spool: Spool, stream: Any) -> list[list[Any]]:
    pages = []
    line = 0
    while True:
        page = await spool.page(line, 500, stream)
        lines = [each.decode() for each in page.lines]
        gaps = [[g.offset, g.bytes, g.lines] for g in page.gaps]
        pages.append([page.first_line, page.next_line, lines, gaps])
        if page.complete:
            return pages
        line = page.next_line


async def test_a_spool_written_by_the_earlier_format_reads_the_same(tmp_path: Path) -> None:
    copy = tmp_path / "old"
    shutil.copytree(SPOOL, copy)  # a reader never writes, but the checked-in files stay as they are
    for spool in (Spool.open(copy), LocalStore(tmp_path).open("old")):
        with spool:
            assert spool.sizes == EXPECTED["sizes"]
            gaps = [[g.stream, g.offset, g.bytes, g.lines, g.reason] for g in spool.gaps]
            assert gaps == EXPECTED["gaps"]
            assert (spool.returncode, spool.reason) == (EXPECTED["returncode"], EXPECTED["reason"])
            for stream in ("stdout", "stderr"):
                assert await spool.known_lines(stream) == EXPECTED["known_lines"][stream]
                assert await _walk(spool, stream) == EXPECTED["pages"][stream]
            assert [line.decode() for line in (await spool.tail(3)).lines] == EXPECTED["tail"]
            replay = bytearray()
            async for event in spool.follow(streams=["stderr"]):
                replay += getattr(event, "data", b"")
            assert len(replay) == EXPECTED["sizes"]["stderr"]
