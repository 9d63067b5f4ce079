"""``page``'s byte bound over a real server: pages within ``max_bytes``, cut lines reported, the
rest of each one given back exactly by a download's byte range, bad bounds refused."""

from __future__ import annotations

import base64
import sys
import urllib.request
from typing import Any

import anyio
import pytest

import ccstream_ws
from ccstream_ws import Client, RPCError

from .conftest import Server

pytestmark = pytest.mark.anyio
PY = sys.executable
# With a bound of 999: a short line, one of exactly the bound, lines just over and far over
# it, a line of invalid UTF-8, and a last line without a newline.
LINES = [b"a\n", b"b" * 998 + b"\n", b"c" * 1000 + b"\n", b"\xff" * 5000 + b"\n", b"d" * 300_000]
CHILD = (
    "import sys\nout = sys.stdout.buffer\n"
    "out.write(b'a\\n' + b'b' * 998 + b'\\n' + b'c' * 1000 + b'\\n' + b'\\xff' * 5000 + b'\\n')\n"
    "out.write(b'd' * 300_000)\n"
)


def _range(url: str, first: int, last: int) -> bytes:
    request = urllib.request.Request(url, headers={"Range": f"bytes={first}-{last}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 206
        data: bytes = response.read()
        return data


async def test_pages_stay_within_max_bytes_and_cut_lines_come_back_whole(server: Server) -> None:
    async with Client(server.url) as client:
        execution = await client.execute([PY, "-c", CHILD])
        await execution.wait()
        url = f"{server.http}/executions/{execution.id}/stdout"
        got: list[bytes] = []
        pages: list[dict[str, Any]] = []
        line = 0
        while True:
            page = await client.call(
                "page",
                {
                    "execution_id": execution.id,
                    "line": line,
                    "encoding": "base64",
                    "max_bytes": 999,
                },
            )
            pages.append(page)
            lines = [base64.b64decode(each) for each in page["lines"]]
            assert sum(map(len, lines)) <= 999
            assert page["max_bytes"] == 999
            for cut in page["cuts"]:
                i = cut["line"] - page["first_line"]
                assert len(lines[i]) == cut["kept_bytes"] == 999
                first = cut["rest_offset"]
                rest = await anyio.to_thread.run_sync(
                    _range, url, first, first + cut["omitted_bytes"] - 1
                )
                lines[i] += rest
            got += lines
            line = page["next_line"]
            if page["complete"]:
                break
    assert got == LINES
    # "a\n" fits; the 999-byte line does not fit beside it: it starts the next page, whole.
    assert [p["first_line"] for p in pages] == [0, 1, 2, 3, 4]
    assert [len(p["cuts"]) for p in pages] == [0, 0, 1, 1, 1]
    assert pages[2]["cuts"][0] == {
        "line": 2,
        "offset": 1001,
        "kept_bytes": 999,
        "omitted_bytes": 2,
        "rest_offset": 2000,
    }


async def test_a_text_page_cuts_at_a_whole_code_point_and_the_default_bound_is_1_mib(
    server: Server,
) -> None:
    text = "é" * 700_000  # 1.4 MB of two-byte code points
    async with Client(server.url) as client:
        execution = await client.execute([PY, "-c", f"print({'é'!r} * 700_000)"])
        await execution.wait()
        page = await execution.page(0, 1, encoding="text")
        assert page.max_bytes == 1024 * 1024
        assert page.lines == (text[: 512 * 1024].encode(),)
        (cut,) = page.cuts
        assert (cut.kept_bytes, cut.omitted_bytes) == (1024 * 1024, 1_400_001 - 1024 * 1024)
        odd = await execution.page(0, 1, max_bytes=1001, encoding="text")
        assert odd.lines == (("é" * 500).encode(),)
        assert odd.cuts[0] == ccstream_ws.LineCut(0, 0, 1000, 1_400_001 - 1000, 1000)
        # Bytes exactly: the cut at 1001 bytes splits a code point, as the bytes do.
        raw = await execution.page(0, 1, max_bytes=1001)
        assert raw.lines == (("é" * 501).encode()[:1001],)
        assert raw.cuts[0].kept_bytes == 1001
        assert (await execution.page(0, 1, max_bytes=1 << 40)).max_bytes == 2 * 1024 * 1024


@pytest.mark.parametrize("bad", [0, -1, True, "1", 1.5, [1]])
async def test_a_bad_max_bytes_is_invalid_params(server: Server, bad: object) -> None:
    async with Client(server.url) as client:
        execution = await client.execute(["printf", "abc\n"])
        await execution.wait()
        with pytest.raises(RPCError) as info:
            await client.call("page", {"execution_id": execution.id, "max_bytes": bad})
        assert info.value.code == -32602
        assert "max_bytes" in info.value.message
