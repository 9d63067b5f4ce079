"""The duration syntax of the command lines (``ccstream._duration``), sans-I/O."""

from __future__ import annotations

import argparse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccstream._duration import DurationError, duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90.0),
        ("1.5", 1.5),
        (".5", 0.5),
        ("0", 0.0),
        ("500ms", 0.5),
        ("1m30s", 90.0),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("1h30m", 5400.0),
        ("1h0m5s250ms", 3605.25),
        ("2.5s", 2.5),
        ("1.5m", 90.0),
        (" 10S ", 10.0),
        ("1H30M", 5400.0),
    ],
)
def test_durations_in_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("-5", "negative"),
        ("-1m", "negative"),
        ("abc", "unexpected"),
        ("5x", "unexpected"),
        ("1m1h", "out of order"),
        ("1s1s", "out of order or repeated"),
        ("1ms1s", "out of order"),
        ("1 m", "unexpected"),
        ("m", "unexpected"),
        ("1e3", "unexpected"),
        ("inf", "unexpected"),
        ("nan", "unexpected"),
        ("9" * 400, "too large"),
    ],
)
def test_bad_durations_say_what_is_wrong_and_show_the_syntax(text: str, why: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    message = str(caught.value)
    assert why in message
    assert repr(text) in message
    assert "1m30s" in message  # the examples


def test_the_argparse_type_makes_a_bad_duration_a_usage_error() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--t", type=duration)
    assert parser.parse_args(["--t", "1m30s"]).t == 90.0
    with pytest.raises(argparse.ArgumentTypeError, match="not a duration"):
        duration("soon")


_parts = st.fixed_dictionaries(
    {},
    optional={
        unit: st.integers(min_value=0, max_value=10_000) for unit in ("d", "h", "m", "s", "ms")
    },
).filter(bool)
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}


@given(_parts)
def test_a_written_duration_parses_to_the_sum_of_its_parts(parts: dict[str, int]) -> None:
    order = ("d", "h", "m", "s", "ms")
    text = "".join(f"{parts[u]}{u}" for u in order if u in parts)
    expected = sum(parts[u] * _SECONDS[u] for u in parts)
    assert parse_duration(text) == pytest.approx(expected)


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False))
def test_a_bare_number_is_that_many_seconds(value: float) -> None:
    text = f"{value:.6f}"
    assert parse_duration(text) == float(text)
    assert parse_duration(f"{text}s") == float(text)


@given(st.text(max_size=20))
def test_any_text_parses_to_a_finite_non_negative_value_or_raises_duration_error(
    text: str,
) -> None:
    try:
        value = parse_duration(text)
    except DurationError:
        return
    assert value >= 0
    assert value < float("inf")
