"""The client's typed ``page`` and ``status`` answers, parsed from the documented fields; an
answer without them is a :class:`ProtocolViolation`, never a ``KeyError``."""

from __future__ import annotations

from typing import Any

import pytest

import ccstream
from ccstream_ws import ExecutionStatus, LineCut, ProtocolViolation, RemotePage, StreamCount
from ccstream_ws.client._results import execution_status, remote_page

PAGE: dict[str, Any] = {
    "lines": ["YQo=", "/wo="],
    "first_line": 4,
    "next_line": 6,
    "known_lines": 9,
    "complete": False,
    "gaps": [{"offset": 2, "bytes": 8, "lines": 4, "reason": "quota"}],
    "cuts": [
        {"line": 5, "offset": 12, "kept_bytes": 1, "omitted_bytes": 3, "rest_offset": 13},
    ],
    "max_bytes": 1048576,
    "next_offset": 16,
    "stream": "stderr",
    "encoding": "base64",
}


def test_a_page_answer_becomes_a_remote_page_with_the_lines_bytes_exactly() -> None:
    assert remote_page(PAGE) == RemotePage(
        stream="stderr",
        lines=(b"a\n", b"\xff\n"),
        first_line=4,
        next_line=6,
        known_lines=9,
        complete=False,
        next_offset=16,
        max_bytes=1048576,
        gaps=(ccstream.Gap("stderr", 2, 8, 4, "quota"),),
        cuts=(LineCut(5, 12, 1, 3, 13),),
    )
    text = remote_page({**PAGE, "encoding": "text", "lines": ["é\n"], "gaps": [], "cuts": []})
    assert text.lines == ("é\n".encode(),)


@pytest.mark.parametrize(
    "broken",
    [
        [],
        {**PAGE, "lines": "a"},
        {**PAGE, "lines": ["not base64!"]},
        {**PAGE, "next_line": -1},
        {**PAGE, "first_line": True},
        {**PAGE, "stream": "stdin"},
        {**PAGE, "cuts": [{"line": 0}]},
        {**PAGE, "gaps": ["x"]},
    ],
)
def test_a_page_answer_without_the_documented_fields_is_a_protocol_violation(
    broken: object,
) -> None:
    with pytest.raises(ProtocolViolation):
        remote_page(broken)


STATUS: dict[str, Any] = {
    "execution_id": "6c0f" * 8,
    "state": "ended",
    "pid": 12,
    "pgid": 12,
    "argv": ["echo", {"base64": "/w=="}],
    "detached": False,
    "started_at": 1.5,
    "stdout": {"bytes": 3, "lines": 1},
    "stderr": {"bytes": 0, "lines": 0},
    "result": {"status": "completed", "exit_code": 0},
}


def test_a_status_answer_becomes_an_execution_status() -> None:
    status = execution_status(STATUS)
    assert status == ExecutionStatus(
        execution_id="6c0f" * 8,
        state="ended",
        pid=12,
        pgid=12,
        argv=("echo", "\udcff"),
        detached=False,
        started_at=1.5,
        stdout=StreamCount(3, 1),
        stderr=StreamCount(0, 0),
        result={"status": "completed", "exit_code": 0},
        params=STATUS,
    )
    assert status.ended
    starting = execution_status({"execution_id": "x", "state": "starting", "pid": None})
    assert (starting.pid, starting.stdout, starting.result, starting.ended) == (
        None,
        None,
        None,
        False,
    )


@pytest.mark.parametrize(
    "broken",
    [
        None,
        {"state": "ended"},
        {**STATUS, "argv": "echo"},
        {**STATUS, "argv": [1]},
        {**STATUS, "stdout": {"bytes": "3"}},
        {**STATUS, "result": []},
    ],
)
def test_a_status_answer_without_the_documented_fields_is_a_protocol_violation(
    broken: object,
) -> None:
    with pytest.raises(ProtocolViolation):
        execution_status(broken)
