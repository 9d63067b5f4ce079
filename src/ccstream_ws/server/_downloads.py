"""HTTP downloads of spooled output: ``GET /executions/{id}/stdout``, ``.../stderr``,
``.../merged`` (both streams, in the order the output arrived).

Behind the same token (or the viewer's session cookie) and Origin rules as the WebSocket
(:func:`ccstream_ws.server._auth.admit`), and the app's Host rule.
An ended execution's stream is a plain file to HTTP: ``Content-Length``, and one ``Range``
(``206``; several ranges get the whole body, as HTTP allows), also as ``?range=bytes=A-B``
(the header's value, for a link such as the viewer's to a cut line's rest; the header wins when
both are there). A running one streams what is
there, then follows the run live until it ends (``?follow=0``: only what is there now, for
stdout and stderr); a ``Range`` on a running stream gets the bytes written so far
(``Content-Range: bytes A-B/*``). The body is gzip when the client accepts it and a sample of
the output shrinks by at least 20% (the seed's rule); ranges are never compressed.

Output the spool's quota dropped cannot be sent. Gaps known when the answer starts are listed in
the ``CCStream-Gaps`` header (JSON: stream, offset, bytes, lines, reason), the body holds the
kept bytes, and ranges are refused (``Accept-Ranges: none``) since body positions are then not
stream offsets. A gap that opens while the answer is being sent ends the connection without the
body's proper end, so the client sees a truncated transfer rather than silently missing bytes.

Memory per download: one block (1 MiB) or one frame, plus gzip's window. Files are read in a
worker thread so a multi-gigabyte download never blocks the event loop.
"""

from __future__ import annotations

import json
import logging
import re
import zlib
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio
import anyio.to_thread

import ccstream
from ccstream import Compressor, Gap, Spool, StreamName

from ..exceptions import RPCError
from ..protocol._codes import CloseCode
from ._asgi import Receive, Scope, Send, header
from ._auth import admit
from ._http import SECURITY_HEADERS, Headers, query, send_json
from ._ranges import ByteRange, Unsatisfiable, accepts_gzip, content_range, parse_range
from ._registry import Registry

__all__ = ["BLOCK", "handles", "serve", "serve_spool"]

log = logging.getLogger("ccstream_ws")

PREFIX = "/executions/"
_ROUTE = re.compile(r"/executions/([A-Za-z0-9_-]{1,128})/(stdout|stderr|merged)")

BLOCK = 1024 * 1024
"""Bytes read from the spool per step when the bytes are already on disk."""
_GZIP_LEVEL = 1  # logs shrink well even at level 1; the server's CPU serves other clients too
_GZIP_MIN_SAVING = 0.20
_GZIP_SAMPLE = 64 * 1024
_GZIP_MIN_SIZE = 512  # Compressor's own default: shorter says too little
_STREAMS: dict[str, tuple[StreamName, ...]] = {
    "stdout": ("stdout",),
    "stderr": ("stderr",),
    "merged": ("stdout", "stderr"),
}


_T = TypeVar("_T")


@asynccontextmanager
async def _closing(items: AsyncIterator[_T]) -> AsyncIterator[AsyncIterator[_T]]:
    """Close an async generator when the ``with`` ends, also early (``aclosing`` for
    iterators typed as plain ``AsyncIterator``), so its ``finally`` runs now, not at GC."""
    try:
        yield items
    finally:
        close = getattr(items, "aclose", None)
        if close is not None:
            await close()


class _Truncated(Exception):
    """Output was dropped after the answer started: the body cannot be completed honestly."""


def handles(route: str) -> bool:
    """Whether ``route`` (the path below the mount point) is a download."""
    return route.startswith(PREFIX)


