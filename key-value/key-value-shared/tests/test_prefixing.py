"""Prefix joins are injective for any names and separators, and only their own spelling splits back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from key_value.shared.errors import InvalidArgumentError
from key_value.shared.prefixing import (
    DEFAULT_SEPARATOR,
    check_separator,
    escape_prefix,
    join_prefixed,
    split_prefixed,
)
from testing.ids import stable_id

names = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40)
#: Mostly the characters that make escaping interesting.
tricky = st.text(st.sampled_from("_:%aA5F→"), min_size=1, max_size=12)
separators = st.sampled_from([DEFAULT_SEPARATOR, "::", "_", "/", "→", "a", "x%", "::%"])


@given(names | tricky, names | tricky, separators)
def test_round_trip(prefix: str, name: str, separator: str) -> None:
    assert split_prefixed(join_prefixed(prefix, name, separator), separator) == (prefix, name)


@given(names | tricky, names | tricky, names | tricky, names | tricky, separators)
def test_injective(p1: str, n1: str, p2: str, n2: str, separator: str) -> None:
    if (p1, n1) != (p2, n2):
        assert join_prefixed(p1, n1, separator) != join_prefixed(p2, n2, separator)


@given(names | tricky, separators)
def test_escaped_prefix_never_holds_the_separator_start(prefix: str, separator: str) -> None:
    assert separator[0] not in escape_prefix(prefix, separator)


def test_plain_prefixes_stay_readable() -> None:
    assert join_prefixed("app", "key", DEFAULT_SEPARATOR) == "app__key"
    assert join_prefixed("my_app", "key", DEFAULT_SEPARATOR) == "my%5Fapp__key"
    assert join_prefixed("100%", "k", "::") == "100%25::k"


@pytest.mark.parametrize("joined", ["no-separator", "x%ZZ__k", "%5f__k", "%4__k", "%FF__k", "a_%5F__k"])
def test_foreign_strings_do_not_split(joined: str) -> None:
    assert split_prefixed(joined, DEFAULT_SEPARATOR) is None


@pytest.mark.parametrize("separator", ["", None, 1, "%", "%x", "0", "F:", "A"], ids=stable_id)
def test_bad_separator(separator: object) -> None:
    with pytest.raises(InvalidArgumentError):
        check_separator(separator)
