"""Small helpers shared by the tests (real processes, no mocks)."""

from __future__ import annotations

import contextlib
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


TREE = (
    # A process tree of every kind a run can leave: in the group, a setsid grandchild, a
    # double-forked daemon (re-parented to init), and busy loops that ignore SIGTERM, one in
    # the group and one that left it.
    "sleep 300 & "
    "setsid sleep 300 & "
    "setsid sh -c 'sleep 300 & exit' & "
    "(trap '' TERM; exec yes > /dev/null) & "
    "setsid sh -c \"trap '' TERM; exec yes > /dev/null\" & "
    "sleep 300"
)
"""A shell script that starts five long-lived processes besides itself, three outside its group."""

TREE_PROCESSES = 6
"""Processes :data:`TREE` keeps running (the shell included)."""


def with_token(token: str) -> list[psutil.Process]:
    """The running processes (zombies excluded) whose environment has ``CCS_TEST_TOKEN=token``."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("CCS_TEST_TOKEN") == token and proc.status() != "zombie":
                found.append(proc)
        except psutil.Error:
            continue
    return found


def wait_for_count(token: str, count: int, within: float = 10.0) -> list[psutil.Process]:
    """Wait until at least ``count`` processes carry ``token``; return them."""
    deadline = time.monotonic() + within
    while True:
        found = with_token(token)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def left_after(token: str, within: float) -> list[psutil.Process]:
    """The processes still carrying ``token`` once ``within`` seconds passed or none is left."""
    deadline = time.monotonic() + within
    while (found := with_token(token)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def kill_by_pid(procs: list[psutil.Process]) -> None:
    """SIGKILL each of ``procs`` by its id (psutil checks it is still the same process)."""
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()
