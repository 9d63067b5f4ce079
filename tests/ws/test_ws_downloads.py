"""HTTP downloads of spooled output: ranges byte-exact, gzip, live follow, gaps, access rules.

The Range/Accept-Encoding arithmetic is checked sans-I/O; the answers are checked on real spools
(made by ``ccstream.stream``) through the ASGI handler, and end to end on a real server.
"""

from __future__ import annotations

import gzip
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

import ccstream
from ccstream._options import SpoolOptions
from ccstream.spool._reader import Spool
from ccstream_ws import Client
from ccstream_ws.server._downloads import serve_spool
from ccstream_ws.server._ranges import (
    ByteRange,
    Unsatisfiable,
    accepts_gzip,
    content_range,
    parse_range,
)

from .conftest import Server, ServerPool

PY = sys.executable
TOKEN = "s3cret-token-for-tests-only"
LINES = "import sys\nfor i in range(20000): print(f'line {i}: ' + 'y' * 60)\n"


# -- sans-I/O -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "size", "expected"),
    [
        (None, 100, None),
        ("bytes=0-9", 100, ByteRange(0, 10)),
        ("bytes=90-", 100, ByteRange(90, 100)),
        ("bytes=90-500", 100, ByteRange(90, 100)),
        ("bytes=-10", 100, ByteRange(90, 100)),
        ("bytes=-500", 100, ByteRange(0, 100)),
        ("BYTES = 5-5", 100, ByteRange(5, 6)),
        ("bytes=0-1,5-6", 100, None),  # several ranges: the whole body
        ("items=0-1", 100, None),
        ("bytes=5-1", 100, None),
        ("bytes=+5-9", 100, None),
        ("bytes=a-b", 100, None),
        ("bytes=1_0-20", 100, None),
        ("bytes=", 100, None),
    ],
)
def test_parse_range_reads_one_range_and_ignores_the_rest(
    value: str | None, size: int, expected: ByteRange | None
) -> None:
    assert parse_range(value, size) == expected


@pytest.mark.parametrize(
    ("value", "size"), [("bytes=100-", 100), ("bytes=-0", 100), ("bytes=0-", 0)]
)
def test_parse_range_past_the_end_is_unsatisfiable(value: str, size: int) -> None:
    with pytest.raises(Unsatisfiable):
        parse_range(value, size)


def test_content_range_values() -> None:
    assert content_range(ByteRange(0, 10), 100) == "bytes 0-9/100"
    assert content_range(ByteRange(5, 6), None) == "bytes 5-5/*"
    assert content_range(None, 100) == "bytes */100"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("deflate, gzip;q=0.5", True),
        ("gzip;q=0", False),
        ("br, *", True),
        ("*;q=0", False),
        ("gzip;q=0, *", False),
        ("identity", False),
        ("x-gzip", True),
        ("gzip;q=zz", False),
    ],
)
def test_accepts_gzip(value: str | None, expected: bool) -> None:
    assert accepts_gzip(value) is expected


# -- the handler on real spools ------------------------------------------------------------------


class Answer:
    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""
        self.ended = False


async def _get(
    spool: Spool, what: str, headers: dict[str, str] | None = None, **scope: Any
) -> Answer:
    """One request to the download handler, through the ASGI interface."""
    answer = Answer()
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        else:
            answer.body += message.get("body", b"")
            answer.ended = not message.get("more_body", False)

    full_scope = {
        "type": "http",
        "method": "GET",
        "path": f"/executions/x/{what}",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        **scope,
    }
    with anyio.fail_after(20):
        await serve_spool(full_scope, receive, send, spool, what, name="x")
    return answer


async def _spooled(directory: Path, code: str, **spool: Any) -> ccstream.Result:
    options = ccstream.Options(spool=SpoolOptions(directory=directory, keep=True, **spool))
    async with ccstream.stream([PY, "-c", code], options) as run:
        async for _ in run:
            pass
    return run.result


@pytest.fixture
def finished(tmp_path: Path) -> Iterator[tuple[Spool, bytes, bytes]]:
    code = LINES + "print('to stderr', file=sys.stderr)\n"
    anyio.run(_spooled, tmp_path / "spool", code)
    out = b"".join(f"line {i}: ".encode() + b"y" * 60 + b"\n" for i in range(20000))
    with Spool.open(tmp_path / "spool") as spool:
        yield spool, out, b"to stderr\n"


@pytest.mark.anyio
async def test_whole_stream_is_byte_exact_with_its_length(
    finished: tuple[Spool, bytes, bytes],
) -> None:
    spool, out, err = finished
    answer = await _get(spool, "stdout")
    assert answer.status == 200
    assert answer.ended
    assert answer.body == out
    assert answer.headers["content-length"] == str(len(out))
    assert answer.headers["accept-ranges"] == "bytes"
    assert answer.headers["ccstream-complete"] == "true"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in answer.headers["content-security-policy"]
    assert (await _get(spool, "stderr")).body == err


