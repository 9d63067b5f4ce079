"""Small helpers shared by the tests (real processes, no mocks)."""

from __future__ import annotations

import time

import psutil

import ccstream


async def collect(
    command: ccstream.Command, options: ccstream.Options | None = None
) -> tuple[dict[str, bytearray], list[ccstream.Event], ccstream.Result]:
    """Run to the end; return the bytes of each stream, the non-output events and the result."""
    data = {"stdout": bytearray(), "stderr": bytearray()}
    others: list[ccstream.Event] = []
    async with ccstream.stream(command, options) as run:
        async for event in run:
            if isinstance(event, ccstream.Output):
                data[event.stream] += event.data
            else:
                others.append(event)
    return data, others, run.result


def gone(pid: int, within: float = 3.0) -> bool:
    """True when ``pid`` no longer runs (or is only a zombie) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False
