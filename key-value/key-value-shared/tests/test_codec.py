"""The value codec refuses what JSON would change, and decodes only what it wrote."""

from __future__ import annotations

import math
from typing import Any

import pytest

from key_value.shared.codec import decode_record, decode_value, encode_record, encode_value
from key_value.shared.errors import DeserializationError, SerializationError
from testing.ids import stable_id


@pytest.mark.parametrize(
    "value",
    [{}, {"a": 1}, {"nested": {"list": [1, 2.5, None, True, "x"]}}, {"u": "é✓🙂"}, {"big": 2**100}, {"neg": -0.0}],
)
def test_round_trip(value: dict[str, Any]) -> None:
    text = encode_value(value)
    assert text.isascii()
    assert decode_value(text) == value
    assert decode_value(text.encode()) == value


@pytest.mark.parametrize(
    "value",
    [{1: "a"}, {"t": (1, 2)}, {"n": math.nan}, {"i": -math.inf}, {"s": {1}}, {"b": b"x"}, {"x": 10**5000}],
    ids=["int-key", "tuple", "nan", "inf", "set", "bytes", "huge-int"],
)
def test_refused(value: Any) -> None:
    with pytest.raises(SerializationError):
        encode_value(value)


def test_circular_refused() -> None:
    value: dict[str, Any] = {}
    value["self"] = value
    with pytest.raises(SerializationError):
        encode_value(value)


@pytest.mark.parametrize("text", ["", "[1]", '{"a": 1} trailing', "{", "nul", b"\xff"], ids=stable_id)
def test_decode_rejects_garbage(text: str | bytes) -> None:
    with pytest.raises(DeserializationError):
        decode_value(text)


def test_record_round_trip() -> None:
    text = encode_record(encode_value({"v": 1}), 123.5, collection='c/"x', key="k\x00")
    record = decode_record(text)
    assert record == {"collection": 'c/"x', "key": "k\x00", "expires_at": 123.5, "value": {"v": 1}}
    assert decode_record(encode_record("{}", None))["expires_at"] is None


def test_record_shape_checked() -> None:
    with pytest.raises(DeserializationError):
        decode_record('{"expires_at": "soon", "value": {}}')
    with pytest.raises(DeserializationError):
        decode_record('{"expires_at": null, "value": []}')
