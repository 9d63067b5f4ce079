"""kill -9 of ``ccstream-ws serve`` running process trees: how many of their processes are left.

Starts the server on a free loopback port, starts ``--runs`` detached runs of the tests' process
tree (a ``sleep``, a ``setsid`` grandchild, a double-forked daemon, busy loops ignoring SIGTERM
inside and outside the group), kills the server with SIGKILL and counts, by a token in their
environment, the processes still running after ``--wait`` seconds; then kills those by id.

    .venv/bin/python benchmarks/bench_kill9.py [--runs 3] [--wait 5]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests._helpers import (
    TREE,
    TREE_PROCESSES,
    kill_by_pid,
    left_after,
    wait_for_count,
    with_token,
)
from tests.ws._raw import raw
from tests.ws.conftest import free_port


async def _start_runs(port: int, token: str, runs: int) -> None:
    async with raw(f"ws://127.0.0.1:{port}/ws") as c:
        await c.recv()
        for _ in range(runs):
            params = {"command": TREE, "env": {"CCS_TEST_TOKEN": token}, "detach": True}
            await c.call("execute", params)


def main(runs: int, wait: float) -> None:
    token = uuid.uuid4().hex
    port = free_port()
    code = "import sys; from ccstream_ws.cli import main; sys.exit(main())"
    server = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port), "--log-level", "warning"]
    )
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        asyncio.run(_start_runs(port, token, runs))
        wait_for_count(token, runs * TREE_PROCESSES)
        time.sleep(0.5)
        started = len(with_token(token))
        server.send_signal(signal.SIGKILL)
        server.wait()
        t0 = time.monotonic()
        left = left_after(token, wait)
        print(
            f"kill -9 of ccstream-ws serve with {started} run processes: {len(left)} left "
            f"after {time.monotonic() - t0:.2f} s"
        )
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        kill_by_pid(left_after(token, 0))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--wait", type=float, default=5.0)
    args = parser.parse_args()
    main(args.runs, args.wait)