@pytest.mark.anyio
@pytest.mark.parametrize("spec", ["0-0", "0-99", "1000-123455", "-1", "-70000", "1234567-", "0-"])
async def test_ranges_are_byte_exact(finished: tuple[Spool, bytes, bytes], spec: str) -> None:
    spool, out, _ = finished
    answer = await _get(spool, "stdout", {"Range": f"bytes={spec}"})
    first_text, _, last_text = spec.partition("-")
    if not first_text:
        first, last = len(out) - int(last_text), len(out) - 1
    else:
        first, last = int(first_text), int(last_text) if last_text else len(out) - 1
    assert answer.status == 206
    assert answer.body == out[first : last + 1]
    assert answer.headers["content-range"] == f"bytes {first}-{last}/{len(out)}"
    assert answer.headers["content-length"] == str(last - first + 1)
    assert "content-encoding" not in answer.headers


@pytest.mark.anyio
async def test_a_range_in_the_query_is_the_range_header_for_links(
    finished: tuple[Spool, bytes, bytes],
) -> None:
    spool, out, _ = finished
    answer = await _get(spool, "stdout", query_string=b"range=bytes=1000-1999")
    assert answer.status == 206
    assert answer.body == out[1000:2000]
    assert answer.headers["content-range"] == f"bytes 1000-1999/{len(out)}"
    # The header wins over the query.
    both = await _get(spool, "stdout", {"Range": "bytes=0-9"}, query_string=b"range=bytes=5-")
    assert both.body == out[:10]


@pytest.mark.anyio
async def test_range_past_the_end_is_416(finished: tuple[Spool, bytes, bytes]) -> None:
    spool, out, _ = finished
    answer = await _get(spool, "stdout", {"Range": f"bytes={len(out)}-"})
    assert answer.status == 416
    assert answer.headers["content-range"] == f"bytes */{len(out)}"


@pytest.mark.anyio
async def test_gzip_when_accepted_and_worth_it(finished: tuple[Spool, bytes, bytes]) -> None:
    spool, out, _ = finished
    answer = await _get(spool, "stdout", {"Accept-Encoding": "gzip, deflate"})
    assert answer.headers["content-encoding"] == "gzip"
    assert "content-length" not in answer.headers
    assert len(answer.body) < len(out) // 5
    assert gzip.decompress(answer.body) == out
    # A range is never compressed: its positions are the stream's.
    ranged = await _get(spool, "stdout", {"Accept-Encoding": "gzip", "Range": "bytes=10-19"})
    assert ranged.status == 206
    assert ranged.body == out[10:20]


@pytest.mark.anyio
async def test_no_gzip_for_output_that_does_not_shrink(tmp_path: Path) -> None:
    await _spooled(tmp_path / "s", "import os, sys; sys.stdout.buffer.write(os.urandom(300000))")
    with Spool.open(tmp_path / "s") as spool:
        answer = await _get(spool, "stdout", {"Accept-Encoding": "gzip"})
        assert "content-encoding" not in answer.headers
        assert len(answer.body) == 300000


@pytest.mark.anyio
async def test_head_has_the_headers_and_no_body(finished: tuple[Spool, bytes, bytes]) -> None:
    spool, out, _ = finished
    answer = await _get(spool, "stdout", method="HEAD")
    assert answer.status == 200
    assert answer.headers["content-length"] == str(len(out))
    assert answer.body == b""


@pytest.mark.anyio
async def test_merged_holds_both_streams_in_arrival_order(tmp_path: Path) -> None:
    code = (
        "import sys, time\n"
        "for i in range(20):\n"
        "    print(f'out {i}', flush=True)\n"
        "    print(f'err {i}', file=sys.stderr, flush=True)\n"
        "    time.sleep(0.01)\n"
    )
    await _spooled(tmp_path / "s", code)
    with Spool.open(tmp_path / "s") as spool:
        answer = await _get(spool, "merged")
        body = answer.body
        out = b"".join(f"out {i}\n".encode() for i in range(20))
        err = b"".join(f"err {i}\n".encode() for i in range(20))
        assert answer.headers["content-length"] == str(len(out) + len(err))
        lines = body.splitlines(keepends=True)
        assert b"".join(x for x in lines if x.startswith(b"out")) == out
        assert b"".join(x for x in lines if x.startswith(b"err")) == err
        # Written 10 ms apart, lines far enough apart keep their order across streams.
        assert lines.index(b"err 2\n") < lines.index(b"out 8\n")
        assert lines.index(b"out 2\n") < lines.index(b"err 8\n")
        ranged = await _get(spool, "merged", {"Range": "bytes=50-149"})
        assert ranged.status == 206
        assert ranged.body == body[50:150]
        tail = await _get(spool, "merged", {"Range": "bytes=-7"})
        assert tail.body == body[-7:]


