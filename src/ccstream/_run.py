"""``run()``: the whole run at once, with a bounded capture of each stream."""

from __future__ import annotations

from dataclasses import dataclass

from ._command import Command
from ._events import Output, Result
from ._options import Options
from ._selector import Selection, Selector
from ._stream import stream

__all__ = ["Capture", "run"]

_DEFAULT_CAPTURE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Capture:
    """What :func:`run` keeps of a finished run: its :class:`Result` and a bounded capture of
    stdout and stderr.

    Each capture keeps the head and the tail of its stream and counts what lies between, so a
    command printing gigabytes costs at most ``2 * capture_bytes`` per stream here.
    """

    result: Result
    stdout: Selection
    stderr: Selection

    @property
    def returncode(self) -> int:
        """Shortcut for ``result.returncode``."""
        return self.result.returncode


async def run(
    command: Command,
    options: Options | None = None,
    *,
    capture_bytes: int = _DEFAULT_CAPTURE,
) -> Capture:
    """Run ``command`` to its end and return its result with the first and last
    ``capture_bytes`` bytes of each stream (the omitted middle is counted in bytes and lines)::

        done = await ccstream.run(["git", "status"])
        print(done.stdout.head.decode())
    """
    selectors = {
        "stdout": Selector(head_bytes=capture_bytes, tail_bytes=capture_bytes),
        "stderr": Selector(head_bytes=capture_bytes, tail_bytes=capture_bytes),
    }
    async with stream(command, options) as running:
        async for event in running:
            if isinstance(event, Output):
                selectors[event.stream].feed(event.data)
    return Capture(
        result=running.result,
        stdout=selectors["stdout"].finish(),
        stderr=selectors["stderr"].finish(),
    )
