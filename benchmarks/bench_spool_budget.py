"""The server's disk, measured: ``ccstream-ws serve --max-executions 2 --spool-quota 64M`` (the
default spool budget) runs ten 60 MiB executions one after another, half kept by an open
connection, half detached, while a thread measures the spool directory by allocated blocks.

    python benchmarks/bench_spool_budget.py [--runs 10] [--mib 60] [-- extra serve flags]

Prints the budget and what ``/healthz`` reports, the peak on disk, and the evictions logged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from ccstream_ws import Client, RemoteOutput

PY = sys.executable
MiB = 1024 * 1024


def on_disk(root: Path) -> int:
    """Bytes the tree takes on disk: allocated blocks of every file and directory, root too."""
    total = os.lstat(root).st_blocks * 512
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_blocks * 512
            except FileNotFoundError:
                continue
    return total


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _one(client: Client, child: str, detach: bool) -> int:
    execution = await client.execute(
        [PY, "-c", child], detach=detach, output_options={"encoding": "binary"}
    )
    received = 0
    async for event in execution:
        if isinstance(event, RemoteOutput):
            received += len(event.data)
    return received


async def _runs(url: str, runs: int, mib: int) -> None:
    child = "import sys\nb = b'x' * 65536\n"
    child += f"for _ in range({mib * 16}): sys.stdout.buffer.write(b)\n"
    async with Client(url, compression=None) as kept:
        for i in range(runs):
            if i % 2:
                async with Client(url, compression=None) as detached:
                    got = await _one(detached, child, True)
            else:
                got = await _one(kept, child, False)
            assert got == mib * MiB, got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--mib", type=int, default=60, help="MiB each run writes")
    parser.add_argument("serve", nargs="*", help="extra flags for ccstream-ws serve")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-budget-"))
    spools = root / "spools"
    spools.mkdir()
    port = _free_port()
    argv = [PY, "-m", "ccstream_ws.cli", "serve", "--port", str(port), "--max-executions", "2"]
    argv += ["--spool-quota", "64M", "--spool-dir", str(spools), *args.serve]
    log = root / "server.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, on_disk(spools))
                done.wait(0.005)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.perf_counter()
        asyncio.run(_runs(f"ws://127.0.0.1:{port}/ws", args.runs, args.mib))
        elapsed = time.perf_counter() - t0
        time.sleep(1.5)  # the server measures its spools every second
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            health = json.load(r)["spool"]
        print("spool directory:", sorted(p.name for p in spools.iterdir()))
        done.set()
        sampler.join()
    finally:
        os.kill(proc.pid, signal.SIGINT)
        proc.wait(15)
    evictions = log.read_text().count("evicted execution")
    print(f"{args.runs} runs of {args.mib} MiB in {elapsed:.1f} s")
    print("healthz spool:", json.dumps(health))
    print(f"peak on disk: {peak} bytes ({peak / MiB:.1f} MiB); evictions logged: {evictions}")


if __name__ == "__main__":
    main()
