"""The ``ccstream`` command line, run as a real subprocess."""

from __future__ import annotations

import re
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests._helpers import gone
from tests.conftest import LARGE_OUTPUT, PY


def ccstream(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ccstream", *args], capture_output=True, timeout=timeout
    )


def test_streams_both_pipes_and_exits_with_the_childs_code() -> None:
    done = ccstream("run", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert done.returncode == 3
    assert done.stdout == b"out\n"
    assert done.stderr == b"err\n"


def test_signal_death_exits_128_plus_n() -> None:
    done = ccstream("run", "--", "sh", "-c", "kill -TERM $$")
    assert done.returncode == 128 + signal.SIGTERM


def test_shell_string_and_stats_report() -> None:
    done = ccstream("run", "--stats", "-c", "printf 'a\\nb\\n'")
    assert done.returncode == 0
    assert done.stdout == b"a\nb\n"
    report = done.stderr.decode()
    assert "status: exit code 0, reason: exited" in report
    assert "stdout: 4 bytes, 2 lines" in report
    assert "MiB/s" in report
    assert "host RSS" in report
    assert "child tree peak RSS" in report


def test_seed_script_through_the_cli_reports_memory() -> None:
    done = ccstream("run", "--stats", "--", PY, LARGE_OUTPUT, "--lines", "50000", "--no-sleep")
    assert done.returncode == 0
    assert done.stdout.count(b"\n") == 50_000
    assert b"stdout: %d bytes, 50000 lines" % len(done.stdout) in done.stderr


TRAPS_SIGTERM = 'trap "exit 0" TERM; echo started; sleep 30 & wait'
"""A child that exits 0 when it gets SIGTERM (``wait`` lets the trap run at once)."""


def test_timeout_exits_124_and_says_so() -> None:
    done = ccstream("run", "--stats", "--timeout", "0.3", "--", "sleep", "30")
    assert done.returncode == 124
    assert b"reason: timeout" in done.stderr
    assert b"ccstream: timed out after 0.3 s (the child was killed by SIGTERM)\n" in done.stderr


def test_timeout_of_a_child_that_traps_sigterm_and_exits_0_still_exits_124() -> None:
    done = ccstream("run", "--timeout", "1", "--", "sh", "-c", TRAPS_SIGTERM)
    assert done.returncode == 124
    assert done.stdout == b"started\n"
    assert done.stderr == b"ccstream: timed out after 1 s (the child exited 0 after SIGTERM)\n"


def test_idle_timeout_of_a_child_that_traps_sigterm_exits_124() -> None:
    done = ccstream("run", "--idle-timeout", "0.5", "--", "sh", "-c", TRAPS_SIGTERM)
    assert done.returncode == 124
    assert done.stderr == (
        b"ccstream: idle timeout: no output for 0.5 s (the child exited 0 after SIGTERM)\n"
    )


def test_memory_limit_exits_253_and_says_so() -> None:
    grow = "import time; x = bytearray(256 << 20); x[::4096] = b'x' * (256 << 8); time.sleep(20)"
    done = ccstream("run", "--memory-limit", "64M", "--", PY, "-c", grow)
    assert done.returncode == 253
    assert b"ccstream: the child's process tree went over the memory limit (" in done.stderr


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["run", "--", "no-such-command-ccs"], 127, b"command not found"),
        (["run", "--", "/"], 126, b"not an executable"),
        (["run", "--cwd", "/no/such/dir", "--", "true"], 2, b"working directory"),
        (["run"], 2, b"give a command"),
        (["run", "--chunk-size", "8", "--", "true"], 2, b"chunk_size"),
        (["run", "--timeout", "x", "--", "true"], 2, b"not a duration: 'x'"),
        (["run", "--timeout", "-1", "--", "true"], 2, b"must not be negative"),
        (["run", "-c", "echo", "ls"], 2, b"not both"),
        (["prune", "--older-than", "a week"], 2, b"not a duration"),
    ],
)
def test_bad_input_is_a_clear_message_and_status(
    args: list[str], status: int, message: bytes
) -> None:
    done = ccstream(*args)
    assert done.returncode == status
    assert message in done.stderr


def test_broken_stdout_stops_the_child_quietly() -> None:
    # ``| head -c 10``: our reader goes away; the endless child must not run on, and nobody
    # needs to hear about it (the status, 141, says it).
    done = subprocess.run(
        f"{sys.executable} -m ccstream run -- yes | head -c 10",
        shell=True,
        capture_output=True,
        timeout=30,
    )
    assert done.stdout == b"y\ny\ny\ny\ny\n"
    assert done.stderr == b""


def test_broken_stdout_exits_141_as_a_writer_killed_by_sigpipe() -> None:
    done = subprocess.run(
        f"{sys.executable} -m ccstream run -- yes | head -c 10; exit ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        timeout=30,
    )
    assert done.returncode == 128 + signal.SIGPIPE


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_cli_kills_the_childs_group(sig: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccstream", "run", "--stats", "--", "sh", "-c", "echo $$; sleep 60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    child = int(proc.stdout.readline())
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert gone(child)
    assert proc.returncode == 128 + sig  # the signal that stopped us, as a shell reports it
    assert b"reason: cancelled" in err
    assert b"ccstream: the run was cancelled (the child was killed by SIGTERM)\n" in err


CCSTREAM_RUN = [sys.executable, "-m", "ccstream", "run"]
FLOOD = "import sys\nfor i in range(8): sys.stdout.buffer.write(b'%09d\\n' % i * 104857)\n"
"""8 MiB of numbered lines at once."""


def _run_on_a_full_disk(spool: str, policy: str) -> subprocess.CompletedProcess[bytes]:
    # RLIMIT_FSIZE: no file of ours may grow past 1 MiB, so the spool's writes fail as on a full
    # disk (Python ignores SIGXFSZ, so they get EFBIG); the child writes only to pipes.
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    return subprocess.run(
        [*CCSTREAM_RUN, "--spool", spool, "--on-disk-error", policy, "--", PY, "-c", FLOOD],
        capture_output=True,
        timeout=60,
        preexec_fn=limit,  # the test's own thread starts it
    )


def test_a_full_spool_disk_stops_the_run_with_252_and_says_so(tmp_path: Path) -> None:
    done = _run_on_a_full_disk(str(tmp_path / "spool"), "stop")
    assert done.returncode == 252
    assert re.search(
        rb"^ccstream: the run was stopped: its spool could not be written: .*File too large",
        done.stderr,
        re.MULTILINE,
    ), done.stderr


def test_a_full_spool_disk_with_continue_keeps_the_status_and_tells_what_the_spool_lacks(
    tmp_path: Path,
) -> None:
    done = _run_on_a_full_disk(str(tmp_path / "spool"), "continue")
    assert done.returncode == 0
    assert done.stdout == b"".join(b"%09d\n" % i * 104857 for i in range(8))
    lacks = re.search(
        rb"^ccstream: the spool lacks (\d+) bytes: .*File too large", done.stderr, re.M
    )
    assert lacks is not None, done.stderr
    assert 0 < int(lacks[1]) <= len(done.stdout)
