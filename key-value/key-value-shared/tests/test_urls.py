"""Store URLs: parsing, typed query options, and errors that never show a password."""

from __future__ import annotations

import pytest

from key_value.shared.errors import InvalidArgumentError
from key_value.shared.urls import merge_options, parse_store_url, redact_url, url_bool, url_seconds_or_none

SCHEMES = ("redis", "rediss")
SHAPE = "redis://host[:port][/db]"


def test_parts_are_decoded() -> None:
    url = parse_store_url("rediss://us%40er:p%3Ass@host.example:6380/3?a=1&b=", schemes=SCHEMES, shape=SHAPE)
    assert (url.scheme, url.host, url.port, url.path) == ("rediss", "host.example", 6380, "3")
    assert (url.username, url.password) == ("us@er", "p:ss")
    assert url.query == {"a": "1", "b": ""}
    assert "p%3Ass" not in repr(url)
    assert "p:ss" not in repr(url)


def test_defaults_are_none() -> None:
    url = parse_store_url("redis://", schemes=SCHEMES, shape=SHAPE)
    assert (url.host, url.port, url.username, url.password, url.path, url.query) == (None, None, None, None, "", {})


def test_take_options_types_and_removes_them() -> None:
    url = parse_store_url("redis://u:pw@h:1/0?cluster=TRUE&socket_timeout=5&n=3", schemes=SCHEMES, shape=SHAPE)
    taken, rest = url.take_options({"cluster": url_bool, "n": int, "absent": str})
    assert taken == {"cluster": True, "n": 3}
    assert rest.text == "redis://u:pw@h:1/0?socket_timeout=5"
    assert rest.query == {"socket_timeout": "5"}
    assert url.take_options({"x": str}) == ({}, url)
    with pytest.raises(InvalidArgumentError, match="unknown URL option"):
        rest.refuse_other_options()
    url.take_options({"cluster": url_bool, "n": int, "socket_timeout": float})[1].refuse_other_options()


@pytest.mark.parametrize(
    ("convert", "text", "expected"),
    [
        (url_bool, "Yes", True),
        (url_bool, "off", False),
        (url_bool, "0", False),
        (url_seconds_or_none, "NONE", None),
        (url_seconds_or_none, "2.5", 2.5),
        (int, "-4", -4),
    ],
)
def test_converters(convert: object, text: str, expected: object) -> None:
    url = parse_store_url(f"redis://h?o={text}", schemes=SCHEMES, shape=SHAPE)
    assert url.take_options({"o": convert})[0] == {"o": expected}  # pyright: ignore[reportArgumentType]


@pytest.mark.parametrize(
    ("convert", "kind"),
    [(url_bool, "true or false"), (int, "an integer"), (float, "a number"), (url_seconds_or_none, "seconds or none")],
)
def test_bad_option_value_names_option_and_kind(convert: object, kind: str) -> None:
    url = parse_store_url("redis://user:s3cret@h?o=maybe", schemes=SCHEMES, shape=SHAPE)
    with pytest.raises(InvalidArgumentError, match=f"o='maybe' must be .*{kind}") as info:
        url.take_options({"o": convert})  # pyright: ignore[reportArgumentType]
    assert "s3cret" not in str(info.value)
    assert "user:***@h" in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://user:s3cret@h/0",
        "redis://user:s3cret@h:port/0",
        "redis://user:s3cret@[::1/0",
        "redis://user:s3cret@h/0?a=1&a=2",
        "redis://user:s3cret@h/0?novalue",
    ],
)
def test_bad_urls_never_show_the_password(url: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        parse_store_url(url, schemes=SCHEMES, shape=SHAPE)
    assert "s3cret" not in str(info.value)
    assert SHAPE in str(info.value) or "twice" in str(info.value)


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(InvalidArgumentError, match=r"schemes: redis://, rediss://"):
        parse_store_url("valkey://h", schemes=SCHEMES, shape=SHAPE)
    with pytest.raises(InvalidArgumentError, match="must be a str"):
        parse_store_url(b"redis://h", schemes=SCHEMES, shape=SHAPE)


def test_redact_url() -> None:
    assert redact_url("redis://u:p@h:1/0?x=1") == "redis://u:***@h:1/0?x=1"
    assert redact_url("redis://:p@h") == "redis://:***@h"
    assert redact_url("redis://u@h") == "redis://u@h"
    assert redact_url("redis://h") == "redis://h"
    assert redact_url("redis://u:p@[::1") == "<unparsable URL>"


def test_merge_options_refuses_an_option_given_twice() -> None:
    url = parse_store_url("redis://u:s3cret@h", schemes=SCHEMES, shape=SHAPE)
    assert merge_options({"a": 1}, {"b": 2}, url) == {"a": 1, "b": 2}
    with pytest.raises(InvalidArgumentError, match="both in the URL and as keywords: a") as info:
        merge_options({"a": 1}, {"a": 2}, url)
    assert "s3cret" not in str(info.value)