@pytest.mark.anyio
async def test_running_stream_is_followed_to_its_end(tmp_path: Path) -> None:
    code = (
        "import time\n"
        "for i in range(40):\n"
        "    print(f'tick {i}', flush=True)\n"
        "    time.sleep(0.01)\n"
    )
    options = ccstream.Options(spool=SpoolOptions(directory=tmp_path / "s"))
    expected = b"".join(f"tick {i}\n".encode() for i in range(40))
    async with ccstream.stream([PY, "-c", code], options) as run:
        answers: dict[str, Answer] = {}

        async def fetch(key: str, headers: dict[str, str], query: bytes = b"") -> None:
            answers[key] = await _get(run.spool, "stdout", headers, query_string=query)

        async with anyio.create_task_group() as group:
            group.start_soon(fetch, "plain", {})
            group.start_soon(fetch, "gzip", {"Accept-Encoding": "gzip"})
            async for _ in run:
                pass
        now = await _get(run.spool, "stdout", query_string=b"follow=0")
    assert answers["plain"].status == 200
    assert answers["plain"].ended
    assert answers["plain"].body == expected
    assert answers["plain"].headers["ccstream-complete"] == "false"
    assert "content-length" not in answers["plain"].headers
    assert gzip.decompress(answers["gzip"].body) == expected
    assert now.body == expected


@pytest.mark.anyio
async def test_range_on_a_running_stream_has_no_total_yet(tmp_path: Path) -> None:
    code = "import time; print('x' * 999, flush=True); time.sleep(30)"
    options = ccstream.Options(spool=SpoolOptions(directory=tmp_path / "s"), timeout=20)
    async with ccstream.stream([PY, "-c", code], options) as run:
        async for event in run:
            if isinstance(event, ccstream.Output):
                break
        with anyio.fail_after(5):
            while run.spool.sizes["stdout"] < 1000:  # noqa: ASYNC110 - the spool has no event
                await anyio.sleep(0.01)
        answer = await _get(run.spool, "stdout", {"Range": "bytes=990-"})
        run.cancel()
    assert answer.status == 206
    assert answer.headers["content-range"] == "bytes 990-999/*"
    assert answer.body == b"x" * 9 + b"\n"


@pytest.mark.anyio
async def test_quota_gaps_are_declared_and_ranges_refused(tmp_path: Path) -> None:
    segment = 16 * 1024
    await _spooled(tmp_path / "s", LINES, quota=4 * segment, segment_size=segment)
    out = b"".join(f"line {i}: ".encode() + b"y" * 60 + b"\n" for i in range(20000))
    with Spool.open(tmp_path / "s") as spool:
        gaps = [g for g in spool.gaps if g.stream == "stdout"]
        assert gaps, "the quota should have dropped a middle stretch"
        answer = await _get(spool, "stdout", {"Range": "bytes=0-9"})
    assert answer.status == 200  # no range: body positions are not stream offsets any more
    assert answer.headers["accept-ranges"] == "none"
    declared = json.loads(answer.headers["ccstream-gaps"])
    assert [(g["offset"], g["bytes"], g["reason"]) for g in declared] == [
        (g.offset, g.bytes, g.reason) for g in gaps
    ]
    kept = out
    for gap in reversed(gaps):
        kept = kept[: gap.offset] + kept[gap.offset + gap.bytes :]
    assert answer.body == kept
    assert answer.headers["content-length"] == str(len(kept))


# -- end to end on a real server ------------------------------------------------------------------


def _http(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_downloads_need_the_token_and_an_allowed_origin(servers: ServerPool) -> None:
    server = servers.get("uvicorn", {"token": TOKEN})
    url = f"{server.http}/executions/{'0' * 32}/stdout"
    status, headers, _ = _http(url)
    assert status == 401
    assert headers["www-authenticate"].startswith("Bearer")
    assert _http(url, {"Authorization": "Bearer wrong-token-wrong-token"})[0] == 401
    # With the token the request gets as far as the lookup: no such execution.
    assert _http(url, {"Authorization": f"Bearer {TOKEN}"})[0] == 404
    assert _http(f"{url}?token={TOKEN}")[0] == 404
    evil = {"Authorization": f"Bearer {TOKEN}", "Origin": "http://evil.example"}
    assert _http(url, evil)[0] == 403


def test_unknown_paths_and_methods(server: Server) -> None:
    assert _http(f"{server.http}/executions/{'0' * 32}/stdin")[0] == 404
    assert _http(f"{server.http}/executions/{'0' * 32}/stdout")[0] == 404
    request = urllib.request.Request(f"{server.http}/executions/x/stdout", method="POST", data=b"")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 405


@pytest.mark.anyio
async def test_download_after_a_remote_run_is_byte_exact(server: Server) -> None:
    async with Client(server.url) as client:
        execution = await client.execute([PY, "-c", LINES], detach=True)
        out, _, completion = await execution.collect()
        assert completion.status == "completed"
        base = f"{server.http}/executions/{execution.id}"
        status, headers, body = await anyio.to_thread.run_sync(_http, f"{base}/stdout")
        assert status == 200, body[:200]
        assert body == out
        status, headers, body = await anyio.to_thread.run_sync(
            _http, f"{base}/stdout", {"Range": "bytes=5000-5999"}
        )
        assert status == 206
        assert body == out[5000:6000]
        assert headers["content-range"] == f"bytes 5000-5999/{len(out)}"
        status, headers, body = await anyio.to_thread.run_sync(
            _http, f"{base}/merged", {"Accept-Encoding": "gzip"}
        )
        assert status == 200
        assert gzip.decompress(body) == out