async def serve(scope: Scope, receive: Receive, send: Send, route: str, registry: Registry) -> None:
    """Answer ``GET``/``HEAD /executions/{id}/{stdout|stderr|merged}``."""
    method = scope.get("method")
    if method not in ("GET", "HEAD"):
        await send_json(send, 405, {"error": "method not allowed"}, [(b"allow", b"GET, HEAD")])
        return
    head = method == "HEAD"
    refusal = admit(scope, registry.config)
    if refusal is not None:
        code, reason = refusal
        client = scope.get("client") or ("unknown", 0)
        log.warning("refused download from %s:%s: %s", client[0], client[1], reason)
        if code == CloseCode.UNAUTHORIZED:
            extra = [(b"www-authenticate", b'Bearer realm="ccstream-ws"')]
            await send_json(send, 401, {"error": reason}, extra, head=head)
        else:
            await send_json(send, 403, {"error": reason}, head=head)
        return
    match = _ROUTE.fullmatch(route)
    if match is None:
        await send_json(
            send, 404, {"error": "expected /executions/{id}/stdout, stderr or merged"}, head=head
        )
        return
    execution_id, what = match.group(1), match.group(2)
    try:
        execution = await registry.find(execution_id)
    except RPCError as exc:
        # Gone for good (410), with why: evicted by the spool budget, or lost with Redis's
        # data (STORE_LOST, reason "epoch"); else 404.
        why = exc.data.get("reason") if isinstance(exc.data, dict) else None
        gone = why in ("spool_budget", "epoch")
        body: dict[str, object] = {"error": exc.message, "code": exc.code}
        if gone:
            body["reason"] = str(why)
        await send_json(send, 410 if gone else 404, body, head=head)
        return
    if not execution.spooled:
        await send_json(
            send, 409, {"error": "this execution keeps no spool", "code": -32008}, head=head
        )
        return
    # A reader keeps the execution (and its spool) from expiring under the download.
    execution.reader_joined()
    try:
        try:
            spool = await execution.aopen_spool()
        except ccstream.CCStreamError as exc:
            await send_json(send, 410, {"error": f"output no longer available: {exc}"}, head=head)
            return
        with spool:
            await serve_spool(scope, receive, send, spool, what, name=f"{execution_id}-{what}")
    finally:
        execution.reader_left()


async def serve_spool(
    scope: Scope,
    receive: Receive,
    send: Send,
    spool: Spool,
    what: str,
    *,
    name: str,
) -> None:
    """Answer a download of ``what`` (``stdout``, ``stderr`` or ``merged``) from ``spool``; the
    request has passed the access checks. ``name`` becomes the file name the client sees."""
    head = scope.get("method") == "HEAD"
    streams = _STREAMS[what]
    try:
        # complete first: sizes read after a complete state are final.
        complete = spool.complete
        sizes = spool.sizes
        gaps = [g for g in spool.gaps if g.stream in streams]
    except ccstream.CCStreamError as exc:
        await send_json(send, 410, {"error": f"output no longer available: {exc}"}, head=head)
        return
    params = query(scope)
    follow = not complete and params.get("follow", "1").lower() not in ("0", "false", "no")
    size = sum(sizes[s] for s in streams) if what == "merged" else sizes[streams[0]]
    kept = size - sum(g.bytes for g in gaps)

    headers: Headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-disposition", f'inline; filename="{name}.log"'.encode("ascii")),
        # Output is untrusted and shares the viewer's origin: never run it as a page.
        (b"content-security-policy", b"sandbox; default-src 'none'"),
        (b"cache-control", b"no-store"),
        (b"vary", b"accept-encoding"),
        (b"ccstream-complete", b"true" if complete else b"false"),
        *SECURITY_HEADERS,
    ]
    rangeable = not gaps and (what != "merged" or complete)
    headers.append((b"accept-ranges", b"bytes" if rangeable else b"none"))
    if gaps:
        headers.append((b"ccstream-gaps", _gaps_header(gaps).encode("ascii")))

    byte_range: ByteRange | None = None
    if rangeable:
        total = size if complete else None
        try:
            # A link cannot send a header: ``?range=`` takes the Range header's value.
            asked = header(scope, b"range") or params.get("range")
            byte_range = parse_range(asked, size)
        except Unsatisfiable:
            headers.append((b"content-range", content_range(None, total).encode()))
            await _start(send, 416, headers)
            await send({"type": "http.response.body", "body": b""})
            return
        if byte_range is not None:
            headers.append((b"content-range", content_range(byte_range, total).encode()))

    if byte_range is not None:
        status, start, end, live = 206, byte_range.start, byte_range.end, False
    else:
        status, start, end, live = 200, 0, size, follow
    if what == "merged":
        body = _merged(spool, gaps, start, end if (byte_range or not live) else None)
    else:
        body = _stream(spool, streams[0], gaps, start, end, live)

    gzip = (
        status == 200
        and not head
        and accepts_gzip(header(scope, b"accept-encoding"))
        and await _worth_gzip(spool, streams, sizes)
    )
    if gzip:
        headers.append((b"content-encoding", b"gzip"))
    elif not live:
        length = end - start if byte_range is not None else kept
        headers.append((b"content-length", str(length).encode()))
    await _start(send, status, headers)
    if head:
        await send({"type": "http.response.body", "body": b""})
        return
    await _send_body(receive, send, _gzipped(body, live) if gzip else body)


# -- bodies -------------------------------------------------------------------------------------


