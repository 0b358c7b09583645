"""AsyncKVMapping's value codecs on every kind of store: what `json`, `text` and `pickle` store, readers
of another codec refused, envelope-shaped user dicts, pickle values not live, and bad input writing nothing."""

# ruff: noqa: PT012 - a call under pytest.raises also reads the sync twin's views

from __future__ import annotations

import base64
import datetime
import pickle
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, cast

import pytest

from key_value.aio.errors import (
    CodecMismatchError,
    DeserializationError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    SerializationError,
    UnsupportedOperationError,
)
from key_value.aio.mapping import PAGE, AsyncKVMapping, LiveDict, LiveList
from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.shared.value_codecs import PICKLE_CODEC, CodecName


@dataclass(frozen=True)
class Point:
    """A custom class: only the pickle codec can store its instances."""

    x: int
    y: int


class Name(str):
    """A str subclass: not the exact name string of a codec."""

    __slots__ = ()


WHEN = datetime.datetime(2024, 5, 17, 12, 30, tzinfo=datetime.timezone.utc)

PICKLED: list[Any] = [
    "text",
    "",
    7,
    1.5,
    None,
    [1, (2, 3)],
    {"a": {1, 2}, 3: b"bytes"},
    {"__value__": 1},
    {"__value__": 1, "__codec__": "pickle"},
    {1, 2},
    WHEN,
    Point(1, 2),
]


def unpickled(stored: Any) -> Any:
    """The value a pickle envelope holds, read from the stored data itself."""
    assert isinstance(stored, dict)
    envelope = cast("dict[str, Any]", stored)
    assert set(envelope) == {"__value__", "__codec__"}
    assert envelope["__codec__"] == "pickle"
    return pickle.loads(base64.b64decode(envelope["__value__"]))  # data this test wrote


async def stored_count(kv: AsyncKeyValue, collection: str) -> int:
    """How many entries `collection` holds (one listing, nothing decoded)."""
    return await AsyncKVMapping(kv, collection).len()


@pytest.mark.parametrize("value", PICKLED, ids=repr)
async def test_pickle_round_trip_and_stored_envelope(kv: AsyncKeyValue, value: Any) -> None:
    m = AsyncKVMapping(kv, "m", codec="pickle")
    assert m.codec == "pickle"
    await m.set("k", value)
    read = await m.get("k")
    assert read == value
    assert type(read) is type(value)
    assert await m.get_item("k") == value
    assert unpickled(await kv.get("k", collection="m")) == value


@pytest.mark.parametrize("value", ["hello", "", "ü/✓ %2F", '{"__value__": 1}'])
async def test_text_round_trip_and_stored_envelope(kv: AsyncKeyValue, value: str) -> None:
    m = AsyncKVMapping(kv, "m", codec="text")
    assert m.codec == "text"
    await m.set("k", value)
    assert await m.get("k") == value
    assert await kv.get("k", collection="m") == {"__value__": value, "__codec__": "text"}


async def test_json_is_the_default_and_stores_as_before(kv: AsyncKeyValue) -> None:
    m = AsyncKVMapping(kv, "m")
    assert m.codec == "json"
    assert AsyncKVMapping(kv, "m", codec="json").codec == "json"
    await m.update({"d": {"a": [1]}, "n": 3, "s": "x"})
    assert await kv.get("d", collection="m") == {"a": [1]}
    assert await kv.get("n", collection="m") == {"__value__": 3}
    assert await kv.get("s", collection="m") == {"__value__": "x"}


@pytest.mark.parametrize(
    ("value", "enveloped"),
    [
        ({"__value__": 1}, True),
        ({"__value__": 1, "__codec__": "pickle"}, True),
        ({"__value__": "gAWVBQAAAAAAAABLAS4=", "__codec__": "pickle"}, True),
        ({"__value__": 1, "__codec__": "json"}, True),
        ({"__codec__": "pickle"}, False),
        ({"__value__": 1, "__codec__": "pickle", "other": 2}, False),
        ({"__value__": 1, "other": 2}, False),
    ],
)
async def test_json_user_dicts_shaped_like_envelopes(kv: AsyncKeyValue, value: dict[str, Any], enveloped: bool) -> None:
    m = AsyncKVMapping(kv, "m")
    await m.set("k", value)
    assert await kv.get("k", collection="m") == ({"__value__": value} if enveloped else value)
    assert await m.get("k") == value
    assert await m.copy() == {"k": value}
    with pytest.raises(CodecMismatchError):
        await AsyncKVMapping(kv, "m", codec="pickle").get("k")


