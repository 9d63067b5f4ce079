"""PTY mode: the child runs on a pseudo-terminal, read through the same pump, limits and spool.

Real children only: Python scripts that report what they see, ``ls --color=auto``, ``stty``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sys

import anyio
import psutil
import pytest

import ccstream
from tests._helpers import collect, gone
from tests.conftest import PY

pytestmark = pytest.mark.anyio
MiB = 1024 * 1024
HOST = psutil.Process()

TTYS = "import os; print(os.isatty(0), os.isatty(1), os.isatty(2), flush=True)"


async def test_the_child_sees_a_terminal_on_stdout_and_stderr() -> None:
    data, _, result = await collect([PY, "-c", TTYS], ccstream.Options(pty=True))
    # stdin stays /dev/null; stdout and stderr are the terminal.
    assert data["stdout"] == b"False True True\n"
    assert data["stderr"] == b""
    assert result.ok


async def test_without_a_pty_the_child_sees_pipes() -> None:
    data, _, _ = await collect([PY, "-c", TTYS])
    assert data["stdout"] == b"False False False\n"


async def test_the_window_size_is_the_one_asked_for() -> None:
    code = "import os; s = os.get_terminal_size(); print(s.lines, s.columns)"
    data, _, _ = await collect([PY, "-c", code], ccstream.Options(pty=ccstream.Pty(33, 121)))
    assert data["stdout"] == b"33 121\n"


async def test_the_terminal_is_the_controlling_terminal() -> None:
    # /dev/tty opens only for a process with a controlling terminal.
    code = "open('/dev/tty', 'w').write('via tty\\n')"
    data, _, result = await collect([PY, "-c", code], ccstream.Options(pty=True))
    assert result.ok
    assert data["stdout"] == b"via tty\n"


@pytest.mark.skipif(shutil.which("ls") is None, reason="needs ls")
async def test_ls_color_auto_writes_colours_on_a_pty_and_none_on_a_pipe(
    tmp_path: os.PathLike[str],
) -> None:
    os.mkdir(os.path.join(tmp_path, "a-directory"))
    command = ["ls", "--color=auto", str(tmp_path)]
    env = {"LS_COLORS": "di=01;34"}
    on_pty, _, _ = await collect(command, ccstream.Options(pty=True, env=env))
    on_pipe, _, _ = await collect(command, ccstream.Options(env=env))
    assert b"\x1b[" in on_pty["stdout"]
    assert b"a-directory" in on_pty["stdout"]
    assert on_pipe["stdout"] == b"a-directory\n"


async def test_newlines_are_not_rewritten_by_the_terminal() -> None:
    data, _, _ = await collect(
        [PY, "-c", "import sys; sys.stdout.write('a\\nb\\r\\nc\\n')"], ccstream.Options(pty=True)
    )
    assert data["stdout"] == b"a\nb\r\nc\n"


async def test_stderr_merged_into_the_terminal_by_default() -> None:
    code = "import sys; print('out', flush=True); print('err', file=sys.stderr, flush=True)"
    data, _, result = await collect([PY, "-c", code], ccstream.Options(pty=True))
    assert data["stdout"] == b"out\nerr\n"
    assert data["stderr"] == b""
    assert result.stderr.bytes == 0


async def test_stderr_on_its_own_pipe_when_asked() -> None:
    code = (
        "import os, sys; print(os.isatty(1), os.isatty(2), flush=True); "
        "print('err', file=sys.stderr, flush=True)"
    )
    data, _, result = await collect(
        [PY, "-c", code], ccstream.Options(pty=ccstream.Pty(stderr="pipe"))
    )
    assert data["stdout"] == b"True False\n"
    assert data["stderr"] == b"err\n"
    assert result.stderr.bytes == 4


RESIZE = r"""
import os, signal, sys, time
# One write per line (unbuffered, print writes each argument): a SIGWINCH handled between two
# writes would put its line inside the other.
def winch(*_):
    s = os.get_terminal_size()
    sys.stdout.write(f"winch {s.lines} {s.columns}\n")
