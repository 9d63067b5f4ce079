"""The command lines' sans-I/O pieces: the reconnection backoff, the default URL path, the
status of a refused command and the losses added up over several connections."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ccstream
from ccstream_ws import RPCError
from ccstream_ws.client._backoff import Backoff
from ccstream_ws.client._client import Completion, Loss
from ccstream_ws.client._exec import refusal_status
from ccstream_ws.client._terminal import all_losses
from ccstream_ws.client._url import ws_url
from ccstream_ws.protocol._codes import ErrorCode


def test_backoff_doubles_up_to_the_maximum_without_jitter() -> None:
    backoff = Backoff(within=100, attempts=8, initial=0.1, maximum=1.0, jitter=0.2)
    delays = [backoff.delay(0.0, rand=0.5) for _ in range(8)]
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0])
    assert backoff.delay(0.0) is None  # the attempts are spent


def test_backoff_stops_when_its_time_is_spent_and_never_waits_past_it() -> None:
    backoff = Backoff(within=1.0, attempts=100, initial=0.4, maximum=5.0)
    assert backoff.delay(10.0) == pytest.approx(0.4)
    assert backoff.delay(10.5) == pytest.approx(0.5)  # 0.8 asked, 0.5 left
    assert backoff.delay(11.0) is None
    assert backoff.elapsed(11.0) == pytest.approx(1.0)


def test_backoff_reset_starts_over() -> None:
    backoff = Backoff(within=10, attempts=2)
    assert backoff.delay(0.0) is not None
    assert backoff.delay(0.0) is not None
    assert backoff.delay(0.0) is None
    backoff.reset()
    assert backoff.tries == 0
    assert backoff.delay(50.0) == pytest.approx(0.1)


@given(
    within=st.floats(0.0, 100.0),
    attempts=st.integers(0, 50),
    rands=st.lists(st.floats(0.0, 1.0), max_size=60),
    step=st.floats(0.0, 3.0),
)
def test_backoff_delays_stay_within_the_jitter_the_attempts_and_the_time(
    within: float, attempts: int, rands: list[float], step: float
) -> None:
    backoff = Backoff(within=within, attempts=attempts, initial=0.1, maximum=5.0, jitter=0.2)
    now, given_out, waited = 0.0, 0, 0.0
    for rand in rands:
        delay = backoff.delay(now, rand)
        if delay is None:
            assert given_out >= attempts or now >= within
            break
        base = min(0.1 * 2**given_out, 5.0)
        assert 0 < delay <= base * 1.2 + 1e-9
        assert delay >= min(base * 0.8, within - now) - 1e-9
        given_out += 1
        waited = now + delay
        assert waited <= within + 1e-9
        now += step
    assert given_out <= attempts


def test_backoff_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="initial"):
        Backoff(within=1, attempts=1, initial=0)
    with pytest.raises(ValueError, match="jitter"):
        Backoff(within=1, attempts=1, jitter=1.0)


@pytest.mark.parametrize(
    ("given_url", "expected"),
    [
        ("ws://127.0.0.1:8765", "ws://127.0.0.1:8765/ws"),
        ("ws://127.0.0.1:8765/", "ws://127.0.0.1:8765/ws"),
        ("wss://example.com", "wss://example.com/ws"),
        ("ws://h:1?token=x", "ws://h:1/ws?token=x"),
        ("ws://h:1/ws/mcp", "ws://h:1/ws/mcp"),
        ("ws://h:1/ccstream/ws", "ws://h:1/ccstream/ws"),
        ("not a url", "not a url"),
    ],
)
def test_a_url_without_a_path_gets_ws(given_url: str, expected: str) -> None:
    assert ws_url(given_url) == expected


@pytest.mark.parametrize(
    ("code", "data", "message", "status"),
    [
        (ErrorCode.SPAWN_FAILED, {"reason": "not_found"}, "command not found: x", 127),
        (ErrorCode.SPAWN_FAILED, None, "command not found: x", 127),  # a server without data
        (ErrorCode.SPAWN_FAILED, {"reason": "not_executable"}, "cannot execute x", 126),
        (ErrorCode.SPAWN_FAILED, {"reason": "cwd_not_found"}, "no such directory", 126),
        (ErrorCode.COMMAND_NOT_ALLOWED, None, "shell strings are disabled", 126),
        (ErrorCode.INVALID_PARAMS, None, "bad", 2),
    ],
)
def test_a_refused_command_exits_like_a_shell(
    code: int, data: object, message: str, status: int
) -> None:
    assert refusal_status(RPCError(code, message, data)) == status


def test_losses_add_up_the_gaps_of_every_connection() -> None:
    first = ccstream.Gap("stdout", 10, 5, 1, "quota")
    second = ccstream.Gap("stdout", 40, 7, 2, "quota")
    err = ccstream.Gap("stderr", 0, 3, 0, "disk_error")
    completion = Completion(
        "completed",
        0,
        "exited",
        1.0,
        gaps=(second,),  # the last connection's only
        losses=(
            Loss("stdout", "quota", 7, 2, 1),
            Loss("stdout", "not_sent", 4, None, 0, "gone"),
        ),
    )
    assert all_losses(completion, [first, err, second]) == (
        Loss("stdout", "quota", 12, 3, 2),
        Loss("stdout", "not_sent", 4, None, 0, "gone"),
        Loss("stderr", "disk_error", 3, 0, 1),
    )
    assert all_losses(None, []) == ()
