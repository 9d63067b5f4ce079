"""A Python client for the adapter, on anyio (asyncio and trio)::

    async with ccstream_ws.Client("ws://127.0.0.1:8765/ws") as client:
        execution = await client.execute(["make", "-j8"])
        async for event in execution:
            if isinstance(event, ccstream_ws.RemoteOutput):
                sys.stdout.buffer.write(event.data)
        print(execution.completion.exit_code)

The WebSocket is websockets' sans-I/O protocol over an anyio socket (:mod:`._connection`).
One task reads the connection and hands each execution's events to a bounded queue; a consumer
that stops reading makes that task wait, which stops reading the socket, which slows the server's
sends to this client (the server reads behind from its spool; the command is not slowed). So
consume the events of every execution you start or subscribe to.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, overload

import anyio
import anyio.abc
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

import ccstream
from ccstream import StreamName
from ccstream._events import gap_totals

from ..exceptions import ConnectionLost, ProtocolViolation, RPCError
from ..protocol import _jsonrpc as rpc
from ..protocol._codes import ErrorCode
from ..protocol._frames import unpack_binary
from ..protocol._params import STREAMS, finite, is_int
from ..protocol._text import os_string_to_wire
from ._connection import WebSocket
from ._queue import Closed, Queue, Reply
from ._results import ExecutionStatus, RemotePage, execution_status, remote_page

__all__ = [
    "Client",
    "Completion",
    "Loss",
    "Notice",
    "RemoteEvent",
    "RemoteExecution",
    "RemoteOutput",
]

log = logging.getLogger("ccstream_ws.client")

_DEFAULT_MAX_SIZE = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RemoteOutput:
    """Output bytes of ``stream``; ``offset`` is the byte offset of ``data[0]`` in the stream
    (``None`` when the server did not say, as the original executor did not)."""

    stream: StreamName
    offset: int | None
    data: bytes


@dataclass(frozen=True, slots=True)
class Notice:
    """Any other notification about an execution (``process.truncated``, ``process.gap``,
    ``process.paused``...): ``method`` and its ``params``."""

    method: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Loss:
    """Output of ``stream`` this client did not receive, for one ``reason``: ``bytes`` in all and
    ``lines`` (the newlines they held; ``None`` when not known) over ``gaps`` ``process.gap``
    notices. ``reason`` is a gap's (``quota``, ``disk_error``) or ``not_sent``: the server
    counted more bytes than it sent and announced (``detail`` holds its ``output_error``)."""

    stream: StreamName
    reason: str
    bytes: int
    lines: int | None
    gaps: int
    detail: str = ""


def gap_losses(gaps: Iterable[ccstream.Gap]) -> list[Loss]:
    """``gaps`` added up per stream and reason, one :class:`Loss` each, in the order each
    stream and reason first came."""
    return [
        Loss(stream, reason, size, lines, count)
        for (stream, reason), (size, lines, count) in gap_totals(gaps).items()
    ]


@dataclass(frozen=True, slots=True)
class Completion:
    """``process.completed``: ``status`` (``completed``, ``failed``, ``canceled``, ``timeout``),
    ``exit_code`` (negative for a signal, as the original executor reported), ``reason``,
    ``execution_time`` in seconds, and every field the server sent in ``params``.

    What this client did not receive is never hidden: ``gaps`` are the ``process.gap`` notices
    of the execution this iteration received, ``output_error`` the server's reason for not
    sending the rest of the output, and ``losses`` adds them up per stream and reason, together
    with any bytes the server's counts (``stdout.bytes``, ``stderr.bytes``) say exist but that
    neither arrived nor were announced. Empty ``losses``: every byte of every stream this client
    asked for arrived (head and tail caps are accounted for in ``params["output"]`` instead).
    """

    status: str
    exit_code: int | None
    reason: str | None
    execution_time: float | None
    params: dict[str, Any] = field(default_factory=dict)
    gaps: tuple[ccstream.Gap, ...] = ()
    output_error: str | None = None
    losses: tuple[Loss, ...] = ()

    @property
    def lost_bytes(self) -> int:
        """Bytes of output this client did not receive, all streams and reasons together."""
        return sum(loss.bytes for loss in self.losses)

    @property
    def shell_status(self) -> int:
        """The status a shell would report: the exit code, or 128 + N for signal N; 1 when the
        server gave no exit code."""
        if self.exit_code is None:
            return 1
        return self.exit_code if self.exit_code >= 0 else 128 - self.exit_code


RemoteEvent = RemoteOutput | Notice | Completion
"""What iterating a :class:`RemoteExecution` yields."""


class RemoteExecution:
    """An execution on the server, as one client sees it. Iterate it for its events; the
    iteration ends after the :class:`Completion` (or raises :class:`ConnectionLost`).

    ``offsets`` are, per stream, the offset just past the output this iteration has yielded
    (and past any ``process.gap`` it yielded): give them to :meth:`Client.subscribe` after a
    reconnect to receive exactly the rest. Output that arrived but was not yet taken from the
    iteration does not count until it is, so nothing is skipped when a connection breaks.
    """

    def __init__(self, client: Client, queue_size: int) -> None:
        self.client = client
        self.id = ""
        self.pid: int | None = None
        self.offsets: dict[StreamName, int] = {"stdout": 0, "stderr": 0}
        self.completion: Completion | None = None
        # Each event with the offset just past it in its stream (-1: it moves no offset).
        self._queue: Queue[tuple[RemoteEvent, int]] = Queue(queue_size)
        self._closed = False
        self._error: BaseException | None = None
        self._decompress = ccstream.Decompressor("gzip")
        # What arrived, for the completion's losses: per stream the offset reached (None once a
        # frame came without an offset), the newlines received, the gaps announced.
        self._streams: tuple[StreamName, ...] = STREAMS
        self._first: dict[StreamName, int] = {"stdout": 0, "stderr": 0}
        self._reached: dict[StreamName, int | None] = {"stdout": 0, "stderr": 0}
        self._newlines: dict[StreamName, int] = {"stdout": 0, "stderr": 0}
        self._gaps: list[ccstream.Gap] = []

    def __aiter__(self) -> AsyncIterator[RemoteEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[RemoteEvent]:
        while True:
            try:
                event, end = await self._queue.get()
            except Closed:
                if self._error is not None:
                    raise self._error from None
                return
            if end >= 0:
                stream = event.stream if isinstance(event, RemoteOutput) else event.params["type"]
                self.offsets[stream] = end
            yield event
            if isinstance(event, Completion):
                return

    async def wait(self) -> Completion:
        """Discard the remaining events; return the completion."""
        async for _ in self:
            pass
        if self.completion is None:
            raise ConnectionLost(None, "the execution's events ended without a completion")
        return self.completion

    async def collect(self) -> tuple[bytes, bytes, Completion]:
        """All remaining output in memory (for small outputs and tests) and the completion."""
        chunks: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
        async for event in self:
            if isinstance(event, RemoteOutput):
                chunks[event.stream].append(event.data)
        assert self.completion is not None
        return b"".join(chunks["stdout"]), b"".join(chunks["stderr"]), self.completion

    async def cancel(self) -> None:
        """Kill the remote process group."""
        await self.client.call("cancel", {"execution_id": self.id})

    async def pause(self) -> None:
        """SIGSTOP the remote process group."""
        await self.client.call("control", {"type": "PAUSE", "execution_id": self.id})

    async def resume(self) -> None:
        """SIGCONT the remote process group."""
        await self.client.call("control", {"type": "RESUME", "execution_id": self.id})

    async def resize(self, rows: int, cols: int) -> None:
        """Set the window size of the remote terminal (an execution started with ``pty``)."""
        await self.client.call("resize", {"execution_id": self.id, "rows": rows, "cols": cols})

    async def write(self, data: bytes, *, eof: bool = False) -> None:
        """Send ``data`` to the child's stdin (the execution must have been started with
        ``stdin=True``); ``eof`` closes it after. Retries while the server says it is busy."""
        params = {
            "execution_id": self.id,
            "data": base64.b64encode(data).decode("ascii"),
            "encoding": "base64",
            "eof": eof,
        }
        delay = 0.005
        while True:
            try:
                await self.client.call("stdin", params)
                return
            except RPCError as exc:
                if exc.code != ErrorCode.BUSY:
                    raise
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.2)

    async def page(
        self,
        line: int = 0,
        count: int = 1000,
        stream: StreamName = "stdout",
        *,
        max_bytes: int | None = None,
        encoding: Literal["base64", "text"] = "base64",
    ) -> RemotePage:
        """``count`` lines of ``stream`` from line ``line`` (0-based), at most ``max_bytes``
        bytes of them (``None``: the server's default); see :meth:`Client.page`."""
        return await self.client.page(
            self.id, line=line, count=count, stream=stream, max_bytes=max_bytes, encoding=encoding
        )

    # -- fed by the client's reader task --------------------------------------------------------

    async def _put(self, item: RemoteEvent, end: int = -1) -> None:
        if end < 0 and isinstance(item, RemoteOutput) and item.offset is not None:
            end = item.offset + len(item.data)
        elif isinstance(item, Completion):
            self.completion = item
        elif isinstance(item, Notice) and item.method == "process.gap":
            gap = _gap(item.params)
            if gap is not None:
                end = gap.offset + gap.bytes
                self._gaps.append(gap)
                self._reach(gap.stream, end)
        if isinstance(item, RemoteOutput):
            self._newlines[item.stream] += item.data.count(b"\n")
            self._reach(item.stream, end)
        await self._queue.put((item, end))

    def _expect(
        self,
        output_options: Mapping[str, Any] | None,
        offsets: Mapping[StreamName, int] | Mapping[str, int] | None,
    ) -> None:
        """The streams this iteration receives, and the offsets it starts from."""
        streams = (output_options or {}).get("streams")
        if isinstance(streams, (list, tuple)):
            self._streams = tuple(s for s in STREAMS if s in streams)
        for name in STREAMS:
            if offsets and name in offsets:
                self._first[name] = self._reached[name] = int(offsets[name])

    def _reach(self, stream: StreamName, end: int) -> None:
        reached = self._reached[stream]
        if reached is not None:
            self._reached[stream] = max(reached, end) if end >= 0 else None

    def _completion(self, params: dict[str, Any]) -> Completion:
        """``process.completed``, with what this iteration did not receive."""
        exit_code = params.get("exit_code")
        execution_time = params.get("execution_time")
        output_error = params.get("output_error")
        output_error = output_error if isinstance(output_error, str) else None
        return Completion(
            status=str(params.get("status")),
            exit_code=exit_code if is_int(exit_code) else None,
            reason=params.get("reason"),
            execution_time=finite(execution_time),
            params=params,
            gaps=tuple(self._gaps),
            output_error=output_error,
            losses=self._losses(params, output_error),
        )

    def _losses(self, params: Mapping[str, Any], output_error: str | None) -> tuple[Loss, ...]:
        losses = gap_losses(self._gaps)
        capped = params.get("output")
        for stream in self._streams:
            # Head and tail caps withhold bytes on purpose, and count them in "output".
            stats, reached = params.get(stream), self._reached[stream]
            if reached is None or not isinstance(stats, dict) or isinstance(capped, dict):
                continue
            total, lines = stats.get("bytes"), stats.get("lines")
            if not is_int(total) or total <= reached:
                continue
            missing_lines: int | None = None
            if is_int(lines) and self._first[stream] == 0:
                announced = sum(g.lines for g in self._gaps if g.stream == stream)
                missing_lines = max(lines - self._newlines[stream] - announced, 0)
            losses.append(
                Loss(stream, "not_sent", total - reached, missing_lines, 0, output_error or "")
            )
        losses.sort(key=lambda loss: loss.stream != "stdout")
        return tuple(losses)

    def _decode(self, params: Mapping[str, Any]) -> tuple[RemoteOutput, int]:
        """The output and the offset just past it (-1 when the server did not say)."""
        stream = params.get("type")
        if stream not in STREAMS:
            raise ProtocolViolation(f"process.output with type {stream!r}")
        data = params.get("data", "")
        if not isinstance(data, str):
            raise ProtocolViolation("process.output data is not a string")
        encoding = params.get("encoding", "text")
        compressed = params.get("compression") == "gzip"
        raw = base64.b64decode(data) if encoding == "base64" or compressed else data.encode()
        if compressed:
            raw = self._decompress.decompress(raw, "gzip")
        offset = params.get("offset")
        if offset is not None and encoding == "text" and "size" in params:
            # Text frames are decoded on the server; "size" is the frame's length in bytes.
            return RemoteOutput(stream, None, raw), int(offset) + int(params["size"])
        return RemoteOutput(stream, offset if is_int(offset) else None, raw), -1

    def _close(self, error: BaseException | None) -> None:
        if self._closed:
            return
        self._closed = True
        self._error = error
        # An iteration takes what is queued, then ends (or raises the error).
        self._queue.close()


class Client:
    """A connection to a ccstream-ws server; use it as ``async with Client(url) as client``.

    ``token`` is sent as ``Authorization: Bearer``; ``origin`` sets the Origin header.
    ``compression="deflate"`` offers permessage-deflate (good on slow links; on loopback or for
    binary bulk it costs more CPU than it saves, so ``None`` there). ``max_size`` bounds an
    inbound message, bytes. ``queue_size`` bounds each execution's queue of events.
    ``open_timeout`` bounds the connection and the opening handshake, seconds.
    ``ping_interval``: seconds between the client's pings, which keep a quiet connection alive
    through proxies with an idle timeout (``None``: no pings).

    It runs on asyncio and on trio (anyio). Its reader task lives in a task group that the
    ``async with`` opens and closes, so enter and leave it in one task; requests, iterations
    and :meth:`aclose` may come from any task within.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        origin: str | None = None,
        compression: Literal["deflate"] | None = "deflate",
        max_size: int = _DEFAULT_MAX_SIZE,
        queue_size: int = 64,
        open_timeout: float = 10.0,
        ping_interval: float | None = 20.0,
    ) -> None:
        self.url = url
        self._token = token
        self._origin = origin
        self._compression = compression
        self._max_size = max_size
        self._queue_size = queue_size
        self._open_timeout = open_timeout
        self._ping_interval = ping_interval
        self._ws: WebSocket | None = None
        self._group: anyio.abc.TaskGroup | None = None
        self._reader: anyio.CancelScope | None = None
        self._reader_done: anyio.Event
        self._next_id = 0
        self._pending: dict[int, tuple[Reply[Any], RemoteExecution | None]] = {}
        self._executions: dict[str, RemoteExecution] = {}
        self._greeting: Reply[dict[str, Any]] | None = None
        self._closed: ConnectionLost | None = None
        self.session_id = ""
        self.capabilities: list[str] = []
        self.server_version = ""

    async def __aenter__(self) -> Client:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        try:
            self._ws = await WebSocket.open(
                self.url,
                headers=headers,
                origin=self._origin,
                compression=self._compression,
                max_size=self._max_size,
                open_timeout=self._open_timeout,
            )
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError, ProtocolViolation) as exc:
            raise ConnectionLost(None, f"cannot connect to {self.url}: {exc}") from exc
        self._greeting = Reply()
        self._reader = anyio.CancelScope()
        self._reader_done = anyio.Event()
        group = self._group = anyio.create_task_group()
        await group.__aenter__()
        group.start_soon(self._reading)
        if self._ping_interval is not None:
            group.start_soon(self._keepalive, self._ping_interval)
        try:
            hello = await self._greeting.wait()
        except BaseException:
            await self.aclose()
            await self._leave()
            raise
        self.session_id = str(hello.get("session_id", ""))
        self.capabilities = list(hello.get("capabilities", []))
        self.server_version = str(hello.get("version", ""))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.aclose()
        finally:
            await self._leave()

    async def _leave(self) -> None:
        # The reader's task group ends where the ``async with`` does, so that groups nest.
        group, self._group = self._group, None
        if group is not None:
            group.cancel_scope.cancel()
            await group.__aexit__(None, None, None)

    async def aclose(self) -> None:
        """Close the connection (attached remote executions are cancelled by the server): the
        closing handshake, at most 10 s."""
        await self._stop_reader()
        if self._ws is not None:
            await self._ws.close()

    async def drop(self) -> None:
        """Break the connection without a close handshake, as a network failure would (for
        testing resume)."""
        await self._stop_reader()
        if self._ws is not None:
            await self._ws.abort()

    async def _stop_reader(self) -> None:
        # Cancelled, not awaited alone: it may wait on a full queue nobody reads any more. What
        # it had not queued is lost with the connection; offsets count only what was yielded.
        if self._reader is not None:
            self._reader.cancel()
            await self._reader_done.wait()

    # -- requests -------------------------------------------------------------------------------

    async def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """Send a request; return its result or raise :class:`RPCError`."""
        return await self._request(method, params or {}, None)

    async def _request(
        self, method: str, params: Mapping[str, Any], execution: RemoteExecution | None
    ) -> Any:
        if self._closed is not None:
            raise self._closed
        assert self._ws is not None
        self._next_id += 1
        request_id = self._next_id
        reply: Reply[Any] = Reply()
        self._pending[request_id] = (reply, execution)
        try:
            await self._ws.send(rpc.request(request_id, method, params))
        except ConnectionClosed as exc:
            self._pending.pop(request_id, None)
            raise self._closed or _lost(exc) from exc
        return await reply.wait()

    async def execute(
        self,
        command: str | Sequence[str],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - the remote run's limit, sent
        idle_timeout: float | None = None,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        stdin: bool = False,
        detach: bool = False,
        retention: float | None = None,
        output_options: Mapping[str, Any] | None = None,
        on_quota: Literal["pause", "drop", "auto"] | None = None,
        pty: Mapping[str, Any] | bool | None = None,
        force_color: bool = False,
        reconnect: float | None = None,
    ) -> RemoteExecution:
        """Start ``command`` (a shell string, or an argv list) on the server. ``on_quota``: what
        the server does when the spool quota would drop output a reader has not read (not sent
        when ``None``: the server's default, ``auto``); see the protocol. ``pty``: run it on a
        terminal (``True``, or ``{"rows": ..., "cols": ..., "stderr": ...}``; see
        :meth:`RemoteExecution.resize`); ``force_color``: set the colour variables. ``reconnect``:
        seconds the run outlives this connection for a :meth:`subscribe` with ``owner=True``
        (``None``: it is cancelled when the connection closes, unless ``detach``).

        Arguments, ``cwd`` and ``env`` values are OS strings as ``sys.argv`` and ``os.environ``
        hold them: bytes that are not UTF-8 (surrogate escapes) reach the child exactly."""
        params: dict[str, Any] = {"timeout": timeout}
        if isinstance(command, str):
            params["command"] = command
        else:
            params["argv"] = [os_string_to_wire(arg) for arg in command]
        limits = (
            ("idle_timeout", idle_timeout),
            ("retention", retention),
            ("reconnect", reconnect),
        )
        for name, value in limits:
            if value is not None:
                params[name] = value
        if cwd is not None:
            params["cwd"] = os_string_to_wire(cwd)
        if env is not None:
            params["env"] = {name: os_string_to_wire(value) for name, value in env.items()}
        if stdin:
            params["stdin"] = True
        if detach:
            params["detach"] = True
        if output_options is not None:
            params["output_options"] = dict(output_options)
        if on_quota is not None:
            params["on_quota"] = on_quota
        if pty is not None and pty is not False:
            params["pty"] = pty if isinstance(pty, bool) else dict(pty)
        if force_color:
            params["force_color"] = True
        execution = RemoteExecution(self, self._queue_size)
        execution._expect(output_options, None)
        result = await self._request("execute", params, execution)
        execution.pid = result.get("pid")
        return execution

    async def subscribe(
        self,
        execution_id: str,
        offsets: Mapping[StreamName, int] | Mapping[str, int] | None = None,
        *,
        output_options: Mapping[str, Any] | None = None,
        owner: bool = False,
    ) -> RemoteExecution:
        """Attach to ``execution_id``: its output from ``offsets`` (bytes per stream) on, replayed
        then live, then its completion. ``owner``: take over an execution started with
        ``reconnect`` (this connection's closing then cancels it, after the window)."""
        params: dict[str, Any] = {"execution_id": execution_id, "offsets": dict(offsets or {})}
        if owner:
            params["owner"] = True
        if output_options is not None:
            params["output_options"] = dict(output_options)
        execution = RemoteExecution(self, self._queue_size)
        for name in STREAMS:
            if offsets and name in offsets:
                execution.offsets[name] = int(offsets[name])
        execution._expect(output_options, offsets)
        await self._request("subscribe", params, execution)
        return execution

    async def page(
        self,
        execution_id: str,
        *,
        line: int = 0,
        count: int = 1000,
        stream: StreamName = "stdout",
        max_bytes: int | None = None,
        encoding: Literal["base64", "text"] = "base64",
    ) -> RemotePage:
        """One page: at most ``count`` lines of ``stream`` from line ``line`` (0-based), and at
        most ``max_bytes`` bytes of them (``None``: the server's default, 1 MiB). A line longer
        than the bound is cut and reported in ``cuts``, a stretch the quota dropped in ``gaps``.
        ``encoding``: ``"base64"`` gives the lines' bytes exactly; ``"text"`` has the server
        decode them as UTF-8 (invalid bytes become U+FFFD, a cut ends at a whole code point),
        and the lines are that text's UTF-8. See ``page`` in the protocol."""
        params: dict[str, Any] = {
            "execution_id": execution_id,
            "line": line,
            "count": count,
            "stream": stream,
            "encoding": encoding,
        }
        if max_bytes is not None:
            params["max_bytes"] = max_bytes
        return remote_page(await self.call("page", params))

    @overload
    async def status(self, execution_id: str) -> ExecutionStatus: ...
    @overload
    async def status(self, execution_id: None = None) -> tuple[ExecutionStatus, ...]: ...
    async def status(
        self, execution_id: str | None = None
    ) -> ExecutionStatus | tuple[ExecutionStatus, ...]:
        """The server's view of one execution, or (without ``execution_id``) of each of this
        connection's."""
        if execution_id is not None:
            return execution_status(await self.call("status", {"execution_id": execution_id}))
        result = await self.call("status", {})
        executions = result.get("executions") if isinstance(result, dict) else None
        if not isinstance(executions, list):
            raise ProtocolViolation("the status has no list of executions")
        return tuple(execution_status(one) for one in executions)

    # -- the reader task --------------------------------------------------------------------------

    async def _keepalive(self, interval: float) -> None:
        # Ends with the task group. No pong deadline: the reader may rightly be waiting for the
        # program to take events, and then it reads no pong either.
        assert self._ws is not None
        while self._closed is None:
            await anyio.sleep(interval)
            await self._ws.ping()

    async def _reading(self) -> None:
        assert self._reader is not None
        try:
            with self._reader:
                await self._read()
        finally:
            self._reader_done.set()

    async def _read(self) -> None:
        assert self._ws is not None
        error = ConnectionLost(None, "the connection was closed or dropped by this client")
        try:
            while True:
                message = await self._ws.recv()
                if isinstance(message, bytes):
                    await self._binary(message)
                else:
                    await self._text(message)
        except ConnectionClosed as exc:
            error = _lost(exc)
        except (ProtocolViolation, ccstream.DecompressionError, ValueError) as exc:
            log.error("closing: the server broke the protocol: %s", exc)
            error = ConnectionLost(None, f"protocol violation: {exc}")
            await self._ws.close(1002, "protocol violation")
        finally:
            self._shut(error)

    def _shut(self, error: ConnectionLost) -> None:
        """The connection is over: fail what waits for an answer, end the iterations."""
        self._closed = error
        if self._greeting is not None and not self._greeting.done():
            self._greeting.set_exception(error)
        for future, _ in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
        for execution in self._executions.values():
            execution._close(None if execution.completion is not None else error)

    async def _binary(self, message: bytes) -> None:
        frame = unpack_binary(message)
        execution = self._executions.get(frame.execution_id)
        if execution is None:
            return
        data = frame.payload
        if frame.gzip:
            data = execution._decompress.decompress(data, "gzip")
        await execution._put(RemoteOutput(frame.stream, frame.offset, data))

    async def _text(self, text: str) -> None:
        message = rpc.read(text)
        if isinstance(message, rpc.Answer):
            self._answer(message)
            return
        method, params = message.method, message.params
        if method == "connected":
            if self._greeting is not None and not self._greeting.done():
                self._greeting.set_result(params)
            return
        execution = self._executions.get(str(params.get("execution_id", "")))
        if execution is None:
            return
        if method == "process.output":
            await execution._put(*execution._decode(params))
        elif method == "process.completed":
            await execution._put(execution._completion(params))
            execution._close(None)
            self._executions.pop(execution.id, None)
        else:
            await execution._put(Notice(method, params))

    def _answer(self, answer: rpc.Answer) -> None:
        request_id = answer.id
        entry = self._pending.pop(request_id, None) if isinstance(request_id, int) else None
        if entry is None:
            if answer.error is not None:
                log.warning("server error without a pending request: %s", answer.error)
            return
        future, execution = entry
        if answer.error is not None:
            future.set_exception(answer.error)
            return
        result = answer.result
        if execution is not None and isinstance(result, dict) and "execution_id" in result:
            # Registered here, before the next message is read, so no notification is missed.
            execution.id = str(result["execution_id"])
            self._executions[execution.id] = execution
        if not future.done():
            future.set_result(result)


def _gap(params: Mapping[str, Any]) -> ccstream.Gap | None:
    """A ``process.gap`` notice as a :class:`ccstream.Gap` (``None`` if it is malformed)."""
    stream, offset, size = params.get("type"), params.get("offset"), params.get("bytes")
    lines, reason = params.get("lines"), params.get("reason")
    if stream not in STREAMS or not is_int(offset):
        return None
    if not is_int(size):
        return None
    return ccstream.Gap(
        stream,
        offset,
        size,
        lines if is_int(lines) else 0,
        reason if isinstance(reason, str) else "unknown",
    )


def _lost(exc: ConnectionClosed) -> ConnectionLost:
    close = exc.rcvd
    if close is None:
        return ConnectionLost(None, "the connection broke without a close frame")
    return ConnectionLost(close.code, close.reason)