@pytest.mark.parametrize(
    ("writer", "reader"),
    [
        ("pickle", "json"),
        ("json", "pickle"),
        ("text", "pickle"),
        ("pickle", "text"),
        ("json", "text"),
        ("text", "json"),
    ],
)
async def test_a_reader_of_another_codec_is_refused(kv: AsyncKeyValue, writer: CodecName, reader: CodecName) -> None:
    await AsyncKVMapping(kv, "m", codec=writer).set("k", "v")
    stored = await kv.get("k", collection="m")
    wrong = AsyncKVMapping(kv, "m", codec=reader)
    calls = [
        lambda: wrong.get("k"),
        lambda: wrong.get_item("k"),
        lambda: wrong.pop("k"),
        lambda: wrong.pop("k", None),
        wrong.popitem,
        lambda: wrong.setdefault("k", "other"),
        wrong.copy,
        wrong.values,
        wrong.items,
        lambda: wrong.transform("k", lambda v: v + "!"),
    ]
    for call in calls:
        with pytest.raises(CodecMismatchError) as caught:
            outcome = await call()
            list(outcome)  # the sync twin's values() and items() are views: reading starts here
        assert isinstance(caught.value, DeserializationError)
        assert "'k'" in str(caught.value)
        assert repr(writer) in str(caught.value)
        assert caught.value.extra_info == {"key": "k", "codec": writer}
    assert await wrong.contains("k")
    assert await wrong.len() == 1
    assert await kv.get("k", collection="m") == stored  # nothing deleted, nothing written
    assert await AsyncKVMapping(kv, "m", codec=writer).get("k") == "v"


async def test_an_unknown_recorded_codec_is_refused(kv: AsyncKeyValue) -> None:
    await kv.put("k", {"__value__": "x", "__codec__": "yaml"}, collection="m")
    for codec in ("json", "text", "pickle"):
        with pytest.raises(CodecMismatchError, match="yaml"):
            await AsyncKVMapping(kv, "m", codec=codec).get("k")


