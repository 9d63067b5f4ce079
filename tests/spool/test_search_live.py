"""Searching a run's spool while it runs: ``follow`` hands out each match as its line ends and
stops when the run ends; without ``follow`` the search stops at what is written now, leaving a
line that may still grow for the next search from its cursor."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest

from ccstream import Options, SpoolOptions, stream
from ccstream.spool import Match, Spool

pytestmark = pytest.mark.anyio
CHILD = (
    "import sys\n"
    "print('first needle', flush=True)\n"
    "sys.stdout.write('open needle line'); sys.stdout.flush()\n"
    "sys.stdin.readline()\n"
    "print(' ends')\n"
    "print('hay'); print('last needle')\n"
)


async def test_a_followed_search_sees_each_match_as_it_is_written_until_the_run_ends(
    tmp_path: Path,
) -> None:
    send, receive = anyio.create_memory_object_stream[bytes](1)
    options = Options(spool=SpoolOptions(directory=tmp_path / "spool", keep=True), stdin=receive)
    found: list[Match] = []
    with anyio.fail_after(20):
        async with stream([sys.executable, "-c", CHILD], options) as run:
            spool = Spool.open(tmp_path / "spool")
            search = spool.search("needle", follow=True, poll_interval=0.01)
            async with anyio.create_task_group() as tg:

                async def drain() -> None:
                    async for _ in run:
                        pass

                tg.start_soon(drain)
                matches = search.__aiter__()
                found.append(await matches.__anext__())
                # The line that is still open is not searched yet, even from another search.
                now = spool.search("needle")
                assert [m.line async for m in now] == [0]
                assert not now.done
                assert now.cursor.stdout == len(b"first needle\n")
                await send.send(b"go\n")
                await send.aclose()
                found += [m async for m in matches]
            spool.close()
    assert [(m.line, m.text) for m in found] == [
        (0, b"first needle"),
        (1, b"open needle line ends"),
        (3, b"last needle"),
    ]
    assert search.done
    assert search.count == 3
