"""``ccstream run`` as a user types it: the installed ``ccstream`` entry point, real subprocesses.

Stdin passed through as it is, the command without ``--``, durations, the timeout's 124 and its
line, ``--version``, help for every flag, and quiet 141 when our reader goes away.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ccstream
from ccstream import cli

CCSTREAM = str(Path(sys.executable).with_name("ccstream"))
"""The console script pip installed for this environment."""

PY = sys.executable


def run(
    *args: str, stdin: int | bytes | None = subprocess.DEVNULL, timeout: float = 30
) -> subprocess.CompletedProcess[bytes]:
    if isinstance(stdin, bytes):
        return subprocess.run(
            [CCSTREAM, *args], input=stdin, capture_output=True, timeout=timeout, check=False
        )
    return subprocess.run(
        [CCSTREAM, *args], stdin=stdin, capture_output=True, timeout=timeout, check=False
    )


def test_the_entry_point_is_installed() -> None:
    assert os.access(CCSTREAM, os.X_OK), CCSTREAM


# -- stdin ----------------------------------------------------------------------------------


def test_stdin_reaches_the_child() -> None:
    done = run("run", "cat", stdin=b"hello\nworld\n")
    assert (done.returncode, done.stdout, done.stderr) == (0, b"hello\nworld\n", b"")


def test_stdin_is_the_same_open_file_so_its_offset_is_shared(tmp_path: Path) -> None:
    # As with ``timeout``: the child reads one line from the file we were given, and whoever
    # reads the file after us goes on from there (the shell's ``read`` seeks back past the line).
    data = tmp_path / "input"
    data.write_bytes(b"one\ntwo\nthree\n")
    done = subprocess.run(
        f"({CCSTREAM} run sh -c 'read a; echo got $a'; cat) < {data}",
        shell=True,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, b"got one\ntwo\nthree\n")


def test_a_terminal_on_stdin_stays_a_terminal_for_the_child() -> None:
    parent, child = os.openpty()
    try:
        done = run(
            "run",
            PY,
            "-c",
            "import sys; print(sys.stdin.isatty(), sys.stdout.isatty())",
            stdin=child,
        )
    finally:
        os.close(parent)
        os.close(child)
    # stdin is our terminal; stdout is our pipe to the test, relayed through ccstream's own.
    assert (done.returncode, done.stdout) == (0, b"True False\n")


def test_no_stdin_gives_the_child_dev_null() -> None:
    done = run("run", "--no-stdin", "cat", stdin=b"not for the child\n")
    assert (done.returncode, done.stdout) == (0, b"")


def test_a_closed_stdin_gives_the_child_dev_null() -> None:
    # Not whatever file ccstream opened first, which would take the free descriptor 0.
    done = subprocess.run(
        f"{CCSTREAM} run cat <&-", shell=True, capture_output=True, timeout=30, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


def test_a_closed_stdout_is_a_usage_error_not_lost_output() -> None:
    done = subprocess.run(
        f"{CCSTREAM} run echo hi >&-", shell=True, capture_output=True, timeout=30, check=False
    )
    assert done.returncode == 2
    assert done.stderr == b"ccstream: stdout is closed: the output would have nowhere to go\n"


def test_input_longer_than_a_pipe_reaches_the_child_whole() -> None:
    data = os.urandom(3 * 1024 * 1024)
    done = run("run", "cat", stdin=data)
    assert done.returncode == 0
    assert done.stdout == data


# -- the command without -- -------------------------------------------------------------------


def test_the_command_needs_no_double_dash(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    done = run("run", "ls", "-la", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert b"a-file" in done.stdout


def test_options_after_the_command_are_the_commands() -> None:
    # The first word that is not an option of ccstream starts the command: from there on,
    # even ccstream's own option names are arguments of the command.
    done = run("run", "--timeout", "30s", "echo", "--timeout", "5", "--stats", "-c")
    assert (done.returncode, done.stdout, done.stderr) == (0, b"--timeout 5 --stats -c\n", b"")


def test_a_double_dash_still_works_and_only_the_first_is_ours() -> None:
    done = run("run", "--", "echo", "--", "-x")
    assert (done.returncode, done.stdout) == (0, b"-- -x\n")


def test_an_unknown_option_before_the_command_is_a_usage_error() -> None:
    done = run("run", "--no-such-option", "true")
    assert done.returncode == 2
    assert b"unrecognized arguments: --no-such-option" in done.stderr


# -- durations and the timeout ---------------------------------------------------------------


def test_a_timeout_exits_124_with_a_line_on_stderr() -> None:
    t0 = time.monotonic()
    done = run("run", "--timeout", "300ms", "sleep", "30")
    assert time.monotonic() - t0 < 10
    assert done.returncode == 124
    assert done.stderr == b"ccstream: timed out after 0.3 s (the child was killed by SIGTERM)\n"


def test_an_idle_timeout_in_the_duration_syntax_exits_124() -> None:
    done = run("run", "--idle-timeout", "0m0.3s", "sh", "-c", "echo hi; sleep 30")
    assert (done.returncode, done.stdout) == (124, b"hi\n")
    assert b"ccstream: idle timeout: no output for 0.3 s" in done.stderr


@pytest.mark.parametrize("value", ["90", "1.5", "1m30s", "2h", "500ms", "1d"])
def test_every_duration_form_is_taken_by_every_duration_flag(value: str) -> None:
    for flag in ("--timeout", "--idle-timeout", "--kill-grace", "--rlimit-cpu"):
        done = run("run", flag, value, "true")
        assert (done.returncode, done.stderr) == (0, b""), (flag, value)


def test_the_cpu_limit_rounds_a_duration_up_to_whole_seconds() -> None:
    done = run("run", "--rlimit-cpu", "1500ms", "sh", "-c", "ulimit -t")
    assert (done.returncode, done.stdout) == (0, b"2\n")


# -- --version and help ----------------------------------------------------------------------


def test_version() -> None:
    done = run("--version")
    assert (done.returncode, done.stdout) == (0, f"ccstream {ccstream.__version__}\n".encode())


def _parsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(parser.prog, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _parsers(sub)
    return found


def test_every_flag_of_every_command_has_plain_text_help() -> None:
    for prog, parser in _parsers(cli._parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            name = action.option_strings or [action.dest]
            assert action.help, (prog, name)
            assert action.help != argparse.SUPPRESS, (prog, name)
            for markup in ("``", ":class:", ":mod:", ":func:", ":data:"):
                assert markup not in action.help, (prog, name, action.help)
        for text in (parser.description or "", parser.epilog or ""):
            assert "``" not in text, prog
            assert ":mod:" not in text, prog


@pytest.mark.parametrize("verb", ["run", "page", "tail", "follow", "prune"])
def test_help_of_each_command(verb: str) -> None:
    done = run(verb, "--help")
    assert done.returncode == 0
    assert done.stdout.startswith(b"usage: ccstream " + verb.encode())
    if verb == "run":
        assert b"exit status:" in done.stdout
        assert b"--timeout DURATION" in done.stdout


def test_top_level_help_lists_the_commands_and_the_duration_syntax() -> None:
    done = run("--help")
    assert done.returncode == 0
    for word in (b"run", b"page", b"tail", b"follow", b"prune", b"1m30s", b"--version"):
        assert word in done.stdout


# -- a broken pipe ---------------------------------------------------------------------------


def _piped(command: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        f"{command}; exit ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        timeout=30,
        check=False,
    )


def test_a_broken_pipe_is_quiet_and_exits_141() -> None:
    done = _piped(f"{CCSTREAM} run seq 100000000 | head -n 2")
    assert done.stdout == b"1\n2\n"
    assert done.stderr == b""
    assert done.returncode == 128 + signal.SIGPIPE


def test_a_broken_pipe_with_stats_gives_the_report_asked_for_and_nothing_else() -> None:
    done = _piped(f"{CCSTREAM} run --stats yes | head -c 4")
    assert (done.returncode, done.stdout) == (141, b"y\ny\n")
    keys = [line.split(b":")[1].strip() for line in done.stderr.splitlines()]
    assert keys == [
        b"status",
        b"stdout",
        b"stderr",
        b"duration",
        b"host RSS",
        b"child tree peak RSS",
    ], done.stderr


def test_reading_a_spool_into_a_closed_pipe_is_quiet_and_exits_141(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    made = run("run", "--spool", str(spool), "seq", "200000", stdin=subprocess.DEVNULL)
    assert made.returncode == 0
    for verb, first in [
        ("page --lines 100000", b"1\n"),
        ("tail -n 100000", b"100001\n"),
        ("follow", b"1\n"),
        ("tail -f -n 100000", b"100001\n"),
    ]:
        done = _piped(f"{CCSTREAM} {verb} {spool} | head -n 1")
        assert (done.returncode, done.stdout, done.stderr) == (141, first, b""), verb
