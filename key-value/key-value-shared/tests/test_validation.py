"""Explicit checks accept exactly what the protocol allows."""

from __future__ import annotations

import decimal
import fractions
import math
from typing import Any

import pytest

from key_value.shared.errors import InvalidArgumentError, InvalidKeyError, InvalidTTLError
from key_value.shared.validation import check_key, check_keys, check_limit, check_same_length, check_ttl
from testing.ids import stable_id


@pytest.mark.parametrize(
    ("ttl", "seconds"),
    [(None, None), (1, 1.0), (0.2, 0.2), (decimal.Decimal("1.5"), 1.5), (fractions.Fraction(1, 4), 0.25)],
)
def test_ttl_accepted(ttl: Any, seconds: float | None) -> None:
    assert check_ttl(ttl) == seconds


@pytest.mark.parametrize(
    "ttl", [True, 0, -1, math.nan, math.inf, "1", b"1", object(), decimal.Decimal("NaN")], ids=stable_id
)
def test_ttl_refused(ttl: Any) -> None:
    with pytest.raises(InvalidTTLError):
        check_ttl(ttl)


def test_keys() -> None:
    assert check_key("é") == "é"
    assert check_keys(("a", "b")) == ["a", "b"]
    for bad in ["", "\udc80", 3, None]:
        with pytest.raises(InvalidKeyError):
            check_key(bad)
    with pytest.raises(InvalidKeyError):
        check_keys("ab")
    with pytest.raises(InvalidKeyError):
        check_keys({"a", "b"})


def test_limit_and_lengths() -> None:
    assert check_limit(None) is None
    assert check_limit(0) == 0
    for bad in [-1, True, 1.0]:
        with pytest.raises(InvalidArgumentError):
            check_limit(bad)
    with pytest.raises(InvalidArgumentError):
        check_same_length(["a"], [])
    with pytest.raises(InvalidArgumentError):
        check_same_length(["a"], {"a": 1})  # type: ignore[arg-type]
