"""The argument checks every constructor of the core shares."""

from __future__ import annotations

import math

import pytest

from ccstream._check import check_int, check_number, is_int, is_number
from ccstream.exceptions import InvalidOption


@pytest.mark.parametrize(
    ("value", "expected"), [(0, True), (-3, True), (True, False), (1.0, False)]
)
def test_an_int_is_never_a_bool(value: object, expected: bool) -> None:
    assert is_int(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, True), (0.5, True), (False, False), (math.inf, False), (math.nan, False), ("1", False)],
)
def test_a_number_is_finite_and_never_a_bool(value: object, expected: bool) -> None:
    assert is_number(value) is expected


def test_check_int_names_the_argument_the_rule_and_the_value() -> None:
    check_int("size", 5, minimum=1, maximum=5)
    check_int("size", None, optional=True)
    with pytest.raises(InvalidOption, match=r"size must be an integer >= 1, got 0"):
        check_int("size", 0, minimum=1)
    with pytest.raises(InvalidOption, match=r"level must be an integer from 0 to 9, got 10"):
        check_int("level", 10, maximum=9)
    with pytest.raises(InvalidOption, match="got True"):
        check_int("size", True)
    with pytest.raises(InvalidOption):
        check_int("size", None)


def test_check_number_bounds() -> None:
    check_number("coalesce", 0.0, maximum=1.0)
    check_number("timeout", None, positive=True, optional=True)
    with pytest.raises(InvalidOption, match="timeout must be a positive number, got 0"):
        check_number("timeout", 0, positive=True)
    with pytest.raises(InvalidOption, match="coalesce must be between 0 and 1, got 2"):
        check_number("coalesce", 2, maximum=1.0)
    with pytest.raises(InvalidOption, match="got inf"):
        check_number("x", math.inf)
