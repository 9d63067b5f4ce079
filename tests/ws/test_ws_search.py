"""``search`` over a real server: matches with exact line numbers from any cursor, counts,
limits and the cursor that goes on, both streams, a live execution, cut lines, and a documented
error for every bad request."""

from __future__ import annotations

import sys
from typing import Any

import anyio
import pytest

from ccstream_ws import Client, RPCError

from .conftest import Server

pytestmark = pytest.mark.anyio
PY = sys.executable
CHILD = (
    "import sys\n"
    "for i in range(20000):\n"
    "    print(f'line {i} ' + ('needle' if i % 1000 == 7 else 'hay'))\n"
    "print('x' * 5000 + 'needle')\n"
    "print('NEEDLE on stderr', file=sys.stderr)\n"
)


async def _all(client: Client, params: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """Every match by following the cursor; and how many answers it took."""
    matches: list[dict[str, Any]] = []
    answers = 0
    cursor: dict[str, int] = {}
    while True:
        answer = await client.call("search", {**params, "cursor": cursor})
        answers += 1
        assert answer["count"] == len(answer["matches"])
        matches += answer["matches"]
        cursor = answer["cursor"]
        if not answer["more"]:
            assert answer["complete"]
            return matches, answers


async def test_search_finds_every_match_with_its_line_and_goes_on_from_the_cursor(
    server: Server,
) -> None:
    async with Client(server.url) as client:
        execution = await client.execute([PY, "-c", CHILD])
        await execution.wait()
        eid = execution.id
        matches, answers = await _all(
            client, {"execution_id": eid, "pattern": "needle", "limit": 7, "max_line_bytes": 100}
        )
        assert answers == 4  # 21 matches, 7 an answer: the fourth says there are no more
        assert [(m["stream"], m["line"]) for m in matches] == [
            *(("stdout", i) for i in range(7, 20000, 1000)),
            ("stdout", 20000),
        ]
        first = matches[0]
        assert first["text"] == "line 7 needle"
        assert first["column"] == 7
        assert first["omitted_bytes"] == 0
        last = matches[-1]
        assert last["text"] == "x" * 100
        assert last["omitted_bytes"] == 4906
        assert last["column"] == 5000
        # From a cursor deep in the output, the line numbers are still exact.
        deep = await client.call(
            "search",
            {"execution_id": eid, "pattern": "needle", "cursor": {"stdout": first["offset"] + 1}},
        )
        assert deep["matches"][0]["line"] == 1007
        # Both streams, case folded, regular expressions, and the count alone.
        both = await client.call(
            "search",
            {"execution_id": eid, "pattern": "^needle", "regex": True, "ignore_case": True,
             "stream": None},
        )  # fmt: skip
        assert [(m["stream"], m["line"]) for m in both["matches"]] == [("stderr", 0)]
        counted = await client.call(
            "search", {"execution_id": eid, "pattern": "hay", "count_only": True}
        )
        assert counted["count"] == 20000 - 20
        assert counted["matches"] == []
        assert counted["complete"]


async def test_search_of_a_live_execution_sees_what_is_written_so_far(server: Server) -> None:
    child = (
        "import sys, time\n"
        "print('early needle', flush=True)\n"
        "sys.stdin.readline()\n"
        "print('late needle', flush=True)\n"
    )
    async with Client(server.url) as client:
        execution = await client.execute([PY, "-c", child], stdin=True)
        params: dict[str, Any] = {"execution_id": execution.id, "pattern": "needle"}
        with anyio.fail_after(10):
            while True:
                now = await client.call("search", params)
                if now["matches"]:
                    break
                await anyio.sleep(0.02)
        assert [m["text"] for m in now["matches"]] == ["early needle"]
        assert not now["complete"]
        assert not now["more"]
        await client.call("stdin", {"execution_id": execution.id, "data": "go\n", "eof": True})
        await execution.wait()
        later = await client.call("search", {**params, "cursor": now["cursor"]})
        assert [(m["line"], m["text"]) for m in later["matches"]] == [(1, "late needle")]
        assert later["complete"]


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({"pattern": "("}, -32602, None),
        ({"pattern": "(", "regex": True}, -32602, "not a regular expression"),
        ({"pattern": "a\nb"}, -32602, "cannot hold a newline"),
        ({}, -32602, "pattern is required"),
        ({"pattern": 5}, -32602, "pattern must be"),
        ({"pattern": "a", "limit": 0}, -32602, "limit must be"),
        ({"pattern": "a", "limit": 1001}, -32602, "limit must be"),
        ({"pattern": "a", "stream": "both"}, -32602, "stream must be"),
        ({"pattern": "a", "cursor": {"stdin": 0}}, -32602, "cursor must be"),
        ({"pattern": "a", "cursor": {"stdout": -1}}, -32602, "stdout must be"),
        ({"pattern": "a", "max_line_bytes": 70000}, -32602, "max_line_bytes must be"),
        ({"pattern": "a", "regex": "yes"}, -32602, "regex must be"),
        ({"pattern": "a", "execution_id": "nope"}, -32002, "no execution"),
    ],
)
async def test_a_bad_search_gets_its_documented_error_and_the_connection_goes_on(
    server: Server, params: dict[str, Any], code: int, message: str | None
) -> None:
    async with Client(server.url) as client:
        execution = await client.execute([PY, "-c", "print('(')"])
        await execution.wait()
        request = {"execution_id": execution.id, **params}
        if code == -32602 and message is None:
            answer = await client.call("search", request)  # "(" as a literal is fine
            assert [m["text"] for m in answer["matches"]] == ["("]
            return
        with pytest.raises(RPCError) as caught:
            await client.call("search", request)
        assert caught.value.code == code
        assert message is not None
        assert message in caught.value.message
        again = {"execution_id": execution.id, "pattern": "("}
        assert (await client.call("search", again))["count"] == 1
