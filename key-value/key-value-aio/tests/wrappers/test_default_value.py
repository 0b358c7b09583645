"""DefaultValueWrapper: missing keys read as a fresh copy of the default; everything else passes through.

No contract run: the contract requires that a missing key reads as None (after a delete, an expiry, in
an empty collection), which is exactly what this wrapper exists to change, and no option turns that
off. Its own rules are tested here instead, and the segments, lifecycle and stacking in
test_wrapper_segments_and_stacks.py.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from key_value.aio.protocols.key_value import AsyncEnumerateKeysProtocol
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.wrappers.default_value import DefaultValueWrapper
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError, InvalidTTLError, SerializationError
from testing.ids import stable_id

DEFAULT: dict[str, Any] = {"status": "unknown", "tags": ["a"], "nested": {"n": 1}}


async def test_missing_keys_read_as_the_default() -> None:
    inner = MemoryStore()
    store = DefaultValueWrapper(inner, DEFAULT, default_ttl=60)
    await store.put("present", {"v": 1}, ttl=30)
    assert await store.get("absent") == DEFAULT
    assert await store.get("present") == {"v": 1}
    assert await store.get_many(["absent", "present", "other"]) == [DEFAULT, {"v": 1}, DEFAULT]
    assert await store.ttl("absent") == (DEFAULT, 60.0)
    value, remaining = await store.ttl("present")
    assert value == {"v": 1}
    assert remaining is not None
    assert 29 < remaining <= 30
    results = await store.ttl_many(["absent", "present"])
    assert results[0] == (DEFAULT, 60.0)
    assert results[1][0] == {"v": 1}


async def test_default_is_never_stored() -> None:
    inner = MemoryStore()
    store = DefaultValueWrapper(inner, DEFAULT)
    await store.get("absent")
    await store.get_many(["a", "b"])
    await store.ttl("absent")
    assert await inner.get("absent") is None
    assert await inner.collections() == []
    assert isinstance(store, AsyncEnumerateKeysProtocol)
    assert await store.keys() == []


async def test_each_default_is_a_fresh_copy() -> None:
    source: dict[str, Any] = {"tags": ["a"], "nested": {"n": 1}}
    store = DefaultValueWrapper(MemoryStore(), source)
    source["tags"].append("changed-after-construction")
    first = await store.get("x")
    assert first == {"tags": ["a"], "nested": {"n": 1}}
    first["tags"].append("mutated")
    first["nested"]["n"] = 2
    assert await store.get("x") == {"tags": ["a"], "nested": {"n": 1}}
    one, two = await store.get_many(["x", "y"])
    assert one is not None
    assert two is not None
    assert one is not two
    assert one["tags"] is not two["tags"]
    (from_ttl, _), (other, _) = await store.ttl_many(["x", "y"])
    assert from_ttl is not other


async def test_default_ttl_none_reports_no_expiry() -> None:
    store = DefaultValueWrapper(MemoryStore(), {"d": 1})
    assert await store.ttl("absent") == ({"d": 1}, None)


async def test_expired_and_deleted_keys_read_as_the_default() -> None:
    store = DefaultValueWrapper(MemoryStore(), {"d": 1})
    await store.put("short", {"v": 1}, ttl=0.1)
    await store.put("deleted", {"v": 2})
    assert await store.delete("deleted") is True
    await asyncio.sleep(0.2)
    assert await store.get_many(["short", "deleted"]) == [{"d": 1}, {"d": 1}]


async def test_input_errors_still_raise() -> None:
    store = DefaultValueWrapper(MemoryStore(), {"d": 1})
    with pytest.raises(InvalidKeyError):
        await store.get("")
    with pytest.raises(InvalidKeyError):
        await store.get_many("ab")
    with pytest.raises(InvalidKeyError):
        await store.ttl("k", collection="")
    with pytest.raises(SerializationError):
        await store.put("k", {"bad": {1, 2}})


@pytest.mark.parametrize("default", [{"when": object()}, {"nan": math.nan}, {1: "int key"}, ["a"], None], ids=stable_id)
def test_bad_default_value(default: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        DefaultValueWrapper(MemoryStore(), default)


@pytest.mark.parametrize("ttl", [0, -1, math.inf, math.nan, True, "10"], ids=stable_id)
def test_bad_default_ttl(ttl: Any) -> None:
    with pytest.raises(InvalidTTLError):
        DefaultValueWrapper(MemoryStore(), {"d": 1}, default_ttl=ttl)