async def _stream(
    spool: Spool,
    stream: StreamName,
    gaps: Sequence[Gap],
    start: int,
    end: int,
    live: bool,
) -> AsyncIterator[bytes]:
    """Bytes ``[start, end)`` of ``stream`` as they are on disk, skipping the known ``gaps``;
    then, when ``live``, the rest of the run as it comes."""
    offset = start
    while offset < end:
        for gap in gaps:
            if gap.offset <= offset < gap.offset + gap.bytes:
                offset = gap.offset + gap.bytes
        if offset >= end:
            break
        want = min(BLOCK, end - offset)
        data = await spool.read(stream, offset, want)
        if not data:
            raise _Truncated(f"{stream} bytes from {offset} were dropped during the download")
        offset += len(data)
        yield data
    if live:
        async with _closing(spool.follow({stream: offset}, streams=(stream,))) as frames:
            async for item in frames:
                if isinstance(item, Gap):
                    if not _known(item, gaps):
                        raise _Truncated(f"{item.bytes} {stream} bytes dropped at {item.offset}")
                    continue
                yield item.data


async def _merged(
    spool: Spool, gaps: Sequence[Gap], start: int, end: int | None
) -> AsyncIterator[bytes]:
    """Both streams' frames in arrival order; body bytes ``[start, end)`` (``end`` None: until
    the run ended). Reaching ``start`` reads the frames before it: merged positions are not
    stream offsets, so there is nothing to seek by."""
    position = 0
    async with _closing(spool.follow(streams=("stdout", "stderr"))) as frames:
        async for item in frames:
            if isinstance(item, Gap):
                if not _known(item, gaps):
                    raise _Truncated(f"{item.bytes} {item.stream} bytes dropped at {item.offset}")
                continue
            data = item.data
            first, position = position, position + len(data)
            if position <= start:
                continue
            if end is not None and first >= end:
                break
            lo = max(start - first, 0)
            hi = len(data) if end is None else min(len(data), end - first)
            yield data[lo:hi] if (lo, hi) != (0, len(data)) else data
            if end is not None and position >= end:
                break


def _known(gap: Gap, gaps: Sequence[Gap]) -> bool:
    return any(
        g.stream == gap.stream
        and g.offset <= gap.offset
        and gap.offset + gap.bytes <= g.offset + g.bytes
        for g in gaps
    )


def _gaps_header(gaps: Sequence[Gap]) -> str:
    return json.dumps(
        [
            {
                "stream": g.stream,
                "offset": g.offset,
                "bytes": g.bytes,
                "lines": g.lines,
                "reason": g.reason,
            }
            for g in gaps
        ],
        separators=(",", ":"),
    )


# -- gzip ---------------------------------------------------------------------------------------


async def _worth_gzip(
    spool: Spool, streams: Sequence[StreamName], sizes: Mapping[StreamName, int]
) -> bool:
    """The core's compression rule (:class:`ccstream.Compressor`, at level 1) on a sample of
    the output already written: gzip when it saves 20%. With nothing written yet (or a sample
    too short to judge) the output is presumed to be text, which nearly always does."""
    stream = max(streams, key=lambda s: sizes[s])
    if sizes[stream] == 0:
        return True
    try:
        sample = await spool.read(stream, 0, min(_GZIP_SAMPLE, sizes[stream]))
    except ccstream.CCStreamError:
        return False
    if len(sample) < _GZIP_MIN_SIZE:
        return True
    rule = Compressor("gzip", min_saving=_GZIP_MIN_SAVING, min_size=0, level=_GZIP_LEVEL)
    return rule.compress(sample).encoding is not None


async def _gzipped(body: AsyncIterator[bytes], live: bool) -> AsyncIterator[bytes]:
    """``body`` as one gzip member. Live output is flushed after each piece so a follower sees
    it at once; bulk output lets zlib fill its blocks."""
    packer = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, 31)
    async with _closing(body) as pieces:
        async for data in pieces:
            if len(data) >= BLOCK // 4:
                out = await anyio.to_thread.run_sync(packer.compress, data)
            else:
                out = packer.compress(data)
            if live:
                out += packer.flush(zlib.Z_SYNC_FLUSH)
            if out:
                yield out
    yield packer.flush()


# -- sending ------------------------------------------------------------------------------------


async def _start(send: Send, status: int, headers: Headers) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})


async def _send_body(receive: Receive, send: Send, body: AsyncIterator[bytes]) -> None:
    """Send ``body``; stop as soon as the client disconnects (a live follow could otherwise wait
    for output nobody will read)."""
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()

        group.start_soon(watch)
        try:
            async with _closing(body) as pieces:
                async for data in pieces:
                    await send({"type": "http.response.body", "body": data, "more_body": True})
        except _Truncated as exc:
            log.warning("download cut short: %s", exc)
            raise
        except ccstream.SpoolNotFound as exc:
            # Evicted by the spool budget under the download: cut short, as for a new gap.
            log.warning("download cut short: %s", exc)
            raise _Truncated(str(exc)) from exc
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        group.cancel_scope.cancel()