@pytest.mark.parametrize(
    "codec", ["yaml", "PICKLE", " pickle", "", b"pickle", None, PICKLE_CODEC, Name("pickle"), pickle]
)
async def test_codec_is_only_taken_by_its_exact_name(kv: AsyncKeyValue, codec: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        AsyncKVMapping(kv, "m", codec=codec)
    with pytest.raises(InvalidArgumentError):
        await AsyncKVMapping.fromkeys(kv, ["a"], "v", collection="m", codec=codec)
    assert await stored_count(kv, "m") == 0


async def test_pickle_values_are_not_live(kv: AsyncKeyValue) -> None:
    m = AsyncKVMapping(kv, "m", codec="pickle")
    await m.set("k", {"a": [1], "s": {1}})
    for read in (await m.get("k"), await m.get_item("k"), await m.setdefault("k", None), (await m.copy())["k"]):
        assert type(read) is dict
        value = cast("dict[str, Any]", read)
        assert not isinstance(value, LiveDict)
        assert not isinstance(value["a"], LiveList)
        cast("list[int]", value["a"]).append(2)
        cast("set[int]", value["s"]).add(2)
        value["new"] = 1
    for read in await m.values():
        assert type(read) is dict
        cast("list[int]", cast("dict[str, Any]", read)["a"]).append(3)
    for key, read in await m.items():
        assert key == "k"
        assert type(read) is dict
        cast("list[int]", cast("dict[str, Any]", read)["a"]).append(4)
    assert await m.get("k") == {"a": [1], "s": {1}}  # a change to a pickle value does not persist
    assert unpickled(await kv.get("k", collection="m")) == {"a": [1], "s": {1}}


async def test_edit_is_refused_and_transform_changes_pickle_and_text_values(kv: AsyncKeyValue) -> None:
    pickled = AsyncKVMapping(kv, "m", codec="pickle")
    await pickled.set("cfg", {"a": 1})
    with pytest.raises(UnsupportedOperationError, match="transform"):
        pickled.edit("cfg")
    with pytest.raises(UnsupportedOperationError):
        AsyncKVMapping(kv, "t", codec="text").edit("k", default="")
    assert await pickled.transform("tags", lambda tags: tags | {"x"}, default=frozenset()) == frozenset({"x"})
    assert await pickled.transform("tags", lambda tags: tags | {"y"}) == frozenset({"x", "y"})
    assert unpickled(await kv.get("tags", collection="m")) == frozenset({"x", "y"})
    assert await pickled.transform("when", lambda when: when + datetime.timedelta(days=1), default=WHEN) == (
        WHEN + datetime.timedelta(days=1)
    )
    assert unpickled(await kv.get("when", collection="m")) == WHEN + datetime.timedelta(days=1)
    text = AsyncKVMapping(kv, "t", codec="text")
    assert await text.transform("k", lambda old: old + "!", default="hi") == "hi!"
    assert await text.transform("k", lambda old: old + "?") == "hi!?"
    assert await kv.get("k", collection="t") == {"__value__": "hi!?", "__codec__": "text"}


async def test_dict_methods_with_pickle(kv: AsyncKeyValue) -> None:
    m = AsyncKVMapping(kv, "m", codec="pickle")
    values: dict[Any, Any] = {"a": {1}, "b": Point(0, 1), ("c", "d"): WHEN, ("c", "e"): [Point(2, 3)]}
    await m.update(values)
    assert await m.copy() == values
    assert list(await m.values()) == [{1}, Point(0, 1), WHEN, [Point(2, 3)]]
    assert list(await m.items()) == list(values.items())
    assert unpickled(await kv.get("c/d", collection="m")) == WHEN

    sub = m.subview("c")
    assert sub.codec == "pickle"
    assert await sub.copy() == {"d": WHEN, "e": [Point(2, 3)]}
    await sub.set("f", {2})
    assert unpickled(await kv.get("c/f", collection="m")) == {2}

    assert await m.setdefault("a", {9}) == {1}
    default = Point(5, 5)
    assert await m.setdefault("z", default) == default
    assert unpickled(await kv.get("z", collection="m")) == default

    counts = await m.setdefault("counts", defaultdict(int))  # the value itself, not a plain copy
    assert type(counts) is defaultdict
    tally = await m.transform("tally", lambda old: old + Counter("ab"), default=Counter())
    assert type(tally) is Counter
    assert unpickled(await kv.get("tally", collection="m")) == Counter("ab")
    await m.delete("counts")
    await m.delete("tally")

    assert await m.popitem() == ("a", {1})
    assert await kv.get("a", collection="m") is None
    assert await m.pop("b") == Point(0, 1)
    assert await m.pop("b", "gone") == "gone"
    assert await m.copy() == {("c", "d"): WHEN, ("c", "e"): [Point(2, 3)], ("c", "f"): {2}, "z": default}

    other = AsyncKVMapping(kv, "other", codec="pickle")
    await other.update(m)  # another pickle mapping: its decoded values
    assert await other.copy() == await m.copy()
    with pytest.raises(SerializationError):
        await AsyncKVMapping(kv, "json").update(m)  # a json mapping cannot hold sets and Points
    assert await stored_count(kv, "json") == 0


async def test_fromkeys_with_pickle(kv: AsyncKeyValue) -> None:
    m = await AsyncKVMapping.fromkeys(kv, ["x", ("y", "z")], {Point(1, 1)}, collection="f", codec="pickle")
    assert m.codec == "pickle"
    assert await m.copy() == {"x": {Point(1, 1)}, ("y", "z"): {Point(1, 1)}}
    assert unpickled(await kv.get("y/z", collection="f")) == {Point(1, 1)}
    with pytest.raises(CodecMismatchError):
        await AsyncKVMapping(kv, "f").get("x")


async def test_value_type_applies_to_the_decoded_value(kv: AsyncKeyValue) -> None:
    typed = AsyncKVMapping(kv, "m", codec="pickle", value_type=set)
    await typed.set("ok", {1})
    with pytest.raises(InvalidArgumentTypeError):
        await typed.set("bad", [1])
    await AsyncKVMapping(kv, "m", codec="pickle").set("foreign", [1])
    with pytest.raises(DeserializationError) as caught:
        await typed.get("foreign")
    assert not isinstance(caught.value, CodecMismatchError)
    assert await typed.get("ok") == {1}
    assert typed.subview("x").codec == "pickle"


BAD: list[tuple[CodecName, Any]] = [
    ("text", 1),
    ("text", b"bytes"),
    ("text", None),
    ("text", ["a"]),
    ("pickle", lambda: None),
    ("pickle", threading.Lock()),
    ("pickle", (n for n in range(3))),
    ("pickle", {"ok": 1, "bad": threading.Lock()}),
]


@pytest.mark.parametrize(("codec", "value"), BAD, ids=[f"{codec}-{type(value).__name__}" for codec, value in BAD])
async def test_bad_values_write_nothing(kv: AsyncKeyValue, codec: CodecName, value: Any) -> None:
    m = AsyncKVMapping(kv, "m", codec=codec)
    good = "fine"
    with pytest.raises(SerializationError):
        await m.set("k", value)
    with pytest.raises(SerializationError):
        await m.setdefault("k", value)
    with pytest.raises(SerializationError):
        await m.update([("a", good), ("b", value)])
    with pytest.raises(SerializationError):
        await m.update({f"k{n:04}": good for n in range(PAGE + 5)} | {"zz": value})  # all checked before page one
    with pytest.raises(SerializationError):
        await AsyncKVMapping.fromkeys(kv, ["a", "b"], value, collection="m", codec=codec)
    with pytest.raises(SerializationError):
        await m.transform("t", lambda _: value, default=good)
    assert await stored_count(kv, "m") == 0


async def test_repr_names_a_codec_other_than_json(kv: AsyncKeyValue) -> None:
    assert "codec='pickle'" in repr(AsyncKVMapping(kv, "m", codec="pickle"))
    assert "codec" not in repr(AsyncKVMapping(kv, "m"))
