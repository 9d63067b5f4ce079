"""One WebSocket connection: read requests, answer them, stream output to the client.

The receive loop handles one request at a time (each is quick: a spawn, a signal, a page read in
a worker thread); output goes out from one reader task per execution the client reads, each
following the execution's spool from its own offsets. All sends pass one lock. A reader sends
in batches: everything its follower has ready without waiting (at most :data:`BATCH_BYTES` or
:data:`BATCH_EVENTS`) under one hold of the lock, so a bulk stream costs one turn of the event
loop per batch rather than per frame, and a reply waits behind at most one batch per reader. A
reader holds one batch of frames (the spool's own objects) and one encoded message, and waits
for the socket: a slow client makes its readers fall behind in the spool, never the child.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import anyio
import anyio.abc

import ccstream
from ccstream import Gap, Output, StreamName

from .._version import VERSION
from ..exceptions import RPCError
from ..protocol import _jsonrpc as rpc
from ..protocol._codes import ErrorCode
from ..protocol._params import (
    OutputOptions,
    PtyParams,
    parse_control,
    parse_execute,
    parse_execution_id,
    parse_page,
    parse_resize_params,
    parse_stdin,
    parse_subscribe,
)
from ..protocol._text import as_text
from ..protocol._wire import Message, OutputEncoder
from ._actions import notice
from ._asgi import Receive, Send
from ._budget import spool_options
from ._config import ServerConfig
from ._execution import Execution
from ._listing import list_result, policy_result
from ._pages import page_message
from ._policy import check_command, child_env
from ._registry import AnyExecution, Registry, new_id
from ._search import search_message

__all__ = ["CAPABILITIES", "Session"]

log = logging.getLogger("ccstream_ws")

CAPABILITIES = [
    "execute",
    "control",
    "stream",
    "cancel",
    "status",
    "stdin",
    "page",
    "search",
    "subscribe",
    "detach",
    "argv",
    "binary",
    "base64",
    "gzip",
    "pagination",
    "on_quota",
    "list",
    "policy",
    "pty",
    "resize",
    "times",
    "reconnect",
]

_ANSWERED = object()
_READ_SIZE = 1024 * 1024  # a busy child's pipe is read up to this much per turn of the pump
BATCH_BYTES = 256 * 1024
"""Bytes of frames a reader sends under one hold of the connection's send lock, at most (its
last frame may pass it): a reply waits behind at most one such batch per reader."""
BATCH_EVENTS = 256
"""Frames (and gaps) a reader sends under one hold of the send lock, at most."""
_CONTROL_STATUS = {"PAUSE": "paused", "RESUME": "resumed", "CANCEL": "canceled"}


class _Gone(Exception):
    """The client is gone; a sender stops quietly. Only a failed send means that: a message of
    ours that cannot be encoded is a bug, logged, and the connection carries on."""


class Session:
    """The server side of one accepted connection."""

    def __init__(self, registry: Registry, send: Send, *, client: str) -> None:
        self.id = new_id()
        self.registry = registry
        self.config: ServerConfig = registry.config
        self.client = client
        self._send = send
        self._lock = anyio.Lock()
        self._gone = False
        self._readers: anyio.abc.TaskGroup | None = None
        self._runs: anyio.abc.TaskGroup | None = None
        self._subscriptions = 0
        self._following: Counter[str] = Counter()
        """Reader tasks of this connection, by execution id."""
        self._quiet = anyio.Event()
        self._methods: dict[str, Callable[[rpc.Request], Awaitable[Any]]] = {
            "execute": self._execute,
            "control": self._control,
            "cancel": self._cancel,
            "status": self._status,
            "stdin": self._stdin,
            "page": self._page,
            "search": self._search,
            "subscribe": self._subscribe,
            "ping": self._ping,
            "pong": self._pong,
            "list": self._list,
            "policy": self._policy,
            "resize": self._resize,
        }

    # -- sending ------------------------------------------------------------------------------

    async def send(self, message: Message) -> None:
        """Send one message; raises :class:`_Gone` once the client is gone."""
        if self._gone:
            raise _Gone
        async with self._lock:
            await self._deliver(message)

    async def _send_output(
        self,
        batch: list[Output | Gap],
        output: Callable[[Output], list[Message]],
        gap: Callable[[Gap], list[Message]],
    ) -> None:
        """Encode and send a batch of a reader's events under one hold of the lock: one loop
        turn for the whole batch (taking the lock is a checkpoint), each message encoded just
        before it goes out, so the reader holds one encoded message at a time."""
        if self._gone:
            raise _Gone
        async with self._lock:
            for item in batch:
                for message in output(item) if isinstance(item, Output) else gap(item):
                    await self._deliver(message)

    async def _deliver(self, message: Message) -> None:
        """Send ``message``, the lock held."""
        if self._gone:
            raise _Gone
        event: dict[str, Any] = {"type": "websocket.send"}
        event["text" if isinstance(message, str) else "bytes"] = message
        try:
            try:
                await self._send(event)
            except UnicodeEncodeError:
                if not isinstance(message, str):
                    raise
                # A lone surrogate reached one of our messages (a bug, not the client's
                # doing). The ASGI servers encode before they write, so nothing went out:
                # send it with each such character as its JSON escape, which JSON text
                # allows, and carry on.
                log.error(
                    "session %s: a message held a lone surrogate; sent it escaped: %.200r",
                    self.id,
                    message,
                )
                event["text"] = as_text(message)
                await self._send(event)
        except Exception as exc:
            # Each server says "gone" its own way (uvicorn ClientDisconnected, hypercorn
            # an unexpected-message error after the close): all mean the same here.
            log.debug("session %s: send failed: %r", self.id, exc)
            self._gone = True
            raise _Gone from exc

    async def _answer(self, request: rpc.Request, result: Any) -> None:
        if not request.notification:
            await self.send(rpc.response(request.id, result))

    async def _refuse(self, request_id: rpc.Id, exc: RPCError, method: str = "") -> None:
        self.registry.metrics.refused("rpc", exc.code)
        log.info(
            "session %s (%s): refused %s: %s (code %d)",
            self.id,
            self.client,
            method or "message",
            exc.message,
            exc.code,
        )
        # A message may quote an OS string (a cwd the core could not find): keep it text.
        await self.send(rpc.error(request_id, exc.code, as_text(exc.message), exc.data))

    # -- the connection -----------------------------------------------------------------------

    async def serve(self, receive: Receive) -> None:
        """Greet the client, then serve it until it disconnects."""
        async with anyio.create_task_group() as runs:
            self._runs = runs
            try:
                async with anyio.create_task_group() as readers:
                    self._readers = readers
                    # Caught here, in the task that raised it: a task group wraps what leaves it
                    # in an exception group, which no ``except _Gone`` would match.
                    with contextlib.suppress(_Gone):
                        await self.send(self._greeting())
                        await self._receive_loop(receive)
                    readers.cancel_scope.cancel()
            finally:
                self._gone = True
                self.registry.connection_closed(self.id)

    def _greeting(self) -> str:
        config = self.config
        limits = {
            "max_message_size": config.max_message_size,
            "max_chunk_size": config.max_chunk_size,
            "max_executions_per_connection": config.max_executions_per_connection,
        }
        return rpc.notification(
            "connected",
            {
                "session_id": self.id,
                "version": VERSION,
                "capabilities": CAPABILITIES,
                "limits": limits,
            },
        )

    async def _receive_loop(self, receive: Receive) -> None:
        limit = self.config.max_message_size
        while True:
            message = await receive()
            kind = message.get("type")
            if kind == "websocket.disconnect":
                log.info(
                    "session %s (%s): disconnected (code %s)",
                    self.id,
                    self.client,
                    message.get("code"),
                )
                return
            if kind != "websocket.receive":
                continue
            text = message.get("text")
            if text is None:
                await self._refuse(
                    None,
                    RPCError(
                        ErrorCode.INVALID_REQUEST,
                        "binary messages are not accepted; send JSON text",
                    ),
                )
                continue
            if len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit:
                await self._refuse(
                    None,
                    RPCError(ErrorCode.MESSAGE_TOO_LARGE, f"message larger than {limit} bytes"),
                )
                continue
            await self._handle(text)

    async def _handle(self, text: str) -> None:
        try:
            request = rpc.parse(text)
        except rpc.BadRequest as exc:
            await self._refuse(exc.request_id, exc)
            return
        method = self._methods.get(request.method)
        try:
            if method is None:
                raise RPCError(ErrorCode.METHOD_NOT_FOUND, f"Unknown method: {request.method[:64]}")
            result = await method(request)
        except RPCError as exc:
            await self._refuse(request.id, exc, request.method[:64])
        except (_Gone, anyio.get_cancelled_exc_class()):
            raise
        except Exception as exc:
            log.exception("session %s: %s failed", self.id, request.method)
            self.registry.metrics.refused("rpc", ErrorCode.INTERNAL_ERROR)
            await self.send(
                rpc.error(
                    request.id, ErrorCode.INTERNAL_ERROR, "Internal error", type(exc).__name__
                )
            )
        else:
            if result is not _ANSWERED:
                await self._answer(request, result)

    # -- methods ------------------------------------------------------------------------------

    async def _execute(self, request: rpc.Request) -> Any:
        config = self.config
        p = parse_execute(request.params, config.max_chunk_size)
        argv = check_command(config, p.command, p.argv, p.cwd if p.cwd is not None else config.cwd)
        if p.cwd is not None and not config.allow_cwd:
            raise RPCError(ErrorCode.COMMAND_NOT_ALLOWED, "choosing cwd is not allowed here")
        env = child_env(config, p.env)
        if self.registry.closing:
            raise RPCError(ErrorCode.LIMIT_REACHED, "the server is shutting down")
        self.registry.check_capacity(self.id)
        stdin_send = stdin_iter = None
        if p.stdin:
            stdin_send, stdin_receive = anyio.create_memory_object_stream[bytes](config.stdin_queue)
            stdin_iter = _drain(stdin_receive)
        execution_id = self.registry.new_execution_id()
        try:
            options = ccstream.Options(
                shell=config.shell,
                cwd=p.cwd if p.cwd is not None else config.cwd,
                env=env,
                inherit_env=False,
                stdin=stdin_iter,
                chunk_size=p.output.chunk_size,
                mode="text" if p.output.encoding == "text" else "binary",
                timeout=p.timeout,
                idle_timeout=p.idle_timeout,
                kill_grace=config.kill_grace,
                # The spool takes every frame and never waits for a reader; this hand-off only
                # matters if the disk fails (and then the run is stopped).
                buffer_limit=max(2 * p.output.chunk_size, _READ_SIZE),
                read_size=max(p.output.chunk_size, _READ_SIZE),
                spool=spool_options(
                    config,
                    execution_id,
                    p.output.chunk_size,
                    p.on_quota,
                    self.registry.spool_budget.memory,
                ),
                pty=_pty(p.pty),
                force_color=p.force_color,
            )
        except ccstream.InvalidOption as exc:
            raise RPCError(ErrorCode.INVALID_PARAMS, str(exc)) from None
        retention = min(
            p.retention if p.retention is not None else config.retention, config.max_retention
        )
        execution = Execution(
            execution_id,
            p,
            options,
            owner=self.id,
            retention=retention,
            stdin=stdin_send,
            store=self.registry.store,
            reconnect=None if p.reconnect is None else min(p.reconnect, config.max_retention),
        )
        command: ccstream.Command = p.command if p.command is not None else list(argv or ())
        execution.argv = (
            (config.shell, "-c", p.command) if p.command is not None else tuple(argv or ())
        )
        assert self._runs is not None
        assert self._readers is not None
        try:
            await self.registry.start(execution, command, self._runs)
        except ccstream.SpawnError as exc:
            raise RPCError(
                ErrorCode.SPAWN_FAILED, str(exc), {"reason": _spawn_reason(exc)}
            ) from None
        except ccstream.SpoolError as exc:
            log.error("session %s: cannot spool an execution: %s", self.id, exc)
            raise RPCError(
                ErrorCode.SPAWN_FAILED, f"cannot spool the output: {exc}", {"reason": "spool"}
            ) from None
        except ccstream.InvalidOption as exc:
            raise RPCError(ErrorCode.INVALID_PARAMS, str(exc)) from None
        log.info(
            "session %s (%s): started %s pid %d: %.200r%s",
            self.id,
            self.client,
            execution.id,
            execution.pid,
            command,
            " (detached)" if p.detach else "",
        )
        await self._answer(
            request,
            {
                "status": "started",
                "pid": execution.pid,
                "pgid": execution.pid,
                "execution_id": execution.id,
            },
        )
        # Reading from the spool from offset 0: nothing written before this task starts is missed.
        self._follow(self._reader, execution, p.output, None, True)
        return _ANSWERED

    async def _find(self, execution_id: str | None) -> AnyExecution:
        if execution_id is not None:
            return await self.registry.find(execution_id)
        mine = [e for e in self.registry.owned_by(self.id) if e.running]
        if not mine:
            raise RPCError(ErrorCode.EXECUTION_NOT_FOUND, "No process is running")
        return mine[-1]

    async def _control(self, request: rpc.Request) -> Any:
        p = parse_control(request.params)
        execution = await self._find(p.execution_id)
        status, message = await self.registry.control(execution, p.type)
        log.info("session %s: %s %s", self.id, status, execution.id)
        await self._answer(request, {"status": status, "execution_id": execution.id})
        # Every connection reading the execution hears it from its reader; this one as well
        # when it reads none (it controls by id), as the original executor told its caller.
        if message is not None:
            await self.registry.publish(execution, message)
        if not self._following[execution.id]:
            await self.send(message or notice(execution.id, execution.pid, status))
        return _ANSWERED

    async def _resize(self, request: rpc.Request) -> Any:
        p = parse_resize_params(request.params)
        execution = await self._find(p.execution_id)
        return await self.registry.resize(execution, p.rows, p.cols)

    async def _cancel(self, request: rpc.Request) -> Any:
        execution = await self.registry.find(_required_id(request))
        status, message = await self.registry.control(execution, "CANCEL")
        if message is not None:
            await self.registry.publish(execution, message)
        return {"status": status, "execution_id": execution.id}

    async def _status(self, request: rpc.Request) -> Any:
        eid = parse_execution_id(request.params, required=False)
        if eid is not None:
            return (await self.registry.find(eid)).describe()
        return {"executions": [e.describe() for e in self.registry.owned_by(self.id)]}

    async def _stdin(self, request: rpc.Request) -> Any:
        p = parse_stdin(request.params)
        execution = await self._find(p.execution_id)
        return await self.registry.stdin(execution, p.data, p.eof)

    async def _page(self, request: rpc.Request) -> Any:
        p = parse_page(request.params)
        execution = await self.registry.find(p.execution_id)
        _spooled(execution)
        # A reader keeps the execution (and its spool) from expiring under the read.
        execution.reader_joined()
        try:
            # Read and encoded off the event loop: a page of up to MAX_PAGE_BYTES never holds
            # up the event loop, and with it every other connection.
            with await execution.aopen_spool() as spool:
                message = await page_message(
                    spool,
                    request.id,
                    p.stream,
                    p.line,
                    p.count,
                    p.encoding,
                    p.max_bytes,
                    times=p.times,
                )
        except ccstream.SpoolError as exc:
            raise RPCError(ErrorCode.OUTPUT_UNAVAILABLE, f"cannot read the spool: {exc}") from None
        finally:
            execution.reader_left()
        if not request.notification:
            await self.send(message)
        return _ANSWERED

    async def _search(self, request: rpc.Request) -> Any:
        message = await search_message(self.registry, request)
        if not request.notification:
            await self.send(message)
        return _ANSWERED

    async def _subscribe(self, request: rpc.Request) -> Any:
        p = parse_subscribe(request.params, self.config.max_chunk_size)
        execution = await self.registry.find(p.execution_id)
        _spooled(execution)
        limit = self.config.max_executions_per_connection
        if self._subscriptions >= limit:
            raise RPCError(
                ErrorCode.LIMIT_REACHED, f"this connection reads its limit of {limit} subscriptions"
            )
        try:
            state = await execution.aspool_state()
            assert state is not None
            sizes: dict[StreamName, int] = {"stdout": state.sizes[0], "stderr": state.sizes[1]}
        except ccstream.SpoolError as exc:
            raise RPCError(ErrorCode.OUTPUT_UNAVAILABLE, f"cannot read the spool: {exc}") from None
        for name, offset in p.offsets.items():
            if offset > sizes[name]:
                raise RPCError(
                    ErrorCode.INVALID_PARAMS,
                    f"offsets.{name} {offset} is past the {sizes[name]} bytes written so far",
                )
        if p.owner:
            if not isinstance(execution, Execution):
                raise RPCError(
                    ErrorCode.INVALID_STATE,
                    f"execution {execution.id} runs on another node: its owner takes it over "
                    "through a connection to that node",
                )
            if execution.reconnect is None:
                raise RPCError(
                    ErrorCode.INVALID_STATE,
                    f"execution {execution.id} was not started with reconnect: it has no owner "
                    "to take over",
                )
            execution.take_over(self.id)
            log.info("session %s: took over %s as its owner", self.id, execution.id)
        assert self._readers is not None
        await self._answer(
            request,
            {
                "status": "subscribed",
                "execution_id": execution.id,
                "state": execution.describe()["state"],
            },
        )
        log.info("session %s: subscribed to %s from %s", self.id, execution.id, p.offsets)
        self._subscriptions += 1
        self._follow(self._subscription, execution, p.output, p.offsets)
        return _ANSWERED

    async def _subscription(
        self,
        execution: AnyExecution,
        options: OutputOptions,
        offsets: dict[StreamName, int],
        notices: _Notices,
    ) -> None:
        try:
            await self._reader(execution, options, offsets, False, notices)
        finally:
            self._subscriptions -= 1

    async def _list(self, request: rpc.Request) -> Any:
        return list_result(self.config, self.registry, self.id, request.params)

    async def _policy(self, request: rpc.Request) -> Any:
        return policy_result(self.config)

    async def _ping(self, request: rpc.Request) -> Any:
        return {"pong": True, "time": time.time()}

    async def _pong(self, request: rpc.Request) -> Any:
        # Older clients answer a JSON heartbeat with a JSON pong; it needs nothing back.
        return {"status": "ok"}

    # -- output -------------------------------------------------------------------------------

    def _follow(
        self, reader: Callable[..., Coroutine[Any, Any, None]], execution: AnyExecution, *args: Any
    ) -> None:
        """Start a reader task; counted now, so a ``control`` right after knows it reads."""
        assert self._readers is not None
        self._following[execution.id] += 1
        self._readers.start_soon(reader, *(execution, *args, _Notices(execution)))

    async def drain(self) -> None:
        """Return once every reader of this connection ended (sent its completion, or the
        client left); the caller bounds the wait."""
        while self._following:
            self._quiet = anyio.Event()
            await self._quiet.wait()

    async def close(self, code: int, reason: str) -> None:
        """Close the connection with ``code``; nothing is sent after it."""
        async with self._lock:
            if self._gone:
                return
            self._gone = True
            with contextlib.suppress(Exception):
                await self._send({"type": "websocket.close", "code": code, "reason": reason})

    async def _reader(
        self,
        execution: AnyExecution,
        options: OutputOptions,
        offsets: dict[StreamName, int] | None,
        announce: bool,
        notices: _Notices,
    ) -> None:
        """Send ``execution``'s output from ``offsets`` on (replayed from the spool, then live)
        to this client, with every control notice published meanwhile, then its completion.
        Holds one batch: it waits for the socket, and the spool keeps what the client has not
        taken yet."""
        encoder = OutputEncoder(execution.id, options, offsets)
        execution.reader_joined()
        assert self._readers is not None
        self._readers.start_soon(self._forward, notices)
        try:
            if announce:
                await self.send(
                    rpc.notification(
                        "process.started",
                        {
                            "status": "started",
                            "pid": execution.pid,
                            "pgid": execution.pid,
                            "execution_id": execution.id,
                            "argv": execution.argv_on_wire(),
                        },
                    )
                )
            error = await self._stream(execution, encoder, offsets)
            if execution.evicted is not None:
                # Cut off: say so before the completion, which carries the reason as well.
                await self.send(rpc.notification("process.expired", execution.evicted.fields()))
            await execution.ended.wait()
            # The notices published before the end go first, then the completion, last.
            await notices.stop()
            await self._send_notices(notices)
            for message in encoder.finish():
                await self.send(message)
            completed = self._completed(execution, encoder)
            if error is not None:
                completed["output_error"] = error
            await self.send(rpc.notification("process.completed", completed))
        except _Gone:
            pass
        finally:
            notices.scope.cancel()
            execution.reader_left()
            self._following[execution.id] -= 1
            if not self._following[execution.id]:
                del self._following[execution.id]
            self._quiet.set()

    async def _forward(self, notices: _Notices) -> None:
        """Send the execution's control notices as they are published, while the reader sends
        output (a paused run sends none, so the reader cannot carry them)."""
        try:
            with notices.scope:
                while True:
                    await notices.execution.wait_notice(notices.seen)
                    # Shielded: a frame is sent whole, or not at all.
                    with anyio.CancelScope(shield=True):
                        await self._send_notices(notices)
        except _Gone:
            pass
        finally:
            notices.stopped.set()

    async def _send_notices(self, notices: _Notices) -> None:
        newer, missed = notices.execution.notices_after(notices.seen)
        if missed:
            log.warning(
                "session %s: %d control notices of %s were no longer kept for this reader",
                self.id,
                missed,
                notices.execution.id,
            )
        for number, message in newer:
            notices.seen = number
            await self.send(message)

    async def _stream(
        self, execution: AnyExecution, encoder: OutputEncoder, offsets: dict[StreamName, int] | None
    ) -> str | None:
        """Send the output frames; return why the spool could not be read to the end, if so."""
        if not execution.spooled:
            return "the execution keeps no spool"
        send = self._send_output
        output, gap = encoder.output, encoder.gap
        try:
            with await execution.aopen_spool() as spool:
                batches = spool.follow_batches(
                    offsets,
                    streams=encoder.options.streams,
                    max_bytes=BATCH_BYTES,
                    max_events=BATCH_EVENTS,
                )
                async with contextlib.aclosing(batches):
                    async for batch in batches:
                        await send(batch, output, gap)
        except ccstream.CCStreamError as exc:
            if execution.evicted is not None:
                return execution.evicted.message  # the budget's doing: told, not a fault
            # Told in process.completed rather than ending the connection; logged to be fixed.
            log.exception("session %s: reading the spool of %s failed", self.id, execution.id)
            return f"reading the spool failed: {exc}"
        return None

    def _completed(self, execution: AnyExecution, encoder: OutputEncoder) -> dict[str, Any]:
        params: dict[str, Any] = {
            "execution_id": execution.id,
            "pid": execution.pid,
            "pgid": execution.pid,
        }
        completion = execution.completion()
        if completion is None:
            params.update(
                status="failed", reason="internal_error", exit_code=None, execution_time=None
            )
        else:
            params.update(completion)
        account = encoder.account()
        if account:
            params["output"] = account
        params["messages"] = encoder.messages
        return params


class _Notices:
    """One reader's place in its execution's control notices, and its forwarding task."""

    def __init__(self, execution: AnyExecution) -> None:
        self.execution = execution
        self.seen = execution.notice_count
        """Notices sent (or published before this reader began) so far."""
        self.scope = anyio.CancelScope()
        self.stopped = anyio.Event()

    async def stop(self) -> None:
        """Stop the forwarding task, after the notice it may be sending."""
        self.scope.cancel()
        await self.stopped.wait()


def _notice(execution: Execution, status: str) -> str:
    return rpc.notification(
        f"process.{status}",
        {
            "status": status,
            "pid": execution.pid,
            "pgid": execution.pid,
            "execution_id": execution.id,
        },
    )


def _pty(params: PtyParams | None) -> ccstream.Pty | None:
    """The core's terminal option for ``execute``'s ``pty``."""
    if params is None:
        return None
    return ccstream.Pty(rows=params.rows, cols=params.cols, stderr=params.stderr)


def _spooled(execution: AnyExecution) -> None:
    if not execution.spooled:
        raise RPCError(ErrorCode.OUTPUT_UNAVAILABLE, f"execution {execution.id} keeps no spool")


def _required_id(request: rpc.Request) -> str:
    eid = parse_execution_id(request.params)
    assert eid is not None
    return eid


async def _drain(receive: anyio.abc.ObjectReceiveStream[bytes]) -> AsyncIterator[bytes]:
    async with receive:
        async for block in receive:
            yield block


def _spawn_reason(exc: ccstream.SpawnError) -> str:
    """``execute``'s ``-32005`` ``data.reason``: what kept the command from starting."""
    if isinstance(exc, ccstream.CommandNotFound):
        return "not_found"
    if isinstance(exc, ccstream.NotExecutable):
        return "not_executable"
    if isinstance(exc, ccstream.CwdNotFound):
        return "cwd_not_found"
    return "spawn"
