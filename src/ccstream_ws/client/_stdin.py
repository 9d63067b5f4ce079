"""This terminal's stdin to a remote execution's (``ccstream-ws exec --stdin``).

Standard input may be a terminal, a pipe or a regular file, and a regular file cannot be waited
on (epoll refuses it): a daemon thread reads it with blocking reads and hands the blocks to the
event loop through a pipe of its own, which any backend can wait on. Being a daemon, the thread
never holds up the exit of a command line whose run ended before its input did.
"""

from __future__ import annotations

import contextlib
import os
import threading

import anyio

from ..exceptions import ConnectionLost, RPCError
from ._client import RemoteExecution

__all__ = ["BLOCK", "feed_stdin"]

BLOCK = 65536
"""Bytes read from stdin at a time, and sent in one ``stdin`` message at most."""


def _copy(source: int, sink: int) -> None:
    try:
        while True:
            block = os.read(source, BLOCK)
            if not block:
                return
            view = memoryview(block)
            while view:
                view = view[os.write(sink, view) :]
    except OSError:
        return  # the loop side closed its end (the run is over), or stdin failed
    finally:
        os.close(sink)


async def feed_stdin(execution: RemoteExecution, fd: int = 0) -> None:
    """Send what ``fd`` holds to ``execution``'s stdin, then its end; returns at the end of
    input or when the execution or its connection no longer takes input."""
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    threading.Thread(
        target=_copy, args=(fd, write_end), name="ccstream-ws stdin", daemon=True
    ).start()
    try:
        while True:
            await anyio.wait_readable(read_end)
            try:
                block = os.read(read_end, BLOCK)
            except BlockingIOError:
                continue
            await execution.write(block, eof=not block)
            if not block:
                return
    except (ConnectionLost, RPCError):
        return  # the run ended (or the connection did): the rest of the input has no taker
    finally:
        with contextlib.suppress(OSError):
            os.close(read_end)
