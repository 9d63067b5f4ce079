"""An execution's spool as the adapter uses it, without a server: opened by id from the store,
followed across the run's end, pages, removal; and the spool options the server gives a run."""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from pathlib import Path

import pytest

import ccstream
from ccstream import CutLine, Gap, Output, Page
from ccstream.spool import LocalStore
from ccstream_ws.server._budget import spool_options
from ccstream_ws.server._config import ServerConfig
from ccstream_ws.server._pages import page_result

PY = sys.executable
MiB = 1024 * 1024
# 4 MiB of numbered lines on stdout, a little on stderr.
CHILD = (
    "import sys\n"
    "out = sys.stdout\n"
    "for i in range(60000):\n"
    "    out.write(f'line {i:08d} ' + 'x' * 55 + '\\n')\n"
    "    if i % 10000 == 0: out.flush(); sys.stderr.write(f'progress {i}\\n'); sys.stderr.flush()\n"
)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _expected() -> bytes:
    return b"".join(b"line %08d " % i + b"x" * 55 + b"\n" for i in range(60000))


@pytest.mark.anyio
async def test_a_reader_opened_by_id_follows_across_the_runs_end_byte_exact(
    tmp_path: Path,
) -> None:
    config = ServerConfig(spool_directory=str(tmp_path))
    store = LocalStore(tmp_path)
    through = dataclasses.replace(
        spool_options(config, "abc"), directory=None, store=store, key="abc"
    )
    options = ccstream.Options(spool=through)
    got = {"stdout": hashlib.sha256(), "stderr": hashlib.sha256()}
    sizes = {"stdout": 0, "stderr": 0}
    async with ccstream.stream([PY, "-c", CHILD], options) as run:
        spool = store.open("abc")
        assert spool.path == tmp_path / "abc"
        events = spool.follow()
        # A few frames while the run writes, then the run ends and its block closes while this
        # reader holds a frame: it goes on, the same reader.
        for _ in range(3):
            event = await events.__anext__()
            assert isinstance(event, Output)
            got[event.stream].update(event.data)
            sizes[event.stream] += len(event.data)
        result = await run.wait()
    assert result.ok
    assert (tmp_path / "abc").is_dir(), "kept after the run's block closed"
    async for event in events:
        assert isinstance(event, Output)
        assert event.offset == sizes[event.stream], "no byte twice, none missing"
        got[event.stream].update(event.data)
        sizes[event.stream] += len(event.data)
    assert got["stdout"].digest() == hashlib.sha256(_expected()).digest()
    assert sizes["stderr"] == sum(len(f"progress {i}\n") for i in range(0, 60000, 10000))
    # A page after the run, from a reader opened by id; then removal deletes the spool.
    with store.open("abc") as other:
        page = await other.page(59998, 10)
    assert page.lines == [b"line %08d " % i + b"x" * 55 + b"\n" for i in (59998, 59999)]
    assert page.complete
    assert await store.remove("abc")
    assert store.removed("abc")
    assert not (tmp_path / "abc").exists()
    with pytest.raises(ccstream.SpoolNotFound):
        await spool.page(0, 1)
    with pytest.raises(ccstream.SpoolNotFound):
        store.open("abc")
    spool.close()


@pytest.mark.anyio
async def test_a_spool_from_another_process_or_before_opens_by_id_from_its_directory(
    tmp_path: Path,
) -> None:
    config = ServerConfig(spool_directory=str(tmp_path))
    options = ccstream.Options(spool=spool_options(config, "x"))
    async with ccstream.stream(["seq", "1", "100000"], options) as run:
        await run.wait()
    store = LocalStore(tmp_path)
    assert store.keys() == ["x"]
    with store.open("x") as spool:
        data = b"".join([e.data async for e in spool.follow() if isinstance(e, Output)])
    assert data == b"".join(b"%d\n" % i for i in range(1, 100001))
    assert store.state("x").complete
    assert await store.usage("x") >= len(data)


def test_page_result_encodings() -> None:
    page = Page(
        [b"caf\xc3\xa9\n", b"\xff\n"],
        7,
        9,
        20,
        False,
        [Gap("stdout", 100, 50, 3, "quota")],
        "stdout",
        123,
    )
    text = page_result(page, "text")
    assert text["lines"] == ["café\n", "\ufffd\n"]
    assert text["gaps"] == [{"offset": 100, "bytes": 50, "lines": 3, "reason": "quota"}]
    assert (text["first_line"], text["next_line"], text["known_lines"]) == (7, 9, 20)
    assert text["next_offset"] == 123
    assert page_result(page, "base64")["lines"] == ["Y2Fmw6kK", "/wo="]


def test_page_result_reports_a_cut_line_and_ends_its_text_at_a_whole_code_point() -> None:
    # "é" is c3 a9: a cut after its first byte moves that byte to the omitted part in text.
    kept = b"ab\xc3"
    page = Page([kept], 4, 5, 9, False, [], "stdout", 900, [CutLine(4, 100, 3, 500, 103)])
    text = page_result(page, "text", 3)
    assert text["lines"] == ["ab"]
    assert text["cuts"] == [
        {"line": 4, "offset": 100, "kept_bytes": 2, "omitted_bytes": 501, "rest_offset": 102}
    ]
    assert text["max_bytes"] == 3
    raw = page_result(page, "base64", 3)
    assert raw["lines"] == ["YWLD"]
    assert raw["cuts"][0]["kept_bytes"] == 3
    assert raw["cuts"][0]["rest_offset"] == 103
    # A whole code point at the cut, or bytes that are not UTF-8, stay as they are.
    for whole in (b"ab\xc3\xa9", b"abc", b"a\xff\xff", b"\x80\x80\x80\x80"):
        page = Page([whole], 0, 1, 1, True, [], "stdout", 9, [CutLine(0, 0, len(whole), 5, 4)])
        assert page_result(page, "text")["cuts"][0]["kept_bytes"] == len(whole)


def test_segments_fit_the_quota() -> None:
    small = spool_options(ServerConfig(spool_quota=MiB), "e")
    assert small.quota == MiB
    assert small.segment_size == MiB // 16
    assert small.keep
    default = spool_options(ServerConfig(), "e")
    assert default.quota == 1024 * MiB
    assert default.segment_size == 64 * MiB
    assert default.directory is None
    assert spool_options(ServerConfig(spool_quota=None), "e").segment_size == 64 * MiB


def test_spool_memory_stays_small_and_holds_a_frame_in_its_cache_for_big_frames() -> None:
    # 2 MiB per execution, so 64 busy ones stay near 128 MiB; but the cache of recent frames
    # (a quarter of it) must hold at least one frame, or every frame is read back from disk.
    assert spool_options(ServerConfig(), "e").memory == 2 * MiB
    assert spool_options(ServerConfig(), "e", 64 * 1024).memory == 2 * MiB
    for chunk in (MiB, 4 * MiB):
        assert spool_options(ServerConfig(), "e", chunk).memory // 4 >= chunk
