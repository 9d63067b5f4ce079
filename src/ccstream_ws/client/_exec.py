"""``ccstream-ws exec``: run a command on a server and bring its output here, as ``ssh`` does.

The execution id goes to stderr first (``ccstream-ws: execution ID``). stdout and stderr come
to ours as they come; the exit status is the remote command's, or one of ours (the table in
``docs/cli-ws.md`` and :mod:`ccstream._exit_status`). A dropped connection is made again with
backoff, and the run resumes from the offsets written out: the run is started with
``reconnect`` (the server keeps it that long for us) and taken over again with ``subscribe``
``owner: true``. ``--detach`` prints the id on stdout and leaves the run going.

Runs on anyio (``anyio.run``, asyncio).
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import anyio

from ccstream._exit_status import EXIT_CONNECTION

from ..exceptions import CCStreamWSError, ConnectionLost, RPCError
from ..protocol._codes import ErrorCode
from ._backoff import Backoff
from ._client import Client, RemoteExecution
from ._follow import BINARY, Follower, GaveUp, cancel_remote
from ._stdin import feed_stdin
from ._terminal import EXIT_BROKEN_PIPE, Terminal
from ._url import ws_url

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_NOT_EXECUTABLE",
    "EXIT_NOT_FOUND",
    "EXIT_USAGE",
    "ExecRequest",
    "exec_command",
    "refusal_status",
    "run_client",
    "run_interruptible",
]

_Request = TypeVar("_Request")

EXIT_NOT_FOUND = 127
"""The command was not found (the shell's status for it)."""
EXIT_NOT_EXECUTABLE = 126
"""The command is not executable, or the server's policy refused it."""
EXIT_INTERRUPTED = 130
"""SIGINT (128 + 2)."""
EXIT_USAGE = 2
"""A usage error, or a refusal that is neither of the above."""


@dataclass(frozen=True, slots=True)
class ExecRequest:
    """What ``exec`` was asked: the server ``url``, the ``command`` (a shell string or argv)
    and its options; durations in seconds. ``reconnect``: how long a dropped connection is
    tried again (0: not), in at most ``reconnect_attempts`` attempts."""

    url: str
    command: str | list[str]
    token: str | None = None
    cwd: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    timeout: float | None = None
    idle_timeout: float | None = None
    stdin: bool = False
    compression: Literal["deflate"] | None = "deflate"
    on_quota: Literal["pause", "drop", "auto"] | None = None
    detach: bool = False
    quiet: bool = False
    reconnect: float = 60.0
    reconnect_attempts: int = 30


def exec_command(request: ExecRequest) -> int:
    """Run ``exec``; its exit status."""
    return run_client(
        _exec,
        request,
        refused=refusal_status,
        interrupted="interrupted; the remote run is cancelled",
    )


def run_client(
    main: Callable[[_Request, Terminal], Awaitable[int]],
    request: _Request,
    *,
    refused: Callable[[RPCError], int],
    interrupted: str | None = None,
) -> int:
    """``main(request, terminal)`` under ``anyio.run``; its status, or the status of what
    ended it: a refusal (said, then ``refused(exc)``), a connection given up or lost
    (:data:`EXIT_CONNECTION`), another client error (:data:`EXIT_USAGE`), SIGINT
    (:data:`EXIT_INTERRUPTED`, saying ``interrupted`` when given)."""
    terminal = Terminal()
    try:
        return anyio.run(main, request, terminal)
    except RPCError as exc:
        terminal.say(f"the server refused: {exc.message} (code {exc.code})")
        return refused(exc)
    except GaveUp as exc:
        terminal.say(exc.reason)
        return EXIT_CONNECTION
    except ConnectionLost as exc:
        terminal.say(str(exc))
        return EXIT_CONNECTION
    except CCStreamWSError as exc:
        terminal.say(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        if interrupted is not None:
            terminal.say(interrupted)
        return EXIT_INTERRUPTED


def refusal_status(exc: RPCError) -> int:
    """The status for a refused ``execute``: 127 command not found, 126 not executable or not
    allowed, 2 any other refusal."""
    if exc.code == ErrorCode.SPAWN_FAILED:
        data = exc.data if isinstance(exc.data, dict) else {}
        reason = data.get("reason")
        if reason == "not_found" or (reason is None and "not found" in exc.message):
            return EXIT_NOT_FOUND
        return EXIT_NOT_EXECUTABLE
    if exc.code == ErrorCode.COMMAND_NOT_ALLOWED:
        return EXIT_NOT_EXECUTABLE
    return EXIT_USAGE


async def run_interruptible(body: Callable[[], Awaitable[int]]) -> int | None:
    """``body``'s result, or ``None`` when SIGINT came first (``body`` is then cancelled).
    What ``body`` raises is raised as it is (not in an exception group)."""
    result: int | None = None
    error: Exception | None = None

    async def main(done: anyio.CancelScope) -> None:
        nonlocal result, error
        try:
            result = await body()
        except Exception as exc:
            error = exc
        done.cancel()

    async with anyio.create_task_group() as group:
        with anyio.open_signal_receiver(signal.SIGINT) as signals:
            group.start_soon(main, group.cancel_scope)
            async for _ in signals:
                group.cancel_scope.cancel()
                break
    if error is not None:
        raise error
    return result


async def _exec(request: ExecRequest, terminal: Terminal) -> int:
    url = ws_url(request.url)

    def connect() -> Client:
        return Client(url, token=request.token, compression=request.compression)

    # Input in flight when a connection drops could be lost or sent twice: with --stdin a
    # drop ends exec (255) and the server cancels the run.
    window = request.reconnect if request.reconnect > 0 and not request.stdin else None
    backoff = (
        Backoff(within=window, attempts=request.reconnect_attempts) if window is not None else None
    )
    follower = Follower(
        terminal,
        connect,
        backoff,
        owner=True,
        alongside=feed_stdin if request.stdin else None,
    )

    async def start(client: Client) -> RemoteExecution | None:
        resumable = window is not None and "reconnect" in client.capabilities
        if not resumable:
            follower.backoff = None  # the server would cancel the run when the connection drops
        execution = await client.execute(
            request.command,
            timeout=request.timeout,
            idle_timeout=request.idle_timeout,
            cwd=request.cwd,
            env=dict(request.env) or None,
            stdin=request.stdin,
            detach=request.detach,
            output_options=BINARY,
            on_quota=request.on_quota,
            reconnect=window if resumable and not request.detach else None,
        )
        if request.detach:
            terminal.print(execution.id)
            return None
        if not request.quiet:
            terminal.say(f"execution {execution.id}")
        return execution

    async def body() -> int:
        outcome = await follower.run(start)
        if outcome.closed:
            return EXIT_BROKEN_PIPE  # quiet: a reader that has had enough is no error
        if outcome.completion is None:
            return 0  # detached
        return terminal.report(
            outcome.completion,
            follower.gaps,
            timeout=request.timeout,
            idle_timeout=request.idle_timeout,
        )

    status = await run_interruptible(body)
    if status is not None:
        return status
    if follower.execution_id is None or follower.backoff is None:
        # Never started, or started without a reconnect window: closing the connection
        # cancelled it.
        terminal.say("interrupted; the remote run is cancelled")
        return EXIT_INTERRUPTED
    problem = await cancel_remote(connect, follower.execution_id)
    if problem is None:
        terminal.say("interrupted; the remote run is cancelled")
    else:
        terminal.say(
            f"interrupted; could not cancel execution {follower.execution_id} ({problem}): "
            f"the server cancels it {window:g} s after the connection closed"
        )
    return EXIT_INTERRUPTED
