"""PrefixKeysWrapper: the contract holds next to a neighbour's data, prefixes never meet, only own names are listed."""

from __future__ import annotations

import pytest

from key_value.aio.protocols.key_value import (
    AsyncDestroyStoreProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
    AsyncKeyValue,
)
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.stores.null import NullStore
from key_value.aio.wrappers.base import ALL_SEGMENTS
from key_value.aio.wrappers.prefix_keys import PrefixKeysWrapper
from key_value.shared.capabilities import Capability
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError
from testing.ids import stable_id

from ..support.contract import ContractTests
from ..support.doubles import Limited, RecordingStore, full


async def add_neighbour(inner: AsyncKeyValue) -> PrefixKeysWrapper:
    """Data under a similar prefix that the wrapper under test must never list, touch or destroy."""
    neighbour = PrefixKeysWrapper(inner, "app_")
    for collection in (None, "one", "many", "busy", "neighbour-only"):
        await neighbour.put("key", {"neighbour": True}, collection=collection)
    await inner.put("app__", {"raw": True})  # the bare head: not a key of "app"
    return neighbour


class TestPrefixKeys(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> PrefixKeysWrapper:
        await add_neighbour(inner_store)
        return PrefixKeysWrapper(inner_store, "app")


class TestStackOfThree(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> PrefixKeysWrapper:
        return PrefixKeysWrapper(PrefixKeysWrapper(PrefixKeysWrapper(inner_store, "a"), "b__c"), "%_")


async def test_stored_name_is_readable() -> None:
    inner = MemoryStore()
    await PrefixKeysWrapper(inner, "app").put("key", {"v": 1}, collection="c")
    assert await inner.keys("c") == ["app__key"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("a", "b__c"), ("a__b", "c")),
        (("a_", "_c"), ("a", "__c")),
        (("a%", "k"), ("a%25", "k")),
        (("_", "_k"), ("__", "k")),
    ],
)
async def test_prefixes_never_meet(first: tuple[str, str], second: tuple[str, str]) -> None:
    inner = MemoryStore()
    one = full(PrefixKeysWrapper(inner, first[0]))
    await one.put(first[1], {"who": "first"})
    two = full(PrefixKeysWrapper(inner, second[0]))
    assert await two.get(second[1]) is None
    await two.put(second[1], {"who": "second"})
    assert await two.keys() == [second[1]]
    assert await one.get(first[1]) == {"who": "first"}
    assert await one.keys() == [first[1]]


async def test_segments_see_only_own_data() -> None:
    inner = MemoryStore()
    neighbour = await add_neighbour(inner)
    wrapper = full(PrefixKeysWrapper(inner, "app"))
    assert await wrapper.keys() == []
    assert await wrapper.collections() == []
    assert await wrapper.destroy() is False
    assert await wrapper.destroy_collection("one") is False

    await wrapper.put_many(["x", "y"], [{"v": 1}, {"v": 2}], collection="one")
    await wrapper.put("z", {"v": 3}, collection="mine")
    assert sorted(await wrapper.keys("one")) == ["x", "y"]
    assert sorted(await wrapper.collections()) == ["mine", "one"]
    assert len(await wrapper.collections(limit=1)) == 1
    assert await wrapper.destroy_collection("one") is True
    assert await wrapper.keys("one") == []
    assert await neighbour.get("key", collection="one") == {"neighbour": True}
    assert await wrapper.destroy() is True
    assert await wrapper.collections() == []
    for collection in (None, "one", "many", "busy", "neighbour-only"):
        assert await neighbour.get("key", collection=collection) == {"neighbour": True}
    assert await inner.get("app__") == {"raw": True}


async def test_bad_input_raises_before_writing() -> None:
    inner = MemoryStore()
    wrapper = PrefixKeysWrapper(inner, "app")
    with pytest.raises(InvalidKeyError):
        await wrapper.put("", {"v": 1})  # "app__" alone would be a valid inner key
    with pytest.raises(InvalidKeyError):
        await wrapper.put_many(["ok", 3], [{"v": 1}, {"v": 2}])  # type: ignore[list-item]
    with pytest.raises(InvalidKeyError):
        await wrapper.get_many("ab")
    assert await inner.collections() == []


@pytest.mark.parametrize("prefix", ["", None, 3, "\ud800"], ids=stable_id)
def test_bad_prefix(prefix: object) -> None:
    with pytest.raises(InvalidArgumentError):
        PrefixKeysWrapper(MemoryStore(), prefix)  # type: ignore[arg-type]


def test_capabilities_follow_the_inner_store() -> None:
    assert PrefixKeysWrapper(MemoryStore(), "p").capabilities == ALL_SEGMENTS
    nothing = PrefixKeysWrapper(PrefixKeysWrapper(PrefixKeysWrapper(NullStore(), "a"), "b"), "c")
    assert nothing.capabilities == Capability.CONDITIONAL  # NullStore's only segment
    assert not isinstance(nothing, AsyncEnumerateKeysProtocol)
    keys_only = PrefixKeysWrapper(Limited(MemoryStore(), Capability.KEYS), "p")
    assert keys_only.capabilities == Capability.KEYS | Capability.DESTROY_COLLECTION
    assert not isinstance(keys_only, AsyncEnumerateCollectionsProtocol)
    assert not isinstance(keys_only, AsyncDestroyStoreProtocol)
    no_keys = PrefixKeysWrapper(Limited(MemoryStore(), ALL_SEGMENTS & ~Capability.KEYS), "p")
    assert no_keys.capabilities == Capability.CULL


async def test_none_passed_through() -> None:
    inner = MemoryStore(default_collection="x")
    wrapper = PrefixKeysWrapper(PrefixKeysWrapper(inner, "a"), "b")
    await wrapper.put("k", {"v": 1})
    assert await inner.keys("x") == ["a__b__k"]
    assert wrapper.default_collection == "x"


async def test_lifecycle_forwarded() -> None:
    inner = RecordingStore()
    async with PrefixKeysWrapper(PrefixKeysWrapper(inner, "a"), "b") as wrapper:
        await wrapper.put("k", {"v": 1})
    await wrapper.close()
    assert inner.events == ["enter", "exit", "close"]
