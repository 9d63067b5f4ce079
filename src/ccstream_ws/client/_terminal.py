"""Where ``ccstream-ws exec`` and ``logs`` put a remote execution: its stdout and stderr on
ours, as they come, and on stderr one line for each thing the exit status alone does not say.

A closed stdout (``| head``) is not an error: the writes stop, nothing is printed about it, and
the command line exits 141, what a writer killed by SIGPIPE reports.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import BinaryIO

import ccstream
from ccstream import StreamName
from ccstream._exit_status import EXIT_OUTPUT_LOST, describe_end, describe_loss, exit_status

from ._client import Completion, Loss, gap_losses

__all__ = ["EXIT_BROKEN_PIPE", "Terminal", "all_losses"]

EXIT_BROKEN_PIPE = 141
"""The status of a command line whose stdout was closed: 128 + SIGPIPE, as a shell reports a
writer SIGPIPE killed."""


class Terminal:
    """This process's stdout and stderr, for a remote execution's output and our own lines."""

    def __init__(self, stdout: BinaryIO | None = None, stderr: BinaryIO | None = None) -> None:
        self._out: dict[StreamName, BinaryIO] = {
            "stdout": stdout if stdout is not None else sys.stdout.buffer,
            "stderr": stderr if stderr is not None else sys.stderr.buffer,
        }
        self.closed = False
        """True once a write found its stream closed (``| head``)."""

    def write(self, stream: StreamName, data: bytes) -> bool:
        """Write ``data`` to our ``stream`` now; ``False`` when that stream is closed."""
        sink = self._out[stream]
        try:
            sink.write(data)
            sink.flush()
        except BrokenPipeError:
            self._silence(sink)
            return False
        return True

    def _silence(self, sink: BinaryIO) -> None:
        # Python flushes its streams at exit: writing to the closed pipe again must not raise
        # (or print "Exception ignored ... BrokenPipeError").
        self.closed = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sink.fileno())
        finally:
            os.close(devnull)

    def say(self, text: str) -> None:
        """One line of ours on stderr, ``ccstream-ws: text``."""
        line = f"ccstream-ws: {text}\n".encode(errors="backslashreplace")
        try:
            self._out["stderr"].write(line)
            self._out["stderr"].flush()
        except BrokenPipeError:
            self._silence(self._out["stderr"])

    def print(self, text: str) -> None:
        """One line on stdout (``exec --detach``'s execution id)."""
        self.write("stdout", f"{text}\n".encode())

    def report(
        self,
        completion: Completion,
        gaps: Iterable[ccstream.Gap] = (),
        *,
        timeout: float | None = None,
        idle_timeout: float | None = None,
    ) -> int:
        """Tell on stderr how the run ended when its status does not say it, and every loss
        (``gaps``: every ``process.gap`` received, over every connection); the exit status."""
        lost = self.tell_losses(all_losses(completion, gaps))
        lost = lost or completion.output_error is not None
        if completion.output_error and not any(x.reason == "not_sent" for x in completion.losses):
            self.say(f"the server could not send all of the output: {completion.output_error}")
        reason, code = _reason(completion), completion.exit_code
        error = completion.params.get("spool_error")
        end = describe_end(
            reason,
            code,
            timeout=timeout,
            idle_timeout=idle_timeout,
            error=error if isinstance(error, str) else None,
        )
        status = exit_status(reason, code, lost=lost)
        if end is not None:
            self.say(end)
        elif status == EXIT_OUTPUT_LOST:
            self.say(f"the command exited 0 but output was lost: exit status {EXIT_OUTPUT_LOST}")
        return status

    def tell_losses(self, losses: Iterable[Loss]) -> bool:
        """One line on stderr per loss (stream and reason); whether there was any."""
        told = False
        for loss in losses:
            self.say(
                describe_loss(
                    loss.stream,
                    loss.bytes,
                    loss.lines,
                    loss.reason,
                    gaps=loss.gaps,
                    detail=loss.detail,
                )
            )
            told = True
        return told


def all_losses(completion: Completion | None, gaps: Iterable[ccstream.Gap]) -> tuple[Loss, ...]:
    """The completion's losses with ``gaps`` as its gaps: the ``process.gap`` notices of every
    connection that read the execution (a completion knows only its own connection's), plus
    the bytes the server counted but did not send (none without a completion)."""
    losses = gap_losses(gaps)
    if completion is not None:
        losses += [loss for loss in completion.losses if loss.reason == "not_sent"]
    losses.sort(key=lambda loss: loss.stream != "stdout")
    return tuple(losses)


def _reason(completion: Completion) -> str:
    """The completion's ``reason``; from ``status`` when a server did not send one."""
    if completion.reason:
        return completion.reason
    statuses = {"timeout": "timeout", "canceled": "cancelled"}
    if completion.status in statuses:
        return statuses[completion.status]
    if completion.exit_code is None:
        return "unknown"
    return "signalled" if completion.exit_code < 0 else "exited"
