"""What each way of keeping a run's processes from outliving it costs, and what it reaches.

    .venv/bin/python benchmarks/bench_process_lifetime.py [--extra 500] [--repeats 200]

1. The marker scan: one read of ``/proc/PID/environ`` per process of the machine, with the
   processes there are and with ``--extra`` more sleeping ones.
2. Spawning ``true`` with ``subprocess.Popen`` as ccstream does (vfork/posix_spawn), and with a
   ``preexec_fn`` setting PR_SET_PDEATHSIG (which forces a full fork): the parent-death
   signal's price on the spawn path, per run.
3. Which mechanism finds which escaped descendant: the process group, the child's psutil tree
   taken before the kill, the host's tree with the host a child subreaper, and the marker.
4. The watchdog: seconds from ``kill -9`` of a host running a process tree until none is left.

Linux only (prctl, /proc).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import statistics
import subprocess
import sys
import time

import psutil

from ccstream._lifetime import MARKER, descendants, find_marked

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)


def _median_us(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def scan_cost(extra: int, repeats: int) -> None:
    count = sum(1 for name in os.listdir("/proc") if name.isdigit())
    print(
        f"marker scan, {count} processes: {_median_us(lambda: find_marked('x.'), repeats):.0f} µs"
    )
    sleepers = [subprocess.Popen(["sleep", "300"]) for _ in range(extra)]
    try:
        count = sum(1 for name in os.listdir("/proc") if name.isdigit())
        cost = _median_us(lambda: find_marked("x."), repeats)
        print(f"marker scan, {count} processes: {cost:.0f} µs")
        tree = _median_us(lambda: psutil.Process().children(recursive=True), repeats)
        print(f"psutil children(recursive=True) of this process, {count} processes: {tree:.0f} µs")
        walk = _median_us(lambda: descendants(os.getpid()), repeats)
        print(f"/proc/PID/task/TID/children walk of the same {extra} children: {walk:.0f} µs")
    finally:
        for p in sleepers:
            p.kill()
        for p in sleepers:
            p.wait()


def _pdeathsig() -> None:
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def spawn_cost(repeats: int) -> None:
    def plain() -> None:
        subprocess.Popen(["true"], start_new_session=True, close_fds=True).wait()

    def with_pdeathsig() -> None:
        subprocess.Popen(
            ["true"], start_new_session=True, close_fds=True, preexec_fn=_pdeathsig
        ).wait()

    # Interleaved in blocks, medians of each.
    a, b = [], []
    for _ in range(10):
        a.append(_median_us(plain, repeats // 10))
        b.append(_median_us(with_pdeathsig, repeats // 10))
    ma, mb = statistics.median(a), statistics.median(b)
    rss = psutil.Process().memory_info().rss / 2**20
    print(
        f"spawn true (host RSS {rss:.0f} MiB): plain {ma:.0f} µs, with PDEATHSIG preexec_fn "
        f"{mb:.0f} µs ({mb / ma:.2f}x)"
    )


SCENARIOS = {
    "in group": "sleep 301 & echo $!; sleep 300",
    "setsid grandchild": "setsid sleep 301 & echo $!; sleep 300",
    "double fork (daemon)": "setsid sh -c 'sleep 301 & echo $!'; sleep 300",
    "double fork, env cleared": "setsid sh -c 'env -i sleep 301 & echo $!'; sleep 300",
}


def coverage() -> None:
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    print(f"{'escapee':28s} group  tree  subreaper-tree  marker")
    for name, script in SCENARIOS.items():
        env = {**os.environ, MARKER: "bench.1."}
        child = subprocess.Popen(
            ["sh", "-c", script], stdout=subprocess.PIPE, env=env, start_new_session=True
        )
        assert child.stdout is not None
        grandchild = int(child.stdout.readline())
        time.sleep(0.1)
        try:
            in_group = os.getpgid(grandchild) == child.pid
            in_tree = grandchild in {p.pid for p in psutil.Process(child.pid).children(True)}
            in_host_tree = grandchild in {p.pid for p in psutil.Process().children(True)}
            marked = grandchild in find_marked("bench.1.")
            print(
                f"{name:28s} {'yes' if in_group else 'no':5s}  {'yes' if in_tree else 'no':4s}"
                f"  {'yes' if in_host_tree else 'no':14s}  {'yes' if marked else 'no'}"
            )
        finally:
            os.killpg(child.pid, signal.SIGKILL)
            os.kill(grandchild, signal.SIGKILL)
            child.wait()
            # Re-parented to us by the subreaper: reap it.
            with contextlib.suppress(ChildProcessError):
                os.waitpid(grandchild, 0)
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


HOST = """
import anyio, ccstream, sys
async def main():
    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(ccstream.run, ["sh", "-c",
                "setsid sleep 333 & setsid sh -c 'sleep 333 & exit'; "
                "(trap '' TERM; while :; do :; done) & sleep 333"])
        await anyio.sleep(0.5)
        print("ready", flush=True)
        await anyio.sleep(60)
anyio.run(main)
"""


def watchdog_delay() -> None:
    host = subprocess.Popen([sys.executable, "-c", HOST], stdout=subprocess.PIPE)
    assert host.stdout is not None
    host.stdout.readline()
    prefix = f"{host.pid}."
    before = len(find_marked(prefix))
    t0 = time.monotonic()
    host.kill()
    host.wait()
    while find_marked(prefix) and time.monotonic() - t0 < 30:
        time.sleep(0.01)
    left = len(find_marked(prefix))
    print(
        f"kill -9 of a host with {before} run processes: {left} left after "
        f"{time.monotonic() - t0:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    scan_cost(args.extra, args.repeats)
    spawn_cost(args.repeats)
    coverage()
    watchdog_delay()


if __name__ == "__main__":
    main()
