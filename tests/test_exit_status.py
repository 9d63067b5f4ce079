"""The exit status table of both command lines, as a pure function, and the lines they print."""

from __future__ import annotations

import pytest

from ccstream._exit_status import describe_end, describe_loss, exit_status


@pytest.mark.parametrize(
    ("reason", "returncode", "lost", "status"),
    [
        ("exited", 0, False, 0),
        ("exited", 3, False, 3),
        ("exited", 0, True, 251),  # succeeded, but output was lost: a status of our own
        ("exited", 3, True, 3),  # a failure keeps its status; the loss is told on stderr
        ("signalled", -9, False, 137),
        ("signalled", -15, True, 143),
        ("timeout", 0, False, 124),  # trapped SIGTERM and exited 0: still a timeout
        ("timeout", -15, False, 124),
        ("timeout", 0, True, 124),
        ("idle_timeout", 0, False, 124),
        ("idle_timeout", -9, False, 124),
        ("spool_error", -15, True, 252),
        ("spool_error", 0, False, 252),
        ("memory_limit", -15, False, 253),
        ("memory_limit", 0, False, 253),
        ("cancelled", 0, False, 254),
        ("cancelled", -15, False, 254),
        ("internal_error", None, False, 255),  # the server could not say: the machinery failed
        ("exited", None, False, 255),
        ("node_lost", -9, False, 255),  # a reason this table does not know is never success
    ],
)
def test_exit_status_table(reason: str, returncode: int | None, lost: bool, status: int) -> None:
    assert exit_status(reason, returncode, lost=lost) == status


@pytest.mark.parametrize(
    ("reason", "returncode"),
    [
        ("timeout", 0),
        ("idle_timeout", 0),
        ("cancelled", 0),
        ("memory_limit", 0),
        ("spool_error", 0),
        ("internal_error", None),
    ],
)
def test_no_run_that_did_not_simply_exit_gets_status_0_or_goes_unexplained(
    reason: str, returncode: int | None
) -> None:
    assert exit_status(reason, returncode) != 0
    assert describe_end(reason, returncode) is not None


def test_the_end_lines_say_what_happened() -> None:
    assert describe_end("timeout", 0, timeout=1.0) == (
        "timed out after 1 s (the child exited 0 after SIGTERM)"
    )
    assert describe_end("idle_timeout", -9, idle_timeout=0.5) == (
        "idle timeout: no output for 0.5 s (the child was killed by SIGKILL)"
    )
    assert describe_end("spool_error", -15, error="No space left on device") == (
        "the run was stopped: its spool could not be written: No space left on device "
        "(the child was killed by SIGTERM)"
    )
    assert describe_end("exited", 3) is None  # the child's own status speaks for itself
    assert describe_end("signalled", -9) is None


def test_a_loss_line_has_the_stream_bytes_lines_and_why() -> None:
    line = describe_loss("stdout", 1000, 100, "quota", gaps=3)
    assert line == (
        "stdout: 1000 bytes (100 lines) lost in 3 gaps: dropped by the spool's disk quota "
        "before they were read"
    )
    assert describe_loss("stderr", 5, None, "not_sent", detail="reading failed") == (
        "stderr: 5 bytes (lines unknown) lost: the server did not send them: reading failed"
    )


def test_a_run_whose_server_node_was_lost_is_255_and_says_so() -> None:
    # ``node_lost``: another node of the cluster finalised it; nobody saw the child's exit.
    assert exit_status("node_lost", None) == 255
    assert exit_status("node_lost", None, lost=True) == 255
    assert describe_end("node_lost", None) == (
        "the server node that ran it was lost: how the child ended is not known"
    )
