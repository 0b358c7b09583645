"""The value codec refuses what JSON would change, and decodes only what it wrote."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from key_value.shared.codec import decode_value, encode_value
from key_value.shared.errors import DeserializationError, SerializationError
from key_value.shared.records import decode_record, encode_record
from key_value.shared.snapshot import freeze_value, thaw_value
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


# -- in-memory snapshots (freeze_value / thaw_value) ---------------------------------------------------


def _same(left: Any, right: Any) -> bool:
    """Equal and of exactly the same types all the way down (-0.0 and 0.0 differ, 1 and True differ)."""
    if left.__class__ is not right.__class__:
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(_same(left[k], right[k]) for k in left)  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
    if isinstance(left, list):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right, strict=True))  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
    if isinstance(left, float):
        return repr(left) == repr(right)
    return bool(left == right)


class _Str(str):
    __slots__ = ()


class _Int(int):
    pass


class _Dict(dict[str, Any]):
    pass


_json_leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
_leaves = _json_leaves | st.tuples(st.integers()) | st.builds(_Str, st.text()) | st.builds(_Int, st.integers())
_keys = st.text() | st.integers() | st.builds(_Str, st.text())
_values = st.recursive(
    _leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=6))
def test_freeze_agrees_with_the_codec(value: dict[Any, Any]) -> None:
    """A frozen value thaws to exactly what JSON gives back; whatever freeze declines, the codec decides."""
    frozen = freeze_value(value)
    if frozen is None:
        return
    thawed = thaw_value(*frozen)
    assert _same(thawed, decode_value(encode_value(value)))
    assert _same(thawed, value)


_exact_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(), _exact_json, max_size=6))
def test_freeze_takes_every_exact_json_value(value: dict[str, Any]) -> None:
    """Freeze declines only what JSON would change: a value built of exact JSON types is always frozen."""
    frozen = freeze_value(value)
    assert frozen is not None
    assert _same(thaw_value(*frozen), value)


@pytest.mark.parametrize(
    "value",
    [
        {1: "a"},
        {"k": {1: "a"}},
        {_Str("k"): 1},
        {"t": (1, 2)},
        {"n": math.nan},
        {"i": [math.inf]},
        {"s": _Str("x")},
        {"b": [_Int(1)]},
        {"x": 10**5000},
        {"d": _Dict(a=1)},
        _Dict(a=1),
    ],
    ids=[
        "int-key",
        "nested-int-key",
        "str-subclass-key",
        "tuple",
        "nan",
        "inf-in-list",
        "str-subclass",
        "int-subclass-in-list",
        "huge-int",
        "dict-subclass-inside",
        "dict-subclass",
    ],
)
def test_freeze_declines_what_json_would_change(value: Any) -> None:
    assert freeze_value(value) is None


def test_freeze_declines_circular_and_deep_values() -> None:
    circular: dict[str, Any] = {}
    circular["self"] = circular
    assert freeze_value(circular) is None
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(5000):
        node["d"] = node = {}
    assert freeze_value(deep) is None


def test_thawed_copies_are_independent() -> None:
    value: dict[str, Any] = {"a": [1, {"b": [2]}], "c": {"d": {}}, "e": "f"}
    frozen = freeze_value(value)
    assert frozen is not None
    value["a"][1]["b"].append(3)  # the caller's value changes after the snapshot
    first = thaw_value(*frozen)
    assert first == {"a": [1, {"b": [2]}], "c": {"d": {}}, "e": "f"}
    first["a"][1]["b"].append(4)
    first["c"]["d"]["x"] = 1
    first["a"].append(5)
    assert thaw_value(*frozen) == {"a": [1, {"b": [2]}], "c": {"d": {}}, "e": "f"}