signal.signal(signal.SIGWINCH, winch)
s = os.get_terminal_size()
sys.stdout.write(f"start {s.lines} {s.columns}\n")
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    time.sleep(0.01)
"""


async def test_resize_reaches_the_child_as_sigwinch_with_the_new_size() -> None:
    seen = bytearray()
    async with ccstream.stream([PY, "-c", RESIZE], ccstream.Options(pty=True)) as run:
        async for event in run:
            if isinstance(event, ccstream.Output):
                seen += event.data
                if seen.endswith(b"\n") and b"winch" not in seen:
                    run.resize(50, 132)
                if b"winch" in seen and seen.endswith(b"\n"):
                    run.cancel()
    assert seen.startswith(b"start 24 80\n")
    assert b"winch 50 132\n" in seen
    run.resize(10, 10)  # once the run ended: nothing to do, no error


async def test_stty_size_before_and_after_a_resize() -> None:
    # stty reads the size of its stdin (here /dev/null): give it the terminal.
    script = (
        "stty size </dev/tty; "
        'while [ "$(stty size </dev/tty)" = "24 80" ]; do sleep 0.02; done; '
        "stty size </dev/tty"
    )
    options = ccstream.Options(pty=True, timeout=20)
    async with ccstream.stream(["sh", "-c", script], options) as run:
        out = bytearray()
        async for event in run:
            if isinstance(event, ccstream.Output):
                out += event.data
                if out == b"24 80\n":
                    run.resize(40, 100)
    assert out == b"24 80\n40 100\n"
    assert run.result.ok


async def test_resize_without_a_pty_is_a_usage_error() -> None:
    async with ccstream.stream(["true"]) as run:
        with pytest.raises(ccstream.UsageError, match="no terminal"):
            run.resize(24, 80)
        await run.wait()


@pytest.mark.parametrize("size", [(0, 80), (24, 0), (70000, 80), (True, 80), (24.0, 80)])
async def test_resize_refuses_a_bad_size(size: tuple[object, object]) -> None:
    async with ccstream.stream([PY, "-c", "pass"], ccstream.Options(pty=True)) as run:
        with pytest.raises(ccstream.InvalidOption):
            run.resize(*size)  # type: ignore[arg-type]
        await run.wait()


@pytest.mark.parametrize(
    "kwargs",
    [{"rows": 0}, {"cols": 65536}, {"rows": "24"}, {"stderr": "both"}, {"term": ""}],
)
def test_pty_refuses_bad_options(kwargs: dict[str, object]) -> None:
    with pytest.raises(ccstream.InvalidOption):
        ccstream.Pty(**kwargs)  # type: ignore[arg-type]


def test_pty_true_is_a_24_by_80_terminal_and_false_none() -> None:
    assert ccstream.Options(pty=True).pty == ccstream.Pty(24, 80)
    assert ccstream.Options(pty=False).pty is None
    with pytest.raises(ccstream.InvalidOption):
        ccstream.Options(pty="yes")  # type: ignore[arg-type]


async def test_48_mib_through_a_pty_byte_exact_in_flat_memory(
    tmp_path: os.PathLike[str],
) -> None:
    size = 48 * MiB
    # Every byte value except none: the terminal must pass binary output as it is.
    code = (
        "import sys\n"
        "block = bytes(range(256)) * 256\n"
        f"left = {size}\n"
        "while left:\n"
        "    n = sys.stdout.buffer.write(block[:left]); left -= n\n"
    )
    expected = hashlib.sha256()
    block = bytes(range(256)) * 256
    left = size
    while left:
        expected.update(block[:left])
        left -= len(block[:left])
    got = hashlib.sha256()
    received = 0
    start = peak = HOST.memory_info().rss
    frames = 0
    options = ccstream.Options(pty=True, spool=ccstream.SpoolOptions(directory=tmp_path))
    async with ccstream.stream([PY, "-c", code], options) as run:
        async for event in run:
            if isinstance(event, ccstream.Output):
                assert len(event.data) <= 64 * 1024
                got.update(event.data)
                received += len(event.data)
                frames += 1
                if frames % 64 == 0:
                    peak = max(peak, HOST.memory_info().rss)
        page = await run.spool.read("stdout", size - 256, 256)
    assert run.result.ok
    assert received == size == run.result.stdout.bytes
    assert got.hexdigest() == expected.hexdigest()
    assert page == bytes(range(256))
    assert peak - start < 16 * MiB, f"host RSS grew by {(peak - start) / MiB:.1f} MiB"


async def test_a_child_that_closes_the_terminal_early_ends_the_output_not_the_run() -> None:
    # The shell writes, closes its stdout and stderr (the only holders of the terminal), then
    # goes on: the output ends (EIO on the master), the run waits for the exit as usual.
    script = "echo before; exec >&- 2>&-; sleep 0.3; exit 3"
    data, _, result = await collect(["sh", "-c", script], ccstream.Options(pty=True))
    assert data["stdout"] == b"before\n"
    # The status of its exit, after the sleep: the run waited for it.
    assert result.exit_code == 3
    assert result.reason is ccstream.Reason.EXITED
    assert not result.lingering_killed


async def test_timeout_kills_the_pty_childs_whole_group() -> None:
    script = "trap '' TERM HUP; (trap '' TERM HUP; sleep 60) & echo $!; sleep 60"
    data, _, result = await collect(
        ["sh", "-c", script], ccstream.Options(pty=True, timeout=0.5, kill_grace=0.3)
    )
    grandchild = int(data["stdout"])
    assert result.reason is ccstream.Reason.TIMEOUT
    assert result.signal == signal.SIGKILL
    assert gone(grandchild)
    assert gone(result.pid)


async def test_cancel_kills_the_pty_child() -> None:
    async with ccstream.stream(
        ["sh", "-c", "echo up; sleep 60"], ccstream.Options(pty=True)
    ) as run:
        async for event in run:
            if isinstance(event, ccstream.Output):
                run.cancel()
    assert run.result.reason is ccstream.Reason.CANCELLED
    assert gone(run.result.pid)


async def test_idle_timeout_and_limits_apply_on_a_pty() -> None:
    with anyio.fail_after(10):
        _, _, result = await collect(
            ["sh", "-c", "echo hi; sleep 60"], ccstream.Options(pty=True, idle_timeout=0.3)
        )
    assert result.reason is ccstream.Reason.IDLE_TIMEOUT


async def test_pty_sets_term_when_the_environment_has_none() -> None:
    code = "import os; print(os.environ.get('TERM'))"
    env = {k: v for k, v in os.environ.items() if k != "TERM"}
    data, _, _ = await collect(
        [PY, "-c", code], ccstream.Options(pty=True, env=env, inherit_env=False)
    )
    assert data["stdout"] == b"xterm-256color\n"
    data, _, _ = await collect([PY, "-c", code], ccstream.Options(pty=True, env={"TERM": "vt100"}))
    assert data["stdout"] == b"vt100\n"


COLOUR_VARS = (
    "import os; print(os.environ.get('FORCE_COLOR'), os.environ.get('CLICOLOR_FORCE'), "
    "os.environ.get('TERM'))"
)


async def test_force_color_sets_the_colour_variables_without_a_pty() -> None:
    base = {k: v for k, v in os.environ.items() if k not in ("TERM", "FORCE_COLOR")}
    data, _, _ = await collect(
        [PY, "-c", COLOUR_VARS], ccstream.Options(force_color=True, env=base, inherit_env=False)
    )
    assert data["stdout"] == b"1 1 xterm-256color\n"
    # A TERM already set is kept; an explicit env entry wins over force_color.
    data, _, _ = await collect(
        [PY, "-c", COLOUR_VARS],
        ccstream.Options(force_color=True, env={"TERM": "screen", "FORCE_COLOR": "3"}),
    )
    assert data["stdout"] == b"3 1 screen\n"


async def test_without_force_color_no_colour_variable_is_added() -> None:
    base = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "CLICOLOR_FORCE")}
    data, _, _ = await collect(
        [PY, "-c", COLOUR_VARS], ccstream.Options(env=base, inherit_env=False)
    )
    assert data["stdout"].startswith(b"None None ")


def test_force_color_must_be_a_bool() -> None:
    with pytest.raises(ccstream.InvalidOption):
        ccstream.Options(force_color=1)  # type: ignore[arg-type]


@pytest.mark.skipif(sys.platform != "linux", reason="Linux's /proc")
async def test_the_terminal_is_closed_once_the_run_ended() -> None:
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        await collect([PY, "-c", "print(1)"], ccstream.Options(pty=True))
    assert len(os.listdir("/proc/self/fd")) <= before
