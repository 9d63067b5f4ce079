"""``ccstream-ws logs URL ID [-f] [--tail N]``: an execution's output, as ``kubectl logs``.

The execution may be running or ended (while the server keeps it). Its stdout comes to our
stdout and its stderr to our stderr, in the order the server recorded them. Without ``-f`` the
output written so far is printed and ``logs`` ends; with ``-f`` it follows the run to its end
(reconnecting as ``exec`` does) and exits with the remote status (the ``exec`` table).
``--tail N`` starts each stream N lines before its end (a line being written counts extra).

Runs on anyio (``anyio.run``, asyncio).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ccstream import StreamName
from ccstream._exit_status import EXIT_OUTPUT_LOST

from ..protocol._params import STREAMS
from ._backoff import Backoff
from ._client import Client
from ._exec import EXIT_INTERRUPTED, EXIT_USAGE, run_client, run_interruptible
from ._follow import Follower
from ._terminal import EXIT_BROKEN_PIPE, Terminal, all_losses
from ._url import ws_url

__all__ = ["LogsRequest", "logs_command", "tail_offset"]


@dataclass(frozen=True, slots=True)
class LogsRequest:
    """What ``logs`` was asked: the server ``url``, the ``execution_id``; ``follow`` to the
    end; ``tail``: the last N lines of each stream only (``None``: all); ``reconnect``: seconds
    a dropped connection is tried again while following (0: not)."""

    url: str
    execution_id: str
    follow: bool = False
    tail: int | None = None
    token: str | None = None
    compression: Literal["deflate"] | None = "deflate"
    reconnect: float = 60.0
    reconnect_attempts: int = 30


def logs_command(request: LogsRequest) -> int:
    """Run ``logs``; its exit status."""
    return run_client(_logs, request, refused=lambda _: EXIT_USAGE)


async def tail_offset(client: Client, execution_id: str, stream: StreamName, lines: int) -> int:
    """The byte offset in ``stream`` where its last ``lines`` known lines begin."""
    known = (await client.page(execution_id, line=0, count=1, stream=stream)).known_lines
    first = max(known - lines, 0)
    if first == 0:
        return 0
    # One byte of the line is enough to learn where it starts (a longer line comes cut).
    page = await client.page(execution_id, line=first, count=1, stream=stream, max_bytes=1)
    if page.cuts:
        return page.cuts[0].offset
    if page.lines:
        return page.next_offset - len(page.lines[0])
    if page.gaps:
        return page.gaps[0].offset  # the line was dropped by the quota: its gap is told first
    return page.next_offset


async def _logs(request: LogsRequest, terminal: Terminal) -> int:
    url = ws_url(request.url)

    def connect() -> Client:
        return Client(url, token=request.token, compression=request.compression)

    offsets: dict[StreamName, int] = {"stdout": 0, "stderr": 0}
    async with connect() as client:
        status = await client.status(request.execution_id)
        if request.tail is not None:
            for name in STREAMS:
                offsets[name] = await tail_offset(client, request.execution_id, name, request.tail)
    until: dict[StreamName, int] | None = None
    if not request.follow and not status.ended:
        # What the run had written when we asked; the rest is -f's.
        until = {
            "stdout": status.stdout.bytes if status.stdout is not None else 0,
            "stderr": status.stderr.bytes if status.stderr is not None else 0,
        }
    backoff = None
    if request.follow and request.reconnect > 0:
        backoff = Backoff(within=request.reconnect, attempts=request.reconnect_attempts)
    follower = Follower(terminal, connect, backoff, until=until)
    follower.resume_at(request.execution_id, offsets)

    async def body() -> int:
        outcome = await follower.run()
        if outcome.closed:
            return EXIT_BROKEN_PIPE
        if request.follow and outcome.completion is not None:
            return terminal.report(outcome.completion, follower.gaps)
        # Without -f the output is the answer: 0, unless some of it was lost (told).
        lost = terminal.tell_losses(all_losses(outcome.completion, follower.gaps))
        return EXIT_OUTPUT_LOST if lost else 0

    status_code = await run_interruptible(body)
    return EXIT_INTERRUPTED if status_code is None else status_code
