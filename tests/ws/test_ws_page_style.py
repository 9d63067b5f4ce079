"""``page``'s ``sgr``: the terminal style a page's first line starts in, from the nearest line
checkpoint, over a real server; the spool's bytes (downloads) keep their escapes."""

from __future__ import annotations

import sys
import urllib.request
from typing import Any

import anyio
import pytest

from ccstream_ws import Client

from .conftest import Server

pytestmark = pytest.mark.anyio
PY = sys.executable
# Red from line 0 on (never reset) for 3,000 lines; bold green from line 3,000; reset at 3,500.
CHILD = (
    "import sys\nw = sys.stdout.write\nw('\\x1b[31mred\\n')\n"
    "for i in range(1, 3000): w(f'line {i}\\n')\n"
    "w('\\x1b]0;title\\x07\\x1b[1;38;5;40mgreen\\n')\n"
    "for i in range(3001, 3500): w(f'line {i}\\n')\n"
    "w('\\x1b[0mplain\\n')\n"
    "for i in range(3501, 4000): w(f'line {i}\\n')\n"
)


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        data: bytes = response.read()
        return data


async def test_a_page_from_the_middle_starts_in_the_style_set_before_it(server: Server) -> None:
    async with Client(server.url) as client:
        execution = await client.execute([PY, "-c", CHILD])
        await execution.wait()

        async def style(line: int) -> tuple[str, int, str]:
            page = await client.call(
                "page", {"execution_id": execution.id, "line": line, "count": 1}
            )
            return page["sgr"], page["sgr_from"], page["lines"][0]

        assert await style(0) == ("", 0, "\x1b[31mred\n")
        assert await style(1) == ("31", 0, "line 1\n")
        assert await style(2999) == ("31", 0, "line 2999\n")
        assert (await style(3200))[:2] == ("1;38;5;40", 0)
        assert (await style(3800))[:2] == ("", 0)
        url = f"{server.http}/executions/{execution.id}/stdout"
        raw = await anyio.to_thread.run_sync(_download, url)
        assert raw.startswith(b"\x1b[31mred\n")  # downloads stay raw bytes


async def test_the_style_is_found_with_bounded_work_far_into_a_stream(server: Server) -> None:
    # 3 MiB of text after the colour: past the scan window, the page says so, until a reset.
    child = (
        "import sys\nw = sys.stdout.write\nw('\\x1b[34mblue\\n')\n"
        "line = 'x' * 99 + '\\n'\n"
        "for i in range(30_000): w(line)\n"
        "w('\\x1b[33myellow\\n')\nfor i in range(10): w(line)\n"
        "w('\\x1b[0;4mreset, then underlined\\n')\nfor i in range(10): w(line)\n"
    )
    async with Client(server.url) as client:
        execution = await client.execute([PY, "-c", child])
        await execution.wait()

        async def page(line: int) -> dict[str, Any]:
            found: dict[str, Any] = await client.call(
                "page", {"execution_id": execution.id, "line": line, "count": 1}
            )
            return found

        near = await page(5000)
        assert (near["sgr"], near["sgr_from"], near["sgr_exact"]) == ("34", 0, True)
        far = await page(30_005)
        assert far["sgr"] == "33"
        assert far["sgr_exact"] is False  # the blue before the window is not known
        assert 0 < far["sgr_from"] < 30_000 * 100
        assert 30_001 * 100 - far["sgr_from"] <= 2 * 1024 * 1024 + 5
        after = await page(30_015)
        assert (after["sgr"], after["sgr_exact"]) == ("4", True)
