"""``control``, ``stdin`` and ``resize`` on an execution of this node: what the connection that
asked does, and what a node does for a command another node sent it (:mod:`._cluster._commands`)."""

from __future__ import annotations

import anyio

from ..exceptions import RPCError
from ..protocol import _jsonrpc as rpc
from ..protocol._codes import ErrorCode
from ._execution import Execution

__all__ = ["CONTROL_STATUS", "check_running", "control", "feed_stdin", "notice", "resize"]

CONTROL_STATUS = {"PAUSE": "paused", "RESUME": "resumed", "CANCEL": "canceled"}
"""A ``control`` ``type`` to its ``status`` (and its notice, ``process.<status>``)."""


def notice(execution_id: str, pid: int, status: str) -> str:
    """The encoded ``process.<status>`` notice of a control."""
    return rpc.notification(
        f"process.{status}",
        {"status": status, "pid": pid, "pgid": pid, "execution_id": execution_id},
    )


def check_running(execution: Execution) -> None:
    """``INVALID_STATE`` once ``execution`` ended."""
    if not execution.running:
        raise RPCError(ErrorCode.INVALID_STATE, f"execution {execution.id} already ended")


def control(execution: Execution, kind: str) -> str:
    """Pause, resume or cancel ``execution`` (``kind`` a key of :data:`CONTROL_STATUS`) and
    return the encoded notice for its readers; ``INVALID_STATE`` once it ended."""
    check_running(execution)
    if kind == "PAUSE":
        execution.pause()
    elif kind == "RESUME":
        execution.resume()
    else:
        execution.cancel()
    return notice(execution.id, execution.pid, CONTROL_STATUS[kind])


def feed_stdin(execution: Execution, data: bytes, eof: bool) -> dict[str, object]:
    """Queue ``data`` for the child's stdin (and close it when ``eof``); the ``stdin`` answer,
    or ``INVALID_STATE`` (not open, ended, closed) or ``BUSY`` (the queue is full)."""
    channel = execution.stdin
    if channel is None:
        raise RPCError(
            ErrorCode.INVALID_STATE, "stdin is not open: start the execution with stdin: true"
        )
    if not execution.running:
        raise RPCError(ErrorCode.INVALID_STATE, f"execution {execution.id} already ended")
    try:
        if data:
            channel.send_nowait(data)
    except anyio.WouldBlock:
        raise RPCError(
            ErrorCode.BUSY, "the child has not read earlier input yet; retry", {"accepted": 0}
        ) from None
    except (anyio.ClosedResourceError, anyio.BrokenResourceError):
        raise RPCError(ErrorCode.INVALID_STATE, "stdin was already closed") from None
    if eof:
        channel.close()
    return {"status": "ok", "bytes": len(data), "eof": eof}


def resize(execution: Execution, rows: int, cols: int) -> dict[str, object]:
    """Set the window size of ``execution``'s terminal; the ``resize`` answer, or
    ``INVALID_STATE`` (started without ``pty``, or ended)."""
    if execution.params.pty is None:
        raise RPCError(
            ErrorCode.INVALID_STATE, f"execution {execution.id} has no terminal: start it with pty"
        )
    check_running(execution)
    execution.resize(rows, cols)
    return {"status": "resized", "execution_id": execution.id, "rows": rows, "cols": cols}
